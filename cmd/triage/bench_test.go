package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"triage/rules"
)

// TestMain lets the test binary stand in for the triage binary: `triage
// bench` runs os.Executable() as its CLI-batch subprocess.
func TestMain(m *testing.M) {
	if os.Getenv("TRIAGE_TEST_AS_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestClamCondition(t *testing.T) {
	tests := []struct{ in, want string }{
		{`filetype == "iqy" or $web at 0 or ($web in (0..20) and filesize < 4096)`,
			`false or $web at 0 or ($web in (0..20) and filesize < 4096)`},
		{`(parent_type == "lnk" or filetype == "lnk") and $ps and any of ($h1, $e1, $d*)`,
			`true and $ps and any of ($h1, $e1, $d*)`},
		{`filetype == "jar" and $mf and #il >= 10`, `true and $mf and #il >= 10`},
		{`$a or filename matches /\.(js|vbs)$/i`, `$a or false`},
		{`depth >= 1 and not derived and $x`, `true and not true and $x`},
		{`filetype == "ps1" and any of ($dl*) and any of ($x*)`, `true and any of ($dl*) and any of ($x*)`},
	}
	for _, tt := range tests {
		if got := clamCondition(tt.in); got != tt.want {
			t.Errorf("clamCondition(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestPartitionsAndPercentile(t *testing.T) {
	b := &bencher{jobs: 3, files: []string{"a", "b", "c", "d", "e", "f"}, sizes: []int64{100, 1, 50, 50, 2, 3}}
	groups := b.partitions(3)
	seen := map[string]bool{}
	var loads []int64
	for _, g := range groups {
		var load int64
		for _, f := range g {
			if seen[f] {
				t.Errorf("%s in two groups", f)
			}
			seen[f] = true
			load += b.sizes[strings.Index("abcdef", f)]
		}
		loads = append(loads, load)
	}
	if len(seen) != 6 {
		t.Errorf("%d files partitioned, want 6", len(seen))
	}
	// The 100-byte file alone, the two 50s together, the small ones spread.
	lo, hi := minMax(loads)
	if hi != 100 || lo < 50 {
		t.Errorf("group loads %v, want the biggest alone and the rest balanced", loads)
	}
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(d, 0.5); p != 5 {
		t.Errorf("p50 = %d, want 5", p)
	}
	if p := percentile(d, 0.99); p != 10 {
		t.Errorf("p99 = %d, want 10", p)
	}
}

func TestClamRules(t *testing.T) {
	if _, err := exec.LookPath("clamscan"); err != nil {
		t.Skip("clamscan not installed (Debian package clamav)")
	}
	srcs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	loaded, dropped, err := clamRules(context.Background(), dir, srcs)
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if loaded+len(dropped) != len(set.Meta) || loaded < len(set.Meta)/2 {
		t.Errorf("loaded %d, dropped %v, of %d rules", loaded, dropped, len(set.Meta))
	}
	// A clean business message must not match every rule, as a careless
	// rewrite ("filetype == x" → true inside an "or") would make it.
	msg := filepath.Join(dir, "plain.eml")
	os.WriteFile(msg, []byte("From: a@example.invalid\r\nTo: b@example.invalid\r\nSubject: hello\r\n\r\nSee you on Monday.\r\n"), 0o644)
	out, _ := exec.Command("clamscan", "--no-summary", "--allmatch", "-d", dir, msg).CombinedOutput()
	if bytes.Contains(out, []byte("FOUND")) {
		t.Errorf("clamscan flags a plain message with triage's rules:\n%s", out)
	}
}

var rowRE = regexp.MustCompile(`(?m)^\s*(triage CLI --json|triage API \(in-process\))\s+\d+\.\d+\s+\d+\.\d\s+\d+\.\d`)

func TestRunBench(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a corpus and runs the tools")
	}
	t.Setenv("TRIAGE_TEST_AS_MAIN", "1")
	args := []string{"--size", "1", "--dir", t.TempDir(), "--samples", filepath.Join("..", "..", "samples"), "--startup-runs", "1"}
	peers := true
	for _, tool := range []string{"clamscan", "yara", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			peers = false
		}
	}
	if !peers {
		args = append(args, "--peers=false")
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"bench"}, args...), nil, &stdout, &stderr)
	if code != exitClean {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if n := len(rowRE.FindAllString(out, -1)); n != 2 {
		t.Errorf("%d triage rows with figures, want 2:\n%s", n, out)
	}
	for _, want := range []string{"reproduce: make bench-peers", "business", "japanese"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if peers {
		for _, want := range []string{"sha256sum (floor)", "clamscan (triage rules)", "yara -r (extracted artifacts)", "throughput triage API / clamscan", "one-shot start-up"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	}
}
