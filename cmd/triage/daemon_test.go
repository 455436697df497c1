package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"triage/pipeline/imapsrc/imaptest"
)

func TestDaemon_demo(t *testing.T) {
	// The bundled samples when present; an empty directory makes the demo
	// use its three built-in messages.
	for _, dir := range []string{filepath.Join("..", "..", "samples"), t.TempDir()} {
		code, out, errOut := runCLI(t, "", "daemon", "--demo", "--samples", dir)
		if code != exitClean {
			t.Fatalf("demo with %s: exit %d\n%s\n%s", dir, code, out, errOut)
		}
		for _, want := range []string{"UID  VERDICT", "Triage/", "Mailboxes now: INBOX 0,"} {
			if !strings.Contains(out, want) {
				t.Errorf("demo with %s: output lacks %q:\n%s", dir, want, out)
			}
		}
	}
}

func TestDaemon_usageAndCheck(t *testing.T) {
	if code, _, errOut := runCLI(t, "", "daemon"); code != exitError || !strings.Contains(errOut, "usage: triage daemon") {
		t.Errorf("no config: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "daemon", "--config", "/nonexistent.json"); code != exitError {
		t.Errorf("missing config: %d", code)
	}
	cfg := filepath.Join(t.TempDir(), "c.json")
	os.WriteFile(cfg, []byte(`{"store": "/tmp/x.db", "accounts": [{"name": "a", "address": "imap.example.org:993", "username": "u", "password_env": "P"}]}`), 0o600)
	if code, out, errOut := runCLI(t, "", "daemon", "--check", "--config", cfg); code != exitClean || !strings.Contains(out, "OK (1 accounts, 1 mailboxes") {
		t.Errorf("--check: %d %q %q", code, out, errOut)
	}
}

// TestDaemon_configAndResults runs `triage daemon --config` against an
// IMAP server, then looks results up with `triage results`, from the
// store and, while a daemon holds the store, through its HTTP API.
func TestDaemon_configAndResults(t *testing.T) {
	m := imaptest.StartMem(t, imaptest.MemOptions{})
	admin := m.Dial(t)
	msg := func(subj, from, id, body string) []byte {
		return []byte("From: " + from + "\r\nTo: soc@example.invalid\r\nSubject: " + subj + "\r\nMessage-ID: <" + id + ">\r\n\r\n" + body + "\r\n")
	}
	imaptest.Append(t, admin, "INBOX",
		msg("Lunch", "Bob <bob@example.invalid>", "lunch@example.invalid", "see you at noon"),
		mustRead(t, filepath.Join("..", "..", "samples", "malicious", "iqy-jp-photo", "input.eml")))
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(m.Password), 0o600)
	port, err := imaptest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "daemon.json")
	cfg := fmt.Sprintf(`{"store": %q, "listen": "127.0.0.1:%d", "sinks": {"jsonl": {"path": %q}},
	  "accounts": [{"name": "soc", "address": %q, "ca_file": %q, "username": %q, "password_file": %q}]}`,
		filepath.Join(dir, "t.db"), port, filepath.Join(dir, "r.jsonl"), m.TLSAddr, m.Cert.CAFile, m.Username, pw)
	os.WriteFile(cfgPath, []byte(cfg), 0o600)

	if code, out, errOut := runCLI(t, "", "daemon", "--config", cfgPath, "--once"); code != exitClean {
		t.Fatalf("daemon --once: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "", "results", "--config", cfgPath)
	if code != exitClean || !strings.Contains(out, "VERDICT") || !strings.Contains(out, "soc/INBOX/") || strings.Count(out, "\n") != 3 {
		t.Fatalf("results: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "results", "--config", cfgPath, "--from", "bob@", "--json")
	var recs []struct {
		ID      string `json:"id"`
		Verdict string `json:"verdict"`
		State   string `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &recs); code != exitClean || err != nil || len(recs) != 1 || recs[0].Verdict != "clean" || recs[0].State != "done" {
		t.Fatalf("results --from --json: %d %v %s", code, err, out)
	}
	if code, out, _ := runCLI(t, "", "results", "--store", filepath.Join(dir, "t.db"), "--verdict", "malicious"); code != exitClean || !strings.Contains(out, "malicious") || strings.Contains(out, "Lunch") {
		t.Fatalf("results --verdict malicious: %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "", "results", "--config", cfgPath, "--message-id", "<nothing@x>"); code != exitClean || strings.TrimSpace(out) != "no results" {
		t.Fatalf("results --message-id (none): %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "", "results", "show", "--config", cfgPath, "--report", recs[0].ID); code != exitClean || !strings.Contains(out, `"schema_version"`) || !strings.Contains(out, `"lunch@example.invalid"`) {
		t.Fatalf("results show --report: %d\n%.400s", code, out)
	}
	if code, _, _ := runCLI(t, "", "results", "show", "--config", cfgPath, "soc/INBOX/1/999"); code != exitError {
		t.Fatalf("results show (missing): %d", code)
	}

	// While a daemon runs (and locks the store), results come from its API.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- runDaemon(ctx, []string{"--config", cfgPath}, &strings.Builder{}, &strings.Builder{}) }()
	defer func() {
		cancel()
		if code := <-done; code != exitClean {
			t.Errorf("daemon after SIGTERM: exit %d", code)
		}
	}()
	if err := imaptest.WaitPort(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "", "results", "--config", cfgPath, "--verdict", "clean")
	if code != exitClean || !strings.Contains(out, "Lunch") {
		t.Fatalf("results while the daemon runs: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "", "results", "show", "--config", cfgPath, recs[0].ID); code != exitClean || !strings.Contains(out, recs[0].ID) {
		t.Fatalf("results show while the daemon runs: %d\n%s", code, out)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("bundled sample: %v", err)
	}
	return b
}
