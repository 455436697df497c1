package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"triage/pipeline"
	"triage/pipeline/imapsrc/imaptest"
)

// One engine for the whole test binary: loading the rules is the slow part.
var (
	engOnce sync.Once
	engVal  *pipeline.Engine
	engErr  error
)

func testEngine(t testing.TB) *pipeline.Engine {
	t.Helper()
	engOnce.Do(func() { engVal, engErr = pipeline.New(pipeline.Config{}) })
	if engErr != nil {
		t.Fatal(engErr)
	}
	return engVal
}

// testMessage builds an inert message. kind picks the content: "plain",
// "script" (a JScript attachment), "iqy" (an Excel web query), "exe" (a
// double-extension executable stub), "forward" (a report forwarding an
// iqy message as message/rfc822).
func testMessage(kind string, i int) []byte {
	const crlf = "\r\n"
	bnd := fmt.Sprintf("b-%s-%d", kind, i)
	att := func(name, ct string, data []byte) string {
		return "--" + bnd + crlf + "Content-Type: " + ct + "; name=\"" + name + "\"" + crlf +
			"Content-Disposition: attachment; filename=\"" + name + "\"" + crlf +
			"Content-Transfer-Encoding: base64" + crlf + crlf + base64.StdEncoding.EncodeToString(data) + crlf
	}
	head := func(from, subj, id string) string {
		return "From: " + from + crlf + "To: soc@example.invalid" + crlf + "Subject: " + subj + crlf +
			"Message-ID: <" + id + ">" + crlf + "Date: Mon, 1 Jan 2024 10:00:00 +0000" + crlf +
			"MIME-Version: 1.0" + crlf + "Content-Type: multipart/mixed; boundary=" + bnd + crlf + crlf +
			"--" + bnd + crlf + "Content-Type: text/plain" + crlf + crlf + fmt.Sprintf("message number %d", i) + crlf
	}
	id := fmt.Sprintf("%s-%d@test.invalid", kind, i)
	var s string
	switch kind {
	case "script":
		s = head("Billing <billing@example.invalid>", fmt.Sprintf("Statement %d", i), id) +
			att("statement.js", "application/javascript", []byte("var s=new ActiveXObject('WScript.Shell');s.Run('cmd /c echo TRIAGE-REGRESSION');"))
	case "iqy":
		s = head("Photos <photos@example.invalid>", fmt.Sprintf("Photo %d", i), id) +
			att("photo.iqy", "text/plain", []byte("WEB\r\n1\r\nhttp://127.0.0.1:9/TRIAGE-REGRESSION\r\n"))
	case "exe":
		s = head("Accounts <accounts@example.invalid>", fmt.Sprintf("Remittance %d", i), id) +
			att("remittance.pdf.exe", "application/octet-stream", []byte("MZ\x90\x00TRIAGE-REGRESSION This program cannot be run in DOS mode"))
	case "forward":
		inner := string(testMessage("iqy", i))
		s = head("Alice Staff <alice@example.invalid>", fmt.Sprintf("FW: Photo %d", i), id) +
			"--" + bnd + crlf + "Content-Type: message/rfc822" + crlf + "Content-Disposition: attachment; filename=\"report.eml\"" + crlf + crlf + inner + crlf
	default:
		s = head(fmt.Sprintf("Colleague %d <colleague%d@example.invalid>", i, i), fmt.Sprintf("Lunch on day %d", i), id)
	}
	return []byte(s + "--" + bnd + "--" + crlf)
}

var testKinds = []string{"plain", "script", "iqy", "exe", "forward"}

// sampleMessages returns the bundled samples (samples/**/input.eml), if
// any have been generated.
func sampleMessages(t testing.TB, max int) [][]byte {
	t.Helper()
	root := filepath.Join("..", "..", "samples")
	var out [][]byte
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "input.eml" || len(out) >= max {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && len(b) < 4<<20 {
			out = append(out, b)
		}
		return nil
	})
	return out
}

// hook records webhook POSTs.
type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	ids map[string]int // Idempotency-Key → POSTs accepted
	// fail, when set, decides the status of each request (0 = 200).
	fail func(n int) int
	n    int
}

func newHook(t testing.TB) *hook {
	h := &hook{ids: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.ID == "" || ev.ID != r.Header.Get("Idempotency-Key") {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.n++
		status := 0
		if h.fail != nil {
			status = h.fail(h.n)
		}
		if status == 0 {
			h.ids[ev.ID]++
		}
		h.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.ids {
		out[k] = v
	}
	return out
}

// server is what the daemon tests need from an IMAP server.
type server struct {
	addr, caFile, user, pass string
	tls                      string
	dial                     func(t testing.TB) *imapclient.Client
}

func memServer(m *imaptest.Mem) server {
	return server{addr: m.TLSAddr, caFile: m.Cert.CAFile, user: m.Username, pass: m.Password, tls: "implicit", dial: m.Dial}
}

func dovecotServer(d *imaptest.Dovecot) server {
	return server{addr: d.Addr, caFile: d.Cert.CAFile, user: d.Username, pass: d.Password, tls: "starttls", dial: d.Dial}
}

// testConfig writes the password to a file and returns a parsed
// configuration for srv; extra is merged into the top-level JSON.
func testConfig(t testing.TB, dir string, srv server, hookURL string, extra string) *Config {
	t.Helper()
	js := testConfigJSON(t, dir, srv, hookURL, extra)
	cfg, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, js)
	}
	return cfg
}

func testConfigJSON(t testing.TB, dir string, srv server, hookURL string, extra string) string {
	t.Helper()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(srv.pass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sinks := fmt.Sprintf(`"jsonl": {"path": %q}`, filepath.Join(dir, "results.jsonl"))
	if hookURL != "" {
		sinks += fmt.Sprintf(`, "webhook": {"url": %q, "initial_backoff": "10ms", "max_backoff": "50ms", "max_attempts": 4}`, hookURL)
	}
	js := fmt.Sprintf(`{
  "store": %q,
  "listen": "127.0.0.1:0",
  "workers": 2,
  "queue_size": 4,
  "fetch_batch": 4,
  "max_message_bytes": 20000,
  "reconnect": {"initial": "20ms", "max": "200ms"},
  "sinks": {%s},
  "accounts": [{
    "name": "soc",
    "address": %q,
    "tls": %q,
    "ca_file": %q,
    "username": %q,
    "password_file": %q
  }]%s
}`, filepath.Join(dir, "triage.db"), sinks, srv.addr, srv.tls, srv.caFile, srv.user, pw, extra)
	return js
}

// runOnce runs a daemon with Once until it returns.
func runOnce(t testing.TB, cfg *Config) []*Record {
	t.Helper()
	var mu sync.Mutex
	var done []*Record
	d, err := New(cfg, Options{Engine: testEngine(t), Once: true, OnDone: func(r *Record) {
		mu.Lock()
		done = append(done, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return done
}

// storeRecords reads every record of a store.
func storeRecords(t testing.TB, path string) []*Record {
	t.Helper()
	st, err := OpenStore(path, true, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []*Record
	if err := st.ForEach(func(r *Record) bool { out = append(out, r); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// jsonlIDs counts the lines of a JSONL sink file per result ID, and checks
// that every line is a complete event.
func jsonlIDs(t testing.TB, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Bytes(), err)
		}
		if ev.Verdict == "" {
			t.Fatalf("jsonl line without verdict: %s", sc.Bytes())
		}
		out[ev.ID]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// messageIDOf extracts the Message-ID header of a raw message.
func messageIDOf(b []byte) string {
	for _, line := range bytes.Split(b, []byte("\r\n")) {
		if len(line) == 0 {
			break
		}
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.Trim(strings.TrimSpace(v), "<>")
		}
	}
	return ""
}

var verdictFolders = map[string]string{pipeline.Malicious: "Triage/Malicious", pipeline.Suspicious: "Triage/Suspicious", pipeline.Clean: "Triage/Clean"}

// mailboxCensus maps each Message-ID to the folders (with multiplicity)
// it sits in, over INBOX and the verdict folders.
func mailboxCensus(t testing.TB, c *imapclient.Client, delim string) (where map[string][]string, msgs map[string]imaptest.Message) {
	t.Helper()
	where = map[string][]string{}
	msgs = map[string]imaptest.Message{}
	folders := []string{"INBOX"}
	for _, f := range verdictFolders {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		name := strings.ReplaceAll(f, "/", delim)
		for _, m := range imaptest.Messages(t, c, name) {
			id := messageIDOf(m.Body)
			where[id] = append(where[id], f)
			msgs[id] = m
		}
	}
	return where, msgs
}

func shuffled[T any](seed uint64, in []T) []T {
	out := append([]T(nil), in...)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
