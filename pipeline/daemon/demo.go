package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"triage/pipeline"
)

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// SamplesDir holds the bundled samples (*/…/input.eml). When it has
	// none, three built-in inert messages are used.
	SamplesDir string
	Out        io.Writer
	Engine     *pipeline.Engine // nil: the embedded rules
}

// RunDemo starts go-imap's in-memory IMAP server on loopback, loads the
// samples into its INBOX, runs the daemon over it once and prints each
// message's verdict and the folder it was moved to. Nothing outside a
// temporary directory is touched; it is removed afterwards.
func RunDemo(ctx context.Context, o DemoOptions) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	type sample struct{ name, path string }
	var samples []sample
	if o.SamplesDir != "" {
		filepath.WalkDir(o.SamplesDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "input.eml" {
				rel, _ := filepath.Rel(o.SamplesDir, filepath.Dir(p))
				samples = append(samples, sample{name: filepath.ToSlash(rel), path: p})
			}
			return nil
		})
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].name < samples[j].name })
	var msgs [][]byte
	var names []string
	for _, s := range samples {
		b, err := os.ReadFile(s.path)
		if err != nil {
			return fmt.Errorf("daemon: demo: %w", err)
		}
		msgs = append(msgs, b)
		names = append(names, s.name)
	}
	from := o.SamplesDir
	if len(msgs) == 0 {
		for i, b := range builtinDemoMessages() {
			msgs = append(msgs, b)
			names = append(names, []string{"builtin/clean", "builtin/script", "builtin/iqy"}[i])
		}
		from = "built-in messages (no samples found)"
	}

	dir, err := os.MkdirTemp("", "triage-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The server: one user with a random password, INBOX only.
	pwBytes := make([]byte, 16)
	rand.Read(pwBytes)
	password := hex.EncodeToString(pwBytes)
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("demo", password)
	mem.AddUser(user)
	if err := user.Create("INBOX", nil); err != nil {
		return err
	}
	for _, m := range msgs {
		if _, err := user.Append("INBOX", literal(m), &imap.AppendOptions{}); err != nil {
			return fmt.Errorf("daemon: demo: append: %w", err)
		}
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true, // loopback only, for the demo
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	defer srv.Close()

	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		return err
	}
	empty := ""
	cfg := &Config{
		Store:   filepath.Join(dir, "triage.db"),
		Listen:  &empty,
		Workers: 2,
		Sinks:   SinksConfig{JSONL: &JSONLConfig{Path: filepath.Join(dir, "results.jsonl")}},
		Accounts: []AccountConfig{{Name: "demo", Address: ln.Addr().String(), TLS: "none", Username: "demo",
			PasswordFile: pwFile}},
	}
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	fmt.Fprintf(out, "triage daemon demo: in-memory IMAP server on %s; %d messages loaded into INBOX from %s\n\n", ln.Addr(), len(msgs), from)

	var mu sync.Mutex
	var done []*Record
	d, err := New(cfg, Options{Engine: o.Engine, Once: true, OnDone: func(r *Record) {
		mu.Lock()
		done = append(done, r)
		mu.Unlock()
	}})
	if err != nil {
		return err
	}
	runErr := d.Run(ctx)
	d.Close()
	if runErr != nil {
		return runErr
	}
	sort.Slice(done, func(i, j int) bool { return done[i].UID < done[j].UID })
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UID\tVERDICT\tSCORE\tMOVED TO\tSAMPLE\tSUBJECT")
	counts := map[string]int{}
	for _, r := range done {
		name := ""
		if int(r.UID) >= 1 && int(r.UID) <= len(names) {
			name = names[r.UID-1] // UIDs follow the append order
		}
		subj := r.Message.Subject
		if r.Reported != nil {
			subj = "report by " + r.Reporter + " of: " + r.Reported.Subject
		}
		dest := r.Folder
		if dest == "" || r.Action != "moved" && r.Action != "copied" {
			dest = "(stays, " + r.Action + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", r.UID, r.Verdict, r.Score, dest, name, clip(subj, 60))
		counts[r.Verdict]++
	}
	tw.Flush()
	fmt.Fprintln(out)
	var parts []string
	for _, mb := range []string{"INBOX", "Triage/Malicious", "Triage/Suspicious", "Triage/Clean"} {
		st, err := user.Status(mb, &imap.StatusOptions{NumMessages: true})
		if err == nil && st.NumMessages != nil {
			parts = append(parts, fmt.Sprintf("%s %d", mb, *st.NumMessages))
		}
	}
	fmt.Fprintf(out, "verdicts: %d malicious, %d suspicious, %d clean. Mailboxes now: %s\n", counts[pipeline.Malicious], counts[pipeline.Suspicious], counts[pipeline.Clean], strings.Join(parts, ", "))
	if len(done) != len(msgs) {
		return fmt.Errorf("daemon: demo: %d of %d messages finished", len(done), len(msgs))
	}
	return nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}

// literal adapts bytes to imap.LiteralReader.
type literalReader struct {
	*bytes.Reader
	size int64
}

func (l literalReader) Size() int64 { return l.size }

func literal(b []byte) imap.LiteralReader {
	return literalReader{Reader: bytes.NewReader(b), size: int64(len(b))}
}

// builtinDemoMessages are three inert messages for when no samples exist:
// an ordinary note, a JScript attachment, an Excel web query pointing at a
// dead address.
func builtinDemoMessages() [][]byte {
	mk := func(from, subj, id, name, ct, body string) []byte {
		return []byte("From: " + from + "\r\nTo: phish-reports@example.invalid\r\nSubject: " + subj + "\r\nMessage-ID: <" + id +
			">\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=demo\r\n\r\n" +
			"--demo\r\nContent-Type: text/plain\r\n\r\nPlease see the attachment.\r\n--demo\r\nContent-Type: " + ct + "; name=\"" + name +
			"\"\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString([]byte(body)) + "\r\n--demo--\r\n")
	}
	return [][]byte{
		mk("Colleague <colleague@example.invalid>", "Minutes of Monday's meeting", "demo-1@example.invalid", "minutes.txt", "text/plain", "Nothing to see here.\r\n"),
		mk("Billing <billing@example.invalid>", "Your statement", "demo-2@example.invalid", "statement.js", "application/javascript",
			"var s=new ActiveXObject('WScript.Shell');s.Run('cmd /c echo TRIAGE-REGRESSION');"),
		mk("Photos <photos@example.invalid>", "Photo", "demo-3@example.invalid", "photo.iqy", "text/plain", "WEB\r\n1\r\nhttp://127.0.0.1:9/TRIAGE-REGRESSION\r\n"),
	}
}
