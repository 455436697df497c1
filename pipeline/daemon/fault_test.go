package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"triage/parsers"
	"triage/pipeline"
	"triage/pipeline/imapsrc/imaptest"

	"github.com/emersion/go-imap/v2/imapclient"
)

// The fault tests run the daemon as a child process (this test binary,
// re-executed with TRIAGE_DAEMON_CHILD set) so that it can be killed with
// SIGKILL at any point, like a real crash.
func TestMain(m *testing.M) {
	if cfgPath := os.Getenv("TRIAGE_DAEMON_CHILD"); cfgPath != "" {
		os.Exit(childMain(cfgPath))
	}
	os.Exit(m.Run())
}

// childMain is the daemon process of the fault tests: `triage daemon` in
// all but flag parsing. TRIAGE_DAEMON_ONCE=1 makes it exit when done;
// TRIAGE_DAEMON_SLOW=1 adds a millisecond or two after each finished
// message so that kills land at every stage.
func childMain(cfgPath string) int {
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	pc := pipeline.Config{}
	if os.Getenv("TRIAGE_DAEMON_POISON") == "1" {
		pc.Parsers = append(pipeline.DefaultParsers(), poisonParser{})
	}
	eng, err := pipeline.New(pc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	var onDone func(*Record)
	if os.Getenv("TRIAGE_DAEMON_SLOW") == "1" {
		onDone = func(*Record) { time.Sleep(time.Duration(1+rand.IntN(3)) * time.Millisecond) }
	}
	d, err := New(cfg, Options{Engine: eng, Logger: NewLogger(cfg.Log, os.Stderr), Once: os.Getenv("TRIAGE_DAEMON_ONCE") == "1", OnDone: onDone})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer d.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}

// poisonParser kills the process (no recover() can stop os.Exit) when a
// text part says POISON-PILL: a stand-in for a crash inside a C library.
type poisonParser struct{}

func (poisonParser) Name() string                             { return "poison" }
func (poisonParser) Match(a *parsers.Artifact, _ []byte) bool { return a.Type == "text" }
func (poisonParser) Parse(_ context.Context, in *parsers.Input, _ parsers.Sink) error {
	if bytes.Contains(in.Data, []byte("POISON-PILL")) {
		os.Exit(7)
	}
	return nil
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error
}

func startChild(t *testing.T, cfgPath, logPath string, once, slow bool, env ...string) *child {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TRIAGE_DAEMON_CHILD="+cfgPath)
	if once {
		cmd.Env = append(cmd.Env, "TRIAGE_DAEMON_ONCE=1")
	}
	if slow {
		cmd.Env = append(cmd.Env, "TRIAGE_DAEMON_SLOW=1")
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); logf.Close(); close(c.done) }()
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *child) kill() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGKILL) // our own child, by pid
	<-c.done
}

// faultStats are the figures a fault run reports.
type faultStats struct {
	kills, cuts, cycles int
	// pending counts, over all kills, the unfinished records found in the
	// store right after the kill, by state: evidence that kills landed at
	// every step of the state machine.
	pending map[State]int
}

func (s faultStats) String() string {
	return fmt.Sprintf("%d cycles, %d SIGKILLs, %d connection cuts; unfinished records found after kills: seen=%d triaged=%d delivered=%d acting=%d",
		s.cycles, s.kills, s.cuts, s.pending[StateSeen], s.pending[StateTriaged], s.pending[StateDelivered], s.pending[StateActing])
}

// runFaults kills and restarts the daemon (and cuts its connection via
// cut) at seeded random points until the source mailbox is empty, then
// lets a last run finish.
func runFaults(t *testing.T, seed uint64, dir, cfgPath string, maxCycles int, inboxLeft func() int, cut func() error) faultStats {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	st := faultStats{pending: map[State]int{}}
	logPath := filepath.Join(dir, "daemon.log")
	for st.cycles < maxCycles && inboxLeft() > 0 {
		st.cycles++
		c := startChild(t, cfgPath, logPath, false, true)
		// Sleep a random time, maybe cut the connection meanwhile, then kill.
		time.Sleep(time.Duration(30+rng.IntN(200)) * time.Millisecond)
		if rng.IntN(3) == 0 {
			if err := cut(); err != nil {
				t.Fatal(err)
			}
			st.cuts++
			time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		}
		c.kill()
		st.kills++
		if _, err := os.Stat(filepath.Join(dir, "triage.db")); err != nil {
			continue // killed before it created the store
		}
		for _, r := range storeRecords(t, filepath.Join(dir, "triage.db")) {
			if !r.State.Final() {
				st.pending[r.State]++
			}
		}
	}
	// The last run, undisturbed, must finish whatever is left and exit.
	// TRIAGE_FAULT_KEEP=FILE keeps the daemons' logs of all cycles.
	defer func() {
		if d := os.Getenv("TRIAGE_FAULT_KEEP"); d != "" {
			b, _ := os.ReadFile(logPath)
			os.WriteFile(d, b, 0o644)
		}
	}()
	c := startChild(t, cfgPath, logPath, true, false)
	select {
	case <-c.done:
		if err := c.err; err != nil {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("final run: %v\n%s", err, tailString(string(log), 3000))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("final run did not finish")
	}
	return st
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func faultSeed(t *testing.T) uint64 {
	seed := uint64(20260522)
	if s := os.Getenv("TRIAGE_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		seed = v
	}
	t.Logf("seed %d (set TRIAGE_FAULT_SEED to replay)", seed)
	return seed
}

// faultMessages builds n distinct inert messages of every kind, plus the
// bundled samples (each given a unique Message-ID).
func faultMessages(t *testing.T, n int) (map[string][]byte, [][]byte) {
	sent := map[string][]byte{}
	var all [][]byte
	for i, b := range sampleMessages(t, 20) {
		b = append([]byte(fmt.Sprintf("Message-ID: <sample-%d@test.invalid>\r\n", i)), stripHeader(b, "Message-ID")...)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	for i := len(all); i < n; i++ {
		b := testMessage(testKinds[i%len(testKinds)], i)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	return sent, all
}

// TestDaemon_faultInjection_memserver: 300 messages, the daemon SIGKILLed
// at random points and its connections cut (the server drops every
// connection and listens again), restarted until done. Every message must
// end with exactly one result, in exactly one verdict folder, with exactly
// one JSONL line. The second case has no MOVE: the non-atomic COPY +
// EXPUNGE fallback is interrupted too.
func TestDaemon_faultInjection_memserver(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection is slow")
	}
	for _, tc := range []struct {
		name   string
		noMove bool
		n      int
	}{{"move", false, 300}, {"copy_fallback", true, 150}} {
		t.Run(tc.name, func(t *testing.T) {
			seed := faultSeed(t)
			m := imaptest.StartMem(t, imaptest.MemOptions{NoMove: tc.noMove})
			admin := m.Dial(t)
			sent, all := faultMessages(t, tc.n)
			imaptest.Append(t, admin, "INBOX", shuffled(seed, all)...)
			admin.Close()
			dir := t.TempDir()
			h := newHook(t)
			cfgPath := writeFaultConfig(t, dir, memServer(m), h)
			st := runFaults(t, seed, dir, cfgPath, 40, inboxLeft(t, m.Dial), m.Cut)
			t.Logf("memserver (%s): %d messages; %s", tc.name, len(sent), st)
			if st.kills < 3 {
				t.Errorf("only %d kills happened while work remained: the test did not exercise crashes", st.kills)
			}
			recs := verifyExactlyOnce(t, memServer(m), "/", dir, sent, h, false)
			if tc.noMove {
				for _, r := range recs {
					if r.Action != "copied" {
						t.Errorf("%s: action %q without MOVE", r.ID, r.Action)
						break
					}
				}
			}
			reportWebhookDuplicates(t, h)
		})
	}
}

// TestDaemon_faultInjection_dovecot: the same against Dovecot, whose
// restarts drop every connection.
func TestDaemon_faultInjection_dovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection is slow")
	}
	seed := faultSeed(t) + 1
	dv := imaptest.StartDovecot(t, imaptest.DovecotOptions{})
	admin := dv.Dial(t)
	sent, all := faultMessages(t, 150)
	imaptest.Append(t, admin, "INBOX", shuffled(seed, all)...)
	admin.Close()
	dir := t.TempDir()
	h := newHook(t)
	cfgPath := writeFaultConfig(t, dir, dovecotServer(dv), h)
	st := runFaults(t, seed, dir, cfgPath, 20, inboxLeft(t, dv.Dial), dv.Restart)
	t.Logf("dovecot: %d messages; %s", len(sent), st)
	if st.kills < 2 {
		t.Errorf("only %d kills happened while work remained", st.kills)
	}
	verifyExactlyOnce(t, dovecotServer(dv), ".", dir, sent, h, false)
	reportWebhookDuplicates(t, h)
	if t.Failed() {
		t.Log(dv.Log())
	}
}

// writeFaultConfig writes the daemon configuration of a fault run (JSON
// logs, the test webhook) and returns its path.
func writeFaultConfig(t *testing.T, dir string, srv server, h *hook) string {
	t.Helper()
	js := testConfigJSON(t, dir, srv, h.srv.URL, `, "log": {"format": "json"}`)
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// inboxLeft counts the messages still in INBOX, over a fresh connection.
func inboxLeft(t *testing.T, dial func(testing.TB) *imapclient.Client) func() int {
	return func() int {
		c := dial(t)
		defer c.Close()
		return len(imaptest.Messages(t, c, "INBOX"))
	}
}

// reportWebhookDuplicates logs how many results the webhook received more
// than once: only a kill between the receiver's 2xx and the store's commit
// can cause one, and the Idempotency-Key lets the receiver drop it.
func reportWebhookDuplicates(t *testing.T, h *hook) {
	dups := 0
	var ex []string
	for id, n := range h.counts() {
		if n > 1 {
			dups += n - 1
			if len(ex) < 3 {
				ex = append(ex, id)
			}
		}
	}
	t.Logf("webhook: %d distinct results, %d redeliveries (same Idempotency-Key) %s", len(h.counts()), dups, strings.Join(ex, " "))
}

// TestDaemon_poisonMessage: a message that kills the process whenever it is
// triaged must not crash the daemon forever. After max_attempts starts it
// is recorded with the error verdict and moved like any other; the
// messages triaged beside it are judged normally.
func TestDaemon_poisonMessage(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	sent := map[string][]byte{}
	var all [][]byte
	for i := 0; i < 12; i++ {
		b := testMessage(testKinds[i%len(testKinds)], i)
		if i == 5 {
			b = bytes.Replace(b, []byte("message number 5"), []byte("POISON-PILL"), 1)
		}
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	imaptest.Append(t, admin, "INBOX", all...)
	dir := t.TempDir()
	js := testConfigJSON(t, dir, memServer(m), "", `, "log": {"format": "json"}`)
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	crashes := 0
	for run := 0; ; run++ {
		if run == 10 {
			t.Fatalf("still crashing after %d runs", run)
		}
		c := startChild(t, cfgPath, filepath.Join(dir, "daemon.log"), true, false, "TRIAGE_DAEMON_POISON=1")
		<-c.done
		if c.err == nil {
			break
		}
		if code := c.cmd.ProcessState.ExitCode(); code != 7 {
			log, _ := os.ReadFile(filepath.Join(dir, "daemon.log"))
			t.Fatalf("child exited %d, want the poison's 7\n%s", code, tailString(string(log), 2000))
		}
		crashes++
	}
	byID := verifyExactlyOnce(t, memServer(m), "/", dir, sent, nil, true)
	p := byID["plain-5@test.invalid"]
	if p == nil || p.Verdict != pipeline.Suspicious || len(p.Rules) != 1 || p.Rules[0] != "daemon.triage_error" || p.Message.Subject != "Lunch on day 5" {
		t.Fatalf("poison message: %+v", p)
	}
	for id, r := range byID {
		if id != "plain-5@test.invalid" && r.Error != "" {
			t.Errorf("%s, triaged beside the poison, got an error result: %s", id, r.Error)
		}
	}
	t.Logf("%d crashes before the poison message was set aside: %s", crashes, p.Error)
}

// TestDaemon_sigtermFinishesInFlight: SIGTERM in the middle of a backlog
// stops fetching, but every message already fetched is triaged, recorded,
// delivered and moved before the process exits 0.
func TestDaemon_sigtermFinishesInFlight(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	sent, all := faultMessages(t, 400)
	imaptest.Append(t, admin, "INBOX", all...)
	dir := t.TempDir()
	js := testConfigJSON(t, dir, memServer(m), "", `, "log": {"format": "json"}`)
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(js), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "daemon.log")
	c := startChild(t, cfgPath, logPath, false, true)
	// Wait until it is busy, then SIGTERM.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(logPath); bytes.Count(b, []byte(`"msg":"result"`)) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not start working")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if c.err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("exit after SIGTERM: %v\n%s", c.err, tailString(string(log), 2000))
	}
	done, fetchedOnly := 0, 0
	for _, r := range storeRecords(t, filepath.Join(dir, "triage.db")) {
		switch {
		case r.State == StateDone:
			done++
		case r.State == StateSeen && r.Attempts == 0:
			fetchedOnly++ // never fetched: left for the next start
		default:
			t.Errorf("%s left in state %s (attempts %d) by a clean shutdown", r.ID, r.State, r.Attempts)
		}
	}
	if done == 0 || done == len(sent) {
		t.Errorf("%d of %d done: SIGTERM should have landed mid-backlog", done, len(sent))
	}
	t.Logf("SIGTERM after the backlog started: %d messages finished, %d never fetched (left for the next start)", done, fetchedOnly)
	// The next start finishes the rest, exactly once.
	c = startChild(t, cfgPath, logPath, true, false)
	<-c.done
	if c.err != nil {
		t.Fatalf("final run: %v", c.err)
	}
	verifyExactlyOnce(t, memServer(m), "/", dir, sent, nil, true)
}
