package imapsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"triage/pipeline/imapsrc/imaptest"
)

func msg(i int, body string) []byte {
	return []byte(fmt.Sprintf("From: sender%d@example.invalid\r\nTo: soc@example.invalid\r\nSubject: test %d\r\nMessage-ID: <m%d@example.invalid>\r\n\r\n%s\r\n", i, i, i, body))
}

func secret(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func memOptions(m *imaptest.Mem) Options {
	return Options{Address: m.TLSAddr, TLS: TLSImplicit, CAFile: m.Cert.CAFile, Username: m.Username, Secret: secret(m.Password)}
}

func dial(t *testing.T, o Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDial_tlsAndAuth(t *testing.T) {
	var token atomic.Value
	token.Store("token-1")
	m := imaptest.StartMem(t, imaptest.MemOptions{XOAUTH2Token: func() string { return token.Load().(string) }})
	base := memOptions(m)
	tests := []struct {
		name    string
		mod     func(o *Options)
		wantErr string // substring; "" means success
	}{
		{"implicit_tls_login", func(o *Options) {}, ""},
		{"starttls_login", func(o *Options) { o.Address, o.TLS = m.Addr, TLSStartTLS }, ""},
		{"plain", func(o *Options) { o.Auth = AuthPlain }, ""},
		{"xoauth2", func(o *Options) { o.Auth, o.Secret = AuthXOAUTH2, secret("token-1") }, ""},
		{"xoauth2_bad_token", func(o *Options) { o.Auth, o.Secret = AuthXOAUTH2, secret("stale-token") }, `"status":"401"`},
		{"bad_password", func(o *Options) { o.Secret = secret("wrong") }, "AUTHENTICATIONFAILED"},
		// Verification is on by default: without the CA the server's
		// certificate is refused, on both ports.
		{"unknown_ca_implicit", func(o *Options) { o.CAFile = "" }, "certificate signed by unknown authority"},
		{"unknown_ca_starttls", func(o *Options) { o.Address, o.TLS, o.CAFile = m.Addr, TLSStartTLS, "" }, "certificate signed by unknown authority"},
		{"wrong_name", func(o *Options) { o.ServerName = "imap.example.org" }, "certificate is valid for"},
		{"skip_verify", func(o *Options) { o.CAFile, o.InsecureSkipVerify = "", true }, ""},
		{"missing_ca_file", func(o *Options) { o.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"secret_error", func(o *Options) { o.Secret = func() (string, error) { return "", errors.New("no such file") } }, "read secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.mod(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if _, err := c.Select(ctx, "INBOX"); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("Dial succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			// Secrets never appear in errors.
			for _, s := range []string{m.Password, "stale-token", "token-1", "wrong"} {
				if strings.Contains(err.Error(), s) && s != "wrong" || strings.Contains(err.Error(), "auth=") {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
	// The token is read again on every connection: rotate it and redial.
	calls := 0
	o := base
	o.Auth = AuthXOAUTH2
	o.Secret = func() (string, error) { calls++; return token.Load().(string), nil }
	dial(t, o).Close()
	token.Store("token-2")
	dial(t, o).Close()
	if calls != 2 {
		t.Fatalf("secret read %d times for 2 connections", calls)
	}
}

func TestDial_contextCancelled(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Dial(ctx, memOptions(m)); err == nil {
		t.Fatal("Dial with a cancelled context succeeded")
	}
}

func TestClient_scanFetchPeekSizeGate(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	big := msg(3, strings.Repeat("x", 5000))
	imaptest.Append(t, admin, "INBOX", msg(1, "one"), msg(2, "two"), big)
	c := dial(t, memOptions(m))
	ctx := context.Background()
	sel, err := c.Select(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity == 0 || sel.Messages != 3 {
		t.Fatalf("select: %+v", sel)
	}
	infos, err := c.Scan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || infos[2].Size != int64(len(big)) {
		t.Fatalf("scan: %+v", infos)
	}
	// Above the highest UID, "n:*" would return the last message: Scan
	// must not.
	if again, err := c.Scan(ctx, infos[2].UID); err != nil || len(again) != 0 {
		t.Fatalf("scan after last: %+v, %v", again, err)
	}
	if again, err := c.Scan(ctx, infos[0].UID); err != nil || len(again) != 2 {
		t.Fatalf("scan after first: %+v, %v", again, err)
	}
	got := map[imap.UID][]byte{}
	var tooLarge []imap.UID
	missing, err := c.Fetch(ctx, []imap.UID{infos[0].UID, infos[1].UID, infos[2].UID, 99}, 1000, func(uid imap.UID, data []byte, big bool) error {
		if big {
			tooLarge = append(tooLarge, uid)
			if data != nil {
				t.Errorf("UID %d: oversize message read", uid)
			}
			return nil
		}
		got[uid] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 1 || missing[0] != 99 {
		t.Fatalf("missing = %v, want [99]", missing)
	}
	if len(tooLarge) != 1 || tooLarge[0] != infos[2].UID {
		t.Fatalf("tooLarge = %v", tooLarge)
	}
	if !bytes.Equal(got[infos[0].UID], msg(1, "one")) || !bytes.Equal(got[infos[1].UID], msg(2, "two")) {
		t.Fatalf("bodies differ: %v", got)
	}
	// BODY.PEEK[]: nothing became \Seen.
	flags, err := c.Flags(ctx, []imap.UID{infos[0].UID, infos[1].UID, infos[2].UID})
	if err != nil {
		t.Fatal(err)
	}
	for uid, f := range flags {
		for _, fl := range f {
			if fl == imap.FlagSeen {
				t.Fatalf("UID %d marked \\Seen by the fetch", uid)
			}
		}
	}
	if len(flags) != 3 {
		t.Fatalf("flags for %d messages, want 3", len(flags))
	}
	env, err := c.Envelope(ctx, []imap.UID{infos[2].UID})
	if err != nil {
		t.Fatal(err)
	}
	if e := env[infos[2].UID]; e == nil || e.Subject != "test 3" || e.MessageID != "m3@example.invalid" {
		t.Fatalf("envelope: %+v", env)
	}
}

func TestClient_actions(t *testing.T) {
	for _, noMove := range []bool{false, true} {
		t.Run(fmt.Sprintf("noMove=%v", noMove), func(t *testing.T) {
			m := imaptest.StartMem(t, imaptest.MemOptions{NoMove: noMove})
			admin := m.Dial(t)
			imaptest.Append(t, admin, "INBOX", msg(1, "a"), msg(2, "b"), msg(3, "c"))
			c := dial(t, memOptions(m))
			ctx := context.Background()
			if c.HasMove() == noMove {
				t.Fatalf("HasMove = %v with NoMove %v", c.HasMove(), noMove)
			}
			if err := c.EnsureMailbox(ctx, "Triage/Malicious"); err != nil {
				t.Fatal(err)
			}
			if err := c.EnsureMailbox(ctx, "Triage/Malicious"); err != nil { // exists: no error
				t.Fatal(err)
			}
			if d, err := c.Delimiter(ctx); err != nil || d != '/' {
				t.Fatalf("delimiter %q, %v", d, err)
			}
			if _, err := c.Select(ctx, "INBOX"); err != nil {
				t.Fatal(err)
			}
			infos, err := c.Scan(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			uids := []imap.UID{infos[0].UID, infos[1].UID}
			kw := []imap.Flag{"$Triage-Malicious", "$TriageDone"}
			if err := c.AddFlags(ctx, uids, kw); err != nil {
				t.Fatal(err)
			}
			if c.HasMove() {
				err = c.Move(ctx, uids, "Triage/Malicious")
			} else {
				if err = c.Copy(ctx, uids, "Triage/Malicious"); err == nil {
					err = c.DeleteExpunge(ctx, uids)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			left, err := c.Flags(ctx, []imap.UID{infos[0].UID, infos[1].UID, infos[2].UID})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 1 || left[infos[2].UID] == nil {
				t.Fatalf("left in INBOX: %v", left)
			}
			moved := imaptest.Messages(t, admin, "Triage/Malicious")
			if len(moved) != 2 || !moved[0].HasFlag("$Triage-Malicious") || !moved[1].HasFlag("$TriageDone") {
				t.Fatalf("destination: %+v", moved)
			}
			// Contains finds a copy by size + digest + Message-ID +
			// keywords, and leaves INBOX selected.
			sum := SHA256(msg(1, "a"))
			ok, err := c.Contains(ctx, "Triage/Malicious", int64(len(msg(1, "a"))), sum, "<m1@example.invalid>", kw)
			if err != nil || !ok {
				t.Fatalf("Contains = %v, %v", ok, err)
			}
			ok, err = c.Contains(ctx, "Triage/Malicious", int64(len(msg(3, "c"))), SHA256(msg(3, "c")), "", nil)
			if err != nil || ok {
				t.Fatalf("Contains(absent) = %v, %v", ok, err)
			}
			if mb, _ := c.SelectedMailbox(); mb != "INBOX" {
				t.Fatalf("selected %q after Contains", mb)
			}
			if f, err := c.Flags(ctx, []imap.UID{infos[2].UID}); err != nil || len(f) != 1 {
				t.Fatalf("INBOX not usable after Contains: %v %v", f, err)
			}
		})
	}
}

func TestClient_waitIdleWakesOnNewMail(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	c := dial(t, memOptions(m))
	ctx := context.Background()
	if _, err := c.Select(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if !c.HasIdle() {
		t.Fatal("memserver offers IDLE")
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		admin := m.Dial(t)
		imaptest.Append(t, admin, "INBOX", msg(1, "new"))
		admin.Close()
	}()
	start := time.Now()
	if err := c.Wait(ctx, true, 20*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("IDLE did not wake on new mail (%v)", el)
	}
	infos, err := c.Scan(ctx, 0)
	if err != nil || len(infos) != 1 {
		t.Fatalf("after IDLE: %+v %v", infos, err)
	}
	// Polling mode: returns after the interval, connection still usable.
	start = time.Now()
	if err := c.Wait(ctx, false, 100*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Fatalf("poll wait returned after %v", el)
	}
	// A dropped connection is reported.
	if err := m.Cut(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctx, true, 10*time.Second, nil); err == nil {
		if _, err := c.Scan(ctx, 0); err == nil {
			t.Fatal("connection cut but client still works")
		}
	}
}

func TestDovecot(t *testing.T) {
	d := imaptest.StartDovecot(t, imaptest.DovecotOptions{})
	admin := d.Dial(t)
	imaptest.Append(t, admin, "INBOX", msg(1, "a"), msg(2, "b"))
	for _, mode := range []struct{ tls, addr, auth string }{{TLSImplicit, d.TLSAddr, AuthLogin}, {TLSStartTLS, d.Addr, AuthPlain}} {
		t.Run(mode.tls+"_"+mode.auth, func(t *testing.T) {
			c := dial(t, Options{Address: mode.addr, TLS: mode.tls, CAFile: d.Cert.CAFile, Username: d.Username, Auth: mode.auth, Secret: secret(d.Password)})
			ctx := context.Background()
			if !c.HasMove() || !c.HasIdle() || !c.HasUIDPlus() {
				t.Fatalf("dovecot caps: %v", c.Caps())
			}
			if _, err := c.Select(ctx, "INBOX"); err != nil {
				t.Fatal(err)
			}
			infos, err := c.Scan(ctx, 0)
			if err != nil || len(infos) != 2 {
				t.Fatalf("scan: %+v %v", infos, err)
			}
			// Dovecot's maildir uses '.' as its hierarchy delimiter.
			if dl, err := c.Delimiter(ctx); err != nil || dl != '.' {
				t.Fatalf("delimiter %q %v", dl, err)
			}
		})
	}
	// Without the CA, Dovecot's certificate is refused.
	_, err := Dial(context.Background(), Options{Address: d.TLSAddr, Username: d.Username, Secret: secret(d.Password)})
	if err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("dial without CA: %v", err)
	}
}

// TestDovecot_xoauth2 logs in to Dovecot with XOAUTH2; Dovecot checks the
// token at an introspection endpoint (RFC 7662) served by the test.
func TestDovecot_xoauth2(t *testing.T) {
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		seen.Add(1)
		tok := r.Form.Get("token")
		if tok == "" {
			tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		w.Header().Set("Content-Type", "application/json")
		if tok == "good-token" {
			fmt.Fprint(w, `{"active":true,"username":"soc"}`)
			return
		}
		fmt.Fprint(w, `{"active":false}`)
	}))
	defer srv.Close()
	d := imaptest.StartDovecot(t, imaptest.DovecotOptions{OAuth2URL: srv.URL + "/introspect"})
	o := Options{Address: d.TLSAddr, CAFile: d.Cert.CAFile, Username: d.Username, Auth: AuthXOAUTH2, Secret: secret("good-token")}
	c := dial(t, o)
	if _, err := c.Select(context.Background(), "INBOX"); err != nil {
		t.Fatal(err)
	}
	o.Secret = secret("bad-token")
	if _, err := Dial(context.Background(), o); err == nil {
		t.Fatalf("bad token accepted\n%s", d.Log())
	}
	if seen.Load() < 2 {
		t.Fatalf("introspection endpoint called %d times", seen.Load())
	}
}
