package daemon

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"triage/pipeline"
)

func TestParseConfig_exampleInREADME(t *testing.T) {
	// The complete example in README.md must parse: it is the reference.
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "```json\n")
	end := strings.Index(s[start+8:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README.md has no ```json example")
	}
	cfg, err := ParseConfig([]byte(s[start+8 : start+8+end]))
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if len(cfg.Accounts) < 2 || cfg.Sinks.JSONL == nil || cfg.Sinks.Webhook == nil {
		t.Fatalf("README example is not complete: %+v", cfg)
	}
}

func TestParseConfig_defaultsAndErrors(t *testing.T) {
	minimal := `{"store": "/tmp/x.db", "accounts": [{"name": "soc", "address": "imap.example.org:993", "username": "u", "password_file": "/p"}]}`
	cfg, err := ParseConfig([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Accounts[0]
	got := map[string]any{
		"listen": *cfg.Listen, "tls": a.TLS, "auth": a.Auth, "mailboxes": a.Mailboxes, "idle": *a.IDLE,
		"malicious": *a.Policy.Malicious, "done": *a.Policy.DoneKeyword, "move": a.Policy.Move, "oversize": a.Policy.OversizeVerdict,
		"stale_after": cfg.Health.StaleAfter.D(), "queue": cfg.QueueSize == 4*cfg.Workers,
	}
	want := map[string]any{
		"listen": "127.0.0.1:9108", "tls": "implicit", "auth": "login", "mailboxes": []string{"INBOX"}, "idle": true,
		"malicious": Action{Folder: "Triage/Malicious", Keyword: "$Triage-Malicious"}, "done": "$TriageDone", "move": "auto",
		"oversize": "suspicious", "stale_after": 15 * time.Minute, "queue": true,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}

	bad := []struct{ name, json, want string }{
		{"unknown_field", `{"store": "x", "acounts": []}`, "unknown field"},
		{"no_store", `{"accounts": []}`, "store"},
		{"no_accounts", `{"store": "x"}`, "at least one"},
		{"plaintext_remote", `{"store": "x", "accounts": [{"name": "a", "address": "imap.example.org:143", "tls": "none", "username": "u", "password_file": "/p"}]}`, "loopback"},
		{"two_secrets", `{"store": "x", "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_file": "/p", "password_env": "P"}]}`, "exactly one"},
		{"no_secret", `{"store": "x", "accounts": [{"name": "a", "address": "h:993", "username": "u"}]}`, "exactly one"},
		{"xoauth2_needs_token", `{"store": "x", "accounts": [{"name": "a", "address": "h:993", "username": "u", "auth": "xoauth2", "password_env": "P"}]}`, "token_file"},
		{"bad_name", `{"store": "x", "accounts": [{"name": "a/b", "address": "h:993", "username": "u", "password_env": "P"}]}`, "name"},
		{"dup_name", `{"store": "x", "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_env": "P"}, {"name": "a", "address": "h:993", "username": "u", "password_env": "P"}]}`, "duplicate"},
		{"folder_is_watched", `{"store": "x", "policy": {"clean": {"folder": "INBOX", "keyword": ""}}, "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_env": "P"}]}`, "watched"},
		{"bad_keyword", `{"store": "x", "policy": {"malicious": {"folder": "", "keyword": "bad word"}}, "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_env": "P"}]}`, "keyword"},
		{"bad_duration", `{"store": "x", "shutdown_timeout": 30, "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_env": "P"}]}`, "duration"},
		{"bad_webhook", `{"store": "x", "sinks": {"webhook": {"url": "ftp://x"}}, "accounts": [{"name": "a", "address": "h:993", "username": "u", "password_env": "P"}]}`, "http"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPolicy_accountOverride(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"store": "x", "policy": {"move": "copy", "done_keyword": ""},
	  "accounts": [
	    {"name": "a", "address": "h:993", "username": "u", "password_env": "P"},
	    {"name": "b", "address": "h:993", "username": "u", "password_env": "P", "policy": {"clean": {"folder": "", "keyword": "$Clean"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Accounts[0].Policy, cfg.Accounts[1].Policy
	if a.Move != "copy" || *a.DoneKeyword != "" || a.Clean.Folder != "Triage/Clean" {
		t.Errorf("account a inherits the global policy: %+v", a)
	}
	if b.Move != "copy" || *b.DoneKeyword != "" || b.Clean.Folder != "" || b.Clean.Keyword != "$Clean" || b.Malicious.Folder != "Triage/Malicious" {
		t.Errorf("account b overrides clean only: %+v %+v", b, b.Clean)
	}
}

func TestSecretFunc_rereadsFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	os.WriteFile(p, []byte("one\n"), 0o600)
	a := &AccountConfig{TokenFile: p}
	f := a.secretFunc()
	if s, err := f(); err != nil || s != "one" {
		t.Fatalf("%q %v", s, err)
	}
	os.WriteFile(p, []byte("two\r\n"), 0o600)
	if s, err := f(); err != nil || s != "two" {
		t.Fatalf("after rotation: %q %v", s, err)
	}
	os.WriteFile(p, []byte("\n"), 0o600)
	if _, err := f(); err == nil {
		t.Fatal("empty token accepted")
	}
}

func TestRecordID_roundTrip(t *testing.T) {
	for _, mb := range []string{"INBOX", "Reports/Phish", "a/b/c", "Ünïcode 2024"} {
		id := RecordID("soc", mb, 17, 4242)
		acc, m, uv, uid, err := ParseRecordID(id)
		if err != nil || acc != "soc" || m != mb || uv != 17 || uid != 4242 {
			t.Errorf("%q → %q %q %d %d %v", id, acc, m, uv, uid, err)
		}
	}
	for _, bad := range []string{"", "soc", "soc/INBOX", "soc/INBOX/x/1", "soc/1/2"} {
		if _, _, _, _, err := ParseRecordID(bad); err == nil {
			t.Errorf("ParseRecordID(%q) accepted", bad)
		}
	}
}

func TestStore_stateMachineAndStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st, err := OpenStore(path, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hw, stale, err := st.BeginMailbox("a", "INBOX", 7)
	if err != nil || hw != 0 || stale != 0 {
		t.Fatalf("begin: %d %d %v", hw, stale, err)
	}
	n, err := st.AddSeen("a", "INBOX", 7, []Seen{{UID: 3, Size: 10}, {UID: 5, Size: 20}})
	if err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	// Adding again creates nothing; the wrong UIDVALIDITY is refused.
	if n, _ := st.AddSeen("a", "INBOX", 7, []Seen{{UID: 3}}); n != 0 {
		t.Errorf("re-add created %d", n)
	}
	if _, err := st.AddSeen("a", "INBOX", 8, []Seen{{UID: 9}}); err == nil {
		t.Error("AddSeen with a stale UIDVALIDITY accepted")
	}
	pend, _ := st.Pending("a", "INBOX", 7)
	if len(pend) != 2 || pend[0].UID != 3 || pend[0].State != StateSeen {
		t.Fatalf("pending: %+v", pend)
	}
	pend[0].State, pend[0].Verdict = StateDone, "clean"
	if err := st.Put([]byte(`{"r":1}`), pend[0]); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Pending("a", "INBOX", 7); len(p) != 1 || p[0].UID != 5 {
		t.Fatalf("pending after done: %+v", p)
	}
	if rep, _ := st.Report(pend[0].ID); string(rep) != `{"r":1}` {
		t.Errorf("report %q", rep)
	}
	// A second writer cannot open the store.
	if _, err := OpenStore(path, false, 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("second open: %v", err)
	}
	// UIDVALIDITY changes: the unfinished record becomes stale, discovery restarts.
	hw, stale, err = st.BeginMailbox("a", "INBOX", 9)
	if err != nil || hw != 0 || stale != 1 {
		t.Fatalf("begin after change: %d %d %v", hw, stale, err)
	}
	if r, _ := st.Get(RecordID("a", "INBOX", 7, 5)); r == nil || r.State != StateStale {
		t.Errorf("old record: %+v", r)
	}
	if all, _ := st.PendingAll(); len(all) != 0 {
		t.Errorf("pending after stale: %+v", all)
	}
	if hw, _, _ := st.BeginMailbox("a", "INBOX", 9); hw != 0 {
		t.Errorf("high water %d", hw)
	}
	st.Close()
}

func TestJSONLSink_repairAndPreload(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	// A line longer than Preload's read buffer (a result with its full
	// report), then a crash that left a torn last line.
	long := `{"id":"a/INBOX/1/4","verdict":"clean","report":"` + strings.Repeat("x", 1<<20+100) + `"}` + "\n"
	kept := long + `{"id":"a/INBOX/1/1","verdict":"clean"}` + "\n"
	os.WriteFile(p, []byte(kept+`{"id":"a/INBOX/1/2","verd`), 0o640)
	s, err := OpenJSONL(p, false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != kept {
		t.Fatalf("after repair: %d bytes, want %d", len(b), len(kept))
	}
	n, err := s.Preload(map[string]bool{"a/INBOX/1/1": true, "a/INBOX/1/2": true, "a/INBOX/1/4": true})
	if err != nil || n != 2 {
		t.Fatalf("preload: %d %v, want the long line's and the short line's ids", n, err)
	}
	ctx := context.Background()
	for _, id := range []string{"a/INBOX/1/1", "a/INBOX/1/2", "a/INBOX/1/3", "a/INBOX/1/4"} {
		if err := s.Deliver(ctx, &Event{ID: id, Verdict: "clean"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	got := jsonlIDs(t, p)
	want := map[string]int{"a/INBOX/1/1": 1, "a/INBOX/1/2": 1, "a/INBOX/1/3": 1, "a/INBOX/1/4": 1}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}

func TestJSONLSink_concurrentGroupCommit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	s, err := OpenJSONL(p, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			errs <- s.Deliver(context.Background(), &Event{ID: RecordID("a", "INBOX", 1, uint32(i+1)), Verdict: "clean"})
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if got := jsonlIDs(t, p); len(got) != n {
		t.Fatalf("%d distinct lines, want %d", len(got), n)
	}
}

func TestWebhookSink_retries(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int // per attempt; beyond the list: 200
		wantErr  bool
		wantN    int
	}{
		{"ok", nil, false, 1},
		{"retry_5xx_then_ok", []int{503, 500}, false, 3},
		{"retry_429", []int{429}, false, 2},
		{"permanent_400", []int{400}, true, 1},
		{"gives_up", []int{502, 502, 502, 502, 502}, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHook(t)
			h.fail = func(n int) int {
				if n <= len(tt.statuses) {
					return tt.statuses[n-1]
				}
				return 0
			}
			w, err := NewWebhook(WebhookConfig{URL: h.srv.URL, Timeout: Duration(time.Second), MaxAttempts: 4,
				InitialBackoff: Duration(time.Millisecond), MaxBackoff: Duration(5 * time.Millisecond)})
			if err != nil {
				t.Fatal(err)
			}
			var slept atomic.Int64
			w.sleep = func(ctx context.Context, d time.Duration) error { slept.Add(int64(d)); return nil }
			err = w.Deliver(context.Background(), &Event{ID: "a/INBOX/1/1", Verdict: "clean"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if h.n != tt.wantN {
				t.Errorf("%d requests, want %d", h.n, tt.wantN)
			}
			if tt.wantN > 1 && slept.Load() == 0 {
				t.Error("no backoff between attempts")
			}
		})
	}
	// Retry-After is honoured (capped by max_backoff).
	h := newHook(t)
	h.fail = func(n int) int {
		if n == 1 {
			return http.StatusTooManyRequests
		}
		return 0
	}
	w, _ := NewWebhook(WebhookConfig{URL: h.srv.URL, Timeout: Duration(time.Second), MaxAttempts: 3, InitialBackoff: Duration(time.Millisecond), MaxBackoff: Duration(time.Hour)})
	var waits []time.Duration
	w.sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	origPost := h.srv.Config.Handler
	h.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Retry-After", "7")
		origPost.ServeHTTP(rw, r)
	})
	if err := w.Deliver(context.Background(), &Event{ID: "x/I/1/1"}); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != 7*time.Second {
		t.Errorf("waits %v, want [7s]", waits)
	}
}

func TestJitter(t *testing.T) {
	for i := 0; i < 1000; i++ {
		if d := jitter(time.Second); d < 500*time.Millisecond || d >= time.Second {
			t.Fatalf("jitter(1s) = %v", d)
		}
	}
}

func TestDetectForward(t *testing.T) {
	eng := testEngine(t)
	tests := []struct {
		name, kind   string
		wantReporter string
		wantSubject  string
	}{
		{"forwarded_eml", "forward", "Alice Staff <alice@example.invalid>", "Photo 1"},
		{"plain", "plain", "", ""},
		{"attachment_not_message", "iqy", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := eng.Triage(context.Background(), "m.eml", testMessage(tt.kind, 1))
			if err != nil {
				t.Fatal(err)
			}
			reporter, reported := detectForward(rep)
			if reporter != tt.wantReporter {
				t.Errorf("reporter %q, want %q", reporter, tt.wantReporter)
			}
			if (reported == nil) != (tt.wantSubject == "") || reported != nil && (reported.Subject != tt.wantSubject || reported.MessageID != "iqy-1@test.invalid" || reported.Type != "eml") {
				t.Errorf("reported %+v", reported)
			}
		})
	}
	// A report plus another real attachment is an ordinary message.
	two := &pipeline.Report{Message: pipeline.MessageInfo{From: "x"}, Artifacts: []*pipeline.Artifact{
		{ID: "1", Type: "eml"}, {ID: "1.1", Parent: "1", Type: "text", Name: "body.txt"},
		{ID: "1.2", Parent: "1", Type: "eml", Meta: map[string]any{"disposition": "attachment"}},
		{ID: "1.3", Parent: "1", Type: "zip", Meta: map[string]any{"disposition": "attachment"}},
	}}
	if r, rep := detectForward(two); r != "" || rep != nil {
		t.Errorf("two attachments detected as a report: %q %+v", r, rep)
	}
	// Inline logos do not count.
	logo := &pipeline.Report{Message: pipeline.MessageInfo{From: "x"}, Artifacts: []*pipeline.Artifact{
		{ID: "1", Type: "eml"}, {ID: "1.1", Parent: "1", Type: "html", Name: "body.html"},
		{ID: "1.2", Parent: "1", Type: "image", Size: 3000, Meta: map[string]any{"disposition": "inline"}},
		{ID: "1.3", Parent: "1", Type: "msg", Meta: map[string]any{"subject": "Invoice", "disposition": "attachment"}},
	}}
	if r, rep := detectForward(logo); r != "x" || rep == nil || rep.Subject != "Invoice" || rep.Type != "msg" {
		t.Errorf("report with a logo: %q %+v", r, rep)
	}
}

func TestFilter_match(t *testing.T) {
	r := &Record{ID: "a/INBOX/1/1", Account: "a", Mailbox: "INBOX", Verdict: "malicious", State: StateDone,
		Message:  pipeline.MessageInfo{From: "Alice <alice@corp.example>", Subject: "FW: invoice", MessageID: "outer@corp.example"},
		Reporter: "Alice <alice@corp.example>", Reported: &Reported{From: "Evil <evil@bad.invalid>", Subject: "Invoice 42", MessageID: "inner@bad.invalid"},
		SeenAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Verdict: "malicious"}, true},
		{Filter{Verdict: "clean"}, false},
		{Filter{From: "EVIL@bad"}, true}, // the reported sender
		{Filter{From: "alice"}, true},    // the reporter
		{Filter{From: "bob"}, false},
		{Filter{MessageID: "<inner@bad.invalid>"}, true},
		{Filter{MessageID: "outer@corp.example"}, true},
		{Filter{MessageID: "other@x"}, false},
		{Filter{Subject: "invoice 42"}, true},
		{Filter{Since: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}, false},
		{Filter{State: StateSeen}, false},
	}
	for i, tt := range tests {
		if got := tt.f.Match(r); got != tt.want {
			t.Errorf("%d: %+v → %v, want %v", i, tt.f, got, tt.want)
		}
	}
}
