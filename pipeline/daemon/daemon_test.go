package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"triage/pipeline"
	"triage/pipeline/imapsrc/imaptest"
)

// verifyExactlyOnce checks the operator's view after every message was
// processed: each sent message has exactly one stored result, in state
// done; sits in exactly one folder, the one its verdict calls for, with its
// keywords and without \Seen; and each sink got it exactly once.
func verifyExactlyOnce(t *testing.T, srv server, delim, dir string, sent map[string][]byte, h *hook, webhookExact bool) map[string]*Record {
	t.Helper()
	recs := storeRecords(t, filepath.Join(dir, "triage.db"))
	byMsgID := map[string]*Record{}
	for _, r := range recs {
		if r.State != StateDone {
			t.Errorf("record %s in state %s (%s)", r.ID, r.State, r.LastError)
			continue
		}
		id := r.Message.MessageID
		if prev := byMsgID[id]; prev != nil {
			t.Errorf("Message-ID %q has two results: %s and %s", id, prev.ID, r.ID)
		}
		byMsgID[id] = r
	}
	if len(recs) != len(sent) {
		t.Errorf("%d results for %d messages", len(recs), len(sent))
	}
	c := srv.dial(t)
	defer c.Close()
	where, msgs := mailboxCensus(t, c, delim)
	for id := range sent {
		r := byMsgID[id]
		if r == nil {
			t.Errorf("message %s has no result", id)
			continue
		}
		want := verdictFolders[r.Verdict]
		if got := where[id]; len(got) != 1 || got[0] != want {
			t.Errorf("message %s (%s) is in %v, want exactly [%s]", id, r.Verdict, got, want)
			continue
		}
		m := msgs[id]
		for _, k := range r.Keywords {
			if !m.HasFlag(imap.Flag(k)) {
				t.Errorf("message %s lacks keyword %s (flags %v)", id, k, m.Flags)
			}
		}
		if m.HasFlag(imap.FlagSeen) {
			t.Errorf("message %s was marked \\Seen", id)
		}
	}
	for id, f := range where {
		if _, ok := sent[id]; !ok {
			t.Errorf("unexpected message %q in %v", id, f)
		}
	}
	lines := jsonlIDs(t, filepath.Join(dir, "results.jsonl"))
	for _, r := range recs {
		if lines[r.ID] != 1 {
			t.Errorf("jsonl has %d lines for %s", lines[r.ID], r.ID)
		}
	}
	if len(lines) != len(recs) {
		t.Errorf("jsonl has %d distinct results, store %d", len(lines), len(recs))
	}
	if h != nil {
		posts := h.counts()
		for _, r := range recs {
			if n := posts[r.ID]; n < 1 || (webhookExact && n != 1) {
				t.Errorf("webhook got %d POSTs for %s", n, r.ID)
			}
		}
	}
	return byMsgID
}

func TestDaemon_memserver(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	sent := map[string][]byte{}
	var all [][]byte
	for i, k := range append(testKinds, testKinds...) {
		b := testMessage(k, i)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	for i, b := range sampleMessages(t, 8) {
		// Samples get a unique Message-ID so that the census can tell them apart.
		b = append([]byte(fmt.Sprintf("Message-ID: <sample-%d@test.invalid>\r\n", i)), stripHeader(b, "Message-ID")...)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	// One message over max_message_bytes (20000 in testConfig).
	big := testMessage("plain", 99)
	big = append(big[:len(big)-len("--b-plain-99--\r\n")], []byte("--b-plain-99\r\nContent-Type: text/plain\r\n\r\n"+strings.Repeat("padding line\r\n", 2000)+"--b-plain-99--\r\n")...)
	sent[messageIDOf(big)] = big
	all = append(all, big)
	imaptest.Append(t, admin, "INBOX", all...)

	dir := t.TempDir()
	h := newHook(t)
	cfg := testConfig(t, dir, memServer(m), h.srv.URL, "")
	done := runOnce(t, cfg)
	if len(done) != len(sent) {
		t.Errorf("OnDone called %d times for %d messages", len(done), len(sent))
	}
	byID := verifyExactlyOnce(t, memServer(m), "/", dir, sent, h, true)

	verdicts := map[string]int{}
	for _, r := range byID {
		verdicts[r.Verdict]++
	}
	if len(verdicts) < 2 {
		t.Errorf("verdicts %v: the test set should produce more than one", verdicts)
	}
	if r := byID["plain-0@test.invalid"]; r == nil || r.Verdict != pipeline.Clean || r.Action != "moved" || r.Reporter != "" {
		t.Errorf("plain message: %+v", r)
	}
	// The forwarded report keeps its reporter and names the reported message.
	fw := byID["forward-4@test.invalid"]
	if fw == nil || fw.Reported == nil {
		t.Fatalf("forwarded report not recognised: %+v", fw)
	}
	if !strings.Contains(fw.Reporter, "alice@example.invalid") || fw.Reported.MessageID != "iqy-4@test.invalid" ||
		fw.Reported.Subject != "Photo 4" || !strings.Contains(fw.Reported.From, "photos@example.invalid") {
		t.Errorf("forwarded report: reporter %q reported %+v", fw.Reporter, fw.Reported)
	}
	if inner := byID["iqy-2@test.invalid"]; inner != nil && fw.Verdict != inner.Verdict {
		t.Errorf("forwarded report judged %s, the attached message alone %s", fw.Verdict, inner.Verdict)
	}
	// The oversize message was recorded, not fetched.
	ov := byID["plain-99@test.invalid"]
	if ov == nil || !ov.Oversize || ov.SHA256 != "" || ov.Verdict != pipeline.Suspicious || ov.Message.Subject != "Lunch on day 99" {
		t.Errorf("oversize message: %+v", ov)
	}

	// A second run finds nothing to do and writes nothing.
	before := jsonlIDs(t, filepath.Join(dir, "results.jsonl"))
	if again := runOnce(t, cfg); len(again) != 0 {
		t.Errorf("second run finished %d messages", len(again))
	}
	if after := jsonlIDs(t, filepath.Join(dir, "results.jsonl")); len(after) != len(before) {
		t.Errorf("second run wrote %d new lines", len(after)-len(before))
	}
	verifyExactlyOnce(t, memServer(m), "/", dir, sent, h, true)
}

func stripHeader(b []byte, name string) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	inHeader := true
	for _, l := range lines {
		if inHeader && strings.TrimRight(l, "\r\n") == "" {
			inHeader = false
		}
		if inHeader && len(l) > len(name) && strings.EqualFold(l[:len(name)+1], name+":") {
			continue
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

// TestDaemon_copyFallback: without MOVE, messages are copied, marked
// \Deleted and expunged with UID EXPUNGE.
func TestDaemon_copyFallback(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noMove bool
		policy string
	}{{"server_without_move", true, ""}, {"policy_copy", false, `, "policy": {"move": "copy"}`}} {
		t.Run(tc.name, func(t *testing.T) {
			m := imaptest.StartMem(t, imaptest.MemOptions{NoMove: tc.noMove})
			admin := m.Dial(t)
			sent := map[string][]byte{}
			for i, k := range testKinds {
				b := testMessage(k, i)
				sent[messageIDOf(b)] = b
				imaptest.Append(t, admin, "INBOX", b)
			}
			dir := t.TempDir()
			cfg := testConfig(t, dir, memServer(m), "", tc.policy)
			runOnce(t, cfg)
			for _, r := range verifyExactlyOnce(t, memServer(m), "/", dir, sent, nil, true) {
				if r.Action != "copied" {
					t.Errorf("%s: action %q, want copied", r.ID, r.Action)
				}
			}
		})
	}
}

// TestDaemon_keywordOnly: with no folders the messages stay and get
// keywords; a restart does not act on them again.
func TestDaemon_keywordOnly(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	for i, k := range testKinds {
		imaptest.Append(t, admin, "INBOX", testMessage(k, i))
	}
	dir := t.TempDir()
	pol := `, "policy": {"malicious": {"folder": "", "keyword": "$Triage-Malicious"}, "suspicious": {"folder": "", "keyword": "$Triage-Suspicious"}, "clean": {"folder": "", "keyword": ""}, "done_keyword": "$Done"}`
	cfg := testConfig(t, dir, memServer(m), "", pol)
	runOnce(t, cfg)
	msgs := imaptest.Messages(t, admin, "INBOX")
	if len(msgs) != len(testKinds) {
		t.Fatalf("%d messages left in INBOX, want %d", len(msgs), len(testKinds))
	}
	recs := storeRecords(t, cfg.Store)
	byUID := map[uint32]*Record{}
	for _, r := range recs {
		byUID[r.UID] = r
	}
	for _, msg := range msgs {
		r := byUID[uint32(msg.UID)]
		if r == nil || r.State != StateDone {
			t.Fatalf("UID %d: %+v", msg.UID, r)
		}
		if !msg.HasFlag("$Done") {
			t.Errorf("UID %d lacks $Done: %v", msg.UID, msg.Flags)
		}
		want := map[string]string{pipeline.Malicious: "$Triage-Malicious", pipeline.Suspicious: "$Triage-Suspicious"}[r.Verdict]
		if want != "" && !msg.HasFlag(imap.Flag(want)) {
			t.Errorf("UID %d (%s) lacks %s: %v", msg.UID, r.Verdict, want, msg.Flags)
		}
		if r.Action != "flagged" {
			t.Errorf("UID %d: action %q", msg.UID, r.Action)
		}
	}
	if again := runOnce(t, cfg); len(again) != 0 {
		t.Errorf("restart re-processed %d messages", len(again))
	}
	if n := len(jsonlIDs(t, filepath.Join(dir, "results.jsonl"))); n != len(testKinds) {
		t.Errorf("jsonl has %d results", n)
	}
}

// TestDaemon_idleAndShutdown runs the daemon as a service: new mail is
// picked up through IDLE, the metrics and health endpoints answer, and
// cancelling the context (SIGTERM) stops it cleanly.
func TestDaemon_idleAndShutdown(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	dir := t.TempDir()
	cfg := testConfig(t, dir, memServer(m), "", `, "log": {"format": "json", "level": "debug"}`)
	cfg.Accounts[0].IdleRefresh = Duration(time.Minute) // new mail must come through IDLE, not the refresh
	var logs syncBuffer
	done := make(chan *Record, 100)
	d, err := New(cfg, Options{Engine: testEngine(t), Logger: NewLogger(cfg.Log, &logs), OnDone: func(r *Record) { done <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(ctx) }()

	admin := m.Dial(t)
	for round := 0; round < 3; round++ {
		time.Sleep(100 * time.Millisecond) // let the daemon enter IDLE
		imaptest.Append(t, admin, "INBOX", testMessage(testKinds[round], round))
		select {
		case r := <-done:
			if r.State != StateDone {
				t.Fatalf("record %+v", r)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("round %d: new mail not processed\n%s", round, logs.String())
		}
	}
	// The server drops every connection: the daemon reconnects (backoff
	// with jitter) and carries on.
	if err := m.Cut(); err != nil {
		t.Fatal(err)
	}
	admin = m.Dial(t)
	imaptest.Append(t, admin, "INBOX", testMessage("iqy", 7))
	select {
	case r := <-done:
		if r.State != StateDone || r.Message.MessageID != "iqy-7@test.invalid" {
			t.Fatalf("after reconnect: %+v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("mail after a dropped connection not processed\n%s", logs.String())
	}
	base := "http://" + d.Addr()
	body := httpGet(t, base+"/metrics", 200)
	if !strings.Contains(body, `triage_daemon_reconnects_total{account="soc",mailbox="INBOX"} 1`) {
		t.Errorf("/metrics: want one reconnect:\n%s", grepLines(body, "reconnects"))
	}
	for _, want := range []string{"triage_daemon_messages_total{", "triage_daemon_triage_duration_seconds_bucket", "triage_daemon_queue_depth",
		"triage_daemon_last_successful_poll_timestamp_seconds{account=\"soc\",mailbox=\"INBOX\"}", "triage_daemon_reconnects_total",
		`triage_daemon_errors_total{stage="connect"} 0`, `triage_daemon_connected{account="soc",mailbox="INBOX"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if h := httpGet(t, base+"/healthz", 200); !strings.Contains(h, `"ok": true`) {
		t.Errorf("/healthz: %s", h)
	}
	if r := httpGet(t, base+"/api/results?verdict=clean", 200); !strings.Contains(r, "plain-0@test.invalid") {
		t.Errorf("/api/results?verdict=clean: %s", r)
	}
	if r := httpGet(t, base+"/api/results/soc/INBOX/1/1?report=1", 200); !strings.Contains(r, `"schema_version"`) {
		t.Errorf("/api/results/{id}: %.300s", r)
	}
	httpGet(t, base+"/api/results/soc/INBOX/1/999", 404)

	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// JSON logs, and no password anywhere in them.
	out := logs.String()
	if !strings.Contains(out, `"msg":"result"`) || strings.Contains(out, m.Password) {
		t.Errorf("logs: %.500s", out)
	}
}

func httpGet(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, b)
	}
	return string(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDaemon_sinkFailureHoldsAction: while the webhook refuses results the
// messages are stored but not moved; once it accepts, each is delivered
// once and moved.
func TestDaemon_sinkFailureHoldsAction(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	sent := map[string][]byte{}
	for i, k := range testKinds[:3] {
		b := testMessage(k, i)
		sent[messageIDOf(b)] = b
		imaptest.Append(t, admin, "INBOX", b)
	}
	h := newHook(t)
	var mu sync.Mutex
	down := true
	h.fail = func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	dir := t.TempDir()
	cfg := testConfig(t, dir, memServer(m), h.srv.URL, "")
	d, err := New(cfg, Options{Engine: testEngine(t), Once: true})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(context.Background())
	d.Close()
	if err == nil || !strings.Contains(err.Error(), "no progress") {
		t.Fatalf("Run with the webhook down: %v", err)
	}
	if n := len(imaptest.Messages(t, admin, "INBOX")); n != 3 {
		t.Fatalf("%d messages left in INBOX while the webhook is down, want 3", n)
	}
	for _, r := range storeRecords(t, cfg.Store) {
		if r.State != StateTriaged || r.Verdict == "" || len(r.Delivered) != 1 || r.Delivered[0] != "jsonl" {
			t.Errorf("while down: %+v", r)
		}
	}
	mu.Lock()
	down = false
	mu.Unlock()
	runOnce(t, cfg)
	verifyExactlyOnce(t, memServer(m), "/", dir, sent, h, true)
	if h.n < 3*4 {
		t.Errorf("webhook saw %d requests; want the 4 attempts per message while down, then one", h.n)
	}
}

// TestDaemon_uidValidityChange: when a mailbox is recreated (new
// UIDVALIDITY), unfinished records of the old one become stale and the new
// messages are judged afresh.
func TestDaemon_uidValidityChange(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	imaptest.Append(t, admin, "INBOX", testMessage("plain", 1), testMessage("plain", 2))
	h := newHook(t)
	h.fail = func(int) int { return http.StatusBadRequest } // permanent: results stay undelivered
	dir := t.TempDir()
	cfg := testConfig(t, dir, memServer(m), h.srv.URL, "")
	d, err := New(cfg, Options{Engine: testEngine(t), Once: true})
	if err != nil {
		t.Fatal(err)
	}
	d.Run(context.Background())
	d.Close()
	if err := admin.Delete("INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	imaptest.Append(t, admin, "INBOX", testMessage("plain", 3))
	h.mu.Lock()
	h.fail = nil
	h.mu.Unlock()
	runOnce(t, cfg)
	states := map[State]int{}
	for _, r := range storeRecords(t, cfg.Store) {
		states[r.State]++
	}
	if states[StateStale] != 2 || states[StateDone] != 1 || len(states) != 2 {
		t.Errorf("states after UIDVALIDITY change: %v", states)
	}
}

// TestDaemon_xoauth2AndEnv logs in with XOAUTH2 (token file, re-read on
// reconnect) and with a password from the environment.
func TestDaemon_xoauth2AndEnv(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{XOAUTH2Token: func() string { return "tok-123" }})
	admin := m.Dial(t)
	imaptest.Append(t, admin, "INBOX", testMessage("plain", 1))
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	os.WriteFile(tok, []byte("tok-123\n"), 0o600)
	cfg := testConfig(t, dir, memServer(m), "", "")
	cfg.Accounts[0].Auth, cfg.Accounts[0].PasswordFile, cfg.Accounts[0].TokenFile = "xoauth2", "", tok
	if n := len(runOnce(t, cfg)); n != 1 {
		t.Fatalf("xoauth2: %d messages done", n)
	}
	imaptest.Append(t, admin, "INBOX", testMessage("plain", 2))
	t.Setenv("TRIAGE_TEST_IMAP_PASSWORD", m.Password)
	cfg2 := testConfig(t, dir, memServer(m), "", "")
	cfg2.Accounts[0].PasswordFile, cfg2.Accounts[0].PasswordEnv = "", "TRIAGE_TEST_IMAP_PASSWORD"
	if n := len(runOnce(t, cfg2)); n != 1 {
		t.Fatalf("password_env: %d messages done", n)
	}
}

func TestDaemon_dovecot(t *testing.T) {
	dv := imaptest.StartDovecot(t, imaptest.DovecotOptions{})
	srv := dovecotServer(dv)
	admin := dv.Dial(t)
	sent := map[string][]byte{}
	var all [][]byte
	for i := 0; i < 20; i++ {
		b := testMessage(testKinds[i%len(testKinds)], i)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	for i, b := range sampleMessages(t, 10) {
		b = append([]byte(fmt.Sprintf("Message-ID: <sample-%d@test.invalid>\r\n", i)), stripHeader(b, "Message-ID")...)
		sent[messageIDOf(b)] = b
		all = append(all, b)
	}
	imaptest.Append(t, admin, "INBOX", all...)
	dir := t.TempDir()
	h := newHook(t)
	cfg := testConfig(t, dir, srv, h.srv.URL, "")
	runOnce(t, cfg)
	// Dovecot's maildir separator is '.': "Triage/Malicious" is created
	// and used as "Triage.Malicious".
	verifyExactlyOnce(t, srv, ".", dir, sent, h, true)
	if t.Failed() {
		t.Log(dv.Log())
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDaemon_onceGivesUpOnARefusedLogin: a --once run against a server
// that refuses the login ends with the error after a few attempts instead
// of retrying for ever.
func TestDaemon_onceGivesUpOnARefusedLogin(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	srv := memServer(m)
	srv.pass = "not-the-password"
	cfg := testConfig(t, t.TempDir(), srv, "", "")
	d, err := New(cfg, Options{Engine: testEngine(t), Once: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = d.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("a --once run with a refused login was still retrying after 20 s")
	}
	if err == nil || !strings.Contains(err.Error(), "sessions in a row failed") {
		t.Fatalf("Run = %v, want the login failure after %d attempts", err, onceMaxFailures)
	}
}
