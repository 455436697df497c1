package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRun_exitCodesAndJSON(t *testing.T) {
	samples := filepath.Join("..", "..", "samples")
	mal := filepath.Join(samples, "malicious", "iqy-jp-photo", "input.eml")
	sus := filepath.Join(samples, "suspicious", "bec-ceo-transfer", "input.eml")
	cln := filepath.Join(samples, "clean", "plain-reply", "input.eml")
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{cln}, exitClean},
		{[]string{sus}, exitSuspicious},
		{[]string{mal}, exitMalicious},
		{[]string{cln, mal, sus}, exitMalicious},
		{[]string{mal, "/nonexistent/file.eml"}, exitError},
		{[]string{"--no-such-flag", cln}, exitError},
		{[]string{}, exitError},
	} {
		if code, _, stderr := runCLI(t, "", tt.args...); code != tt.want {
			t.Errorf("triage %v = %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
		}
	}
	// JSON Lines, in input order, for several inputs.
	code, out, _ := runCLI(t, "", "--json", "--jobs", "2", mal, cln, sus)
	if code != exitMalicious {
		t.Errorf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d JSON lines, want 3", len(lines))
	}
	for i, want := range []string{"malicious", "clean", "suspicious"} {
		var r struct {
			Verdict string `json:"verdict"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil || r.Verdict != want {
			t.Errorf("line %d: verdict %q (%v), want %s", i, r.Verdict, err, want)
		}
	}
}

func TestRun_stdinBareFileAndExtract(t *testing.T) {
	iqy := "WEB\r\n1\r\nhttp://127.0.0.1:9/regress/q.html\r\n"
	code, out, _ := runCLI(t, iqy, "-")
	if code == exitClean || !strings.Contains(out, "[iqy,") {
		t.Errorf("bare IQY on stdin: exit %d, output %q", code, out)
	}
	dir := t.TempDir()
	src := filepath.Join("..", "..", "samples", "malicious", "lnk-pdf-zip", "input.eml")
	if code, _, stderr := runCLI(t, "", "--extract", dir, src); code != exitMalicious {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	joined := strings.Join(names, " ")
	// Generated names only: never the message's (Japanese) file names.
	if !strings.Contains(joined, "_lnk.bin") || !strings.Contains(joined, "index.tsv") || strings.Contains(joined, "請求書") {
		t.Errorf("extracted files: %v", names)
	}
}

func TestRun_userRulesOnly(t *testing.T) {
	dir := t.TempDir()
	rule := `rule User_Marker { meta: description = "x" severity = "critical" condition: filetype == "text" }`
	if err := os.WriteFile(filepath.Join(dir, "u.yar"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "just some words here", "--only-rules", "--rules", dir, "--json", "-")
	if code != exitMalicious || !strings.Contains(out, "User_Marker") {
		t.Errorf("exit %d out %q err %q: want the user's critical rule to decide", code, out, stderr)
	}
}

func TestRun_signalsConfig(t *testing.T) {
	bec := filepath.Join("..", "..", "samples", "suspicious", "bec-ceo-transfer", "input.eml")
	code, out, _ := runCLI(t, "", "--json", bec)
	if code != exitSuspicious || !strings.Contains(out, "mail.reply_to_mismatch") {
		t.Fatalf("baseline: exit %d", code)
	}
	cfg := filepath.Join(t.TempDir(), "signals.json")
	os.WriteFile(cfg, []byte(`{"disabled": ["mail.reply_to_mismatch", "mail.payment_request", "mail.auth_fail", "mail.display_name_spoof", "mail.reply_without_thread", "mail.lure_subject"]}`), 0o644)
	code, out, stderr := runCLI(t, "", "--json", "--signals", cfg, bec)
	if strings.Contains(out, "mail.reply_to_mismatch") || code != exitClean {
		t.Errorf("disabled signals still scored: exit %d, %s %s", code, out, stderr)
	}
}

// TestRun_noRuleScope: --no-rule-scope scans every artifact with every
// rule and reports the same rules as the default narrowed scan.
func TestRun_noRuleScope(t *testing.T) {
	dir := filepath.Join("..", "..", "samples", "malicious")
	rulesOf := func(args ...string) map[string]bool {
		code, out, stderr := runCLI(t, "", append([]string{"--json", "--rule-cache", ""}, args...)...)
		if code != exitMalicious {
			t.Fatalf("triage %v: exit %d (%s)", args, code, stderr)
		}
		got := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(out))
		for msg := 0; dec.More(); msg++ {
			var r struct {
				Artifacts []struct {
					ID   string   `json:"id"`
					YARA []string `json:"yara"`
				} `json:"artifacts"`
				Input struct {
					Name string `json:"name"`
				} `json:"input"`
			}
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			for _, a := range r.Artifacts {
				for _, y := range a.YARA {
					got[fmt.Sprintf("message %d artifact %s %s", msg, a.ID, y)] = true
				}
			}
		}
		return got
	}
	scoped, full := rulesOf(dir), rulesOf("--no-rule-scope", dir)
	if len(full) < 20 {
		t.Fatalf("only %d rule matches over the malicious samples", len(full))
	}
	if len(scoped) != len(full) {
		t.Errorf("%d rule matches scoped, %d with --no-rule-scope", len(scoped), len(full))
	}
	for k := range full {
		if !scoped[k] {
			t.Errorf("%s only with --no-rule-scope", k)
		}
	}
}
