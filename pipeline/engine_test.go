package pipeline

import (
	"context"
	"strings"
	"testing"
	"time"

	"triage/parsers"
	"triage/rules"
)

// testParser is a parser whose behaviour each test sets.
type testParser struct {
	name  string
	match func(a *parsers.Artifact) bool
	parse func(ctx context.Context, in *parsers.Input, out parsers.Sink) error
}

func (p *testParser) Name() string                             { return p.name }
func (p *testParser) Match(a *parsers.Artifact, _ []byte) bool { return p.match(a) }
func (p *testParser) Parse(ctx context.Context, in *parsers.Input, out parsers.Sink) error {
	return p.parse(ctx, in, out)
}

func testRules(t *testing.T) *rules.Set {
	t.Helper()
	set, err := rules.Compile([]rules.Source{{Name: "t.yar", Text: `
rule Test_Marker {
  meta:
    description = "marker string"
    severity = "high"
    campaign = "test"
    attack = "T1204.002"
  strings:
    $m = "EVIL-MARKER"
  condition:
    $m and filetype == "text"
}`}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func newEngine(t *testing.T, l parsers.Limits, ps ...parsers.Parser) *Engine {
	t.Helper()
	e, err := New(Config{Limits: l, Rules: testRules(t), Parsers: ps})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEngine_Triage_recursionDepthLimit(t *testing.T) {
	// A parser that wraps every artifact in one more child: endless nesting.
	nest := &testParser{name: "nest", match: func(*parsers.Artifact) bool { return true },
		parse: func(_ context.Context, in *parsers.Input, out parsers.Sink) error {
			return out.Child(parsers.Child{Name: "inner", Data: append([]byte("x"), in.Data...), Type: "binary"})
		}}
	e := newEngine(t, parsers.Limits{MaxDepth: 5}, nest)
	rep, err := e.Triage(context.Background(), "in.bin", []byte("seed"))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Artifacts); got != 6 {
		t.Errorf("artifacts = %d, want 6 (depth 0..5)", got)
	}
	if !rep.HasFinding("limit.depth") {
		t.Errorf("no limit.depth finding; findings: %v", findingCodes(rep))
	}
	if rep.Verdict == "" {
		t.Error("no verdict")
	}
}

func TestEngine_Triage_artifactCountLimit(t *testing.T) {
	fan := &testParser{name: "fan", match: func(a *parsers.Artifact) bool { return a.Depth == 0 },
		parse: func(_ context.Context, _ *parsers.Input, out parsers.Sink) error {
			for i := 0; i < 1000; i++ {
				if err := out.Child(parsers.Child{Name: "c", Data: []byte{byte(i)}, Type: "binary"}); err != nil {
					return err
				}
			}
			return nil
		}}
	e := newEngine(t, parsers.Limits{MaxArtifacts: 10}, fan)
	rep, _ := e.Triage(context.Background(), "in.bin", []byte("seed"))
	if got := len(rep.Artifacts); got != 11 {
		t.Errorf("artifacts = %d, want 11 (root + 10)", got)
	}
	if !rep.HasFinding("limit.count") {
		t.Errorf("no limit.count finding: %v", findingCodes(rep))
	}
}

func TestEngine_Triage_panicIsContained(t *testing.T) {
	boom := &testParser{name: "boom", match: func(*parsers.Artifact) bool { return true },
		parse: func(context.Context, *parsers.Input, parsers.Sink) error {
			var l []int
			_ = l[len(l)] // index out of range: panics
			return nil
		}}
	e := newEngine(t, parsers.Limits{}, boom)
	rep, err := e.Triage(context.Background(), "in.txt", []byte("EVIL-MARKER in plain text"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HasFinding("engine.parser_panic") {
		t.Errorf("panic not recorded: %v", findingCodes(rep))
	}
	// The rest of the judgement still happens: the YARA rule counts.
	if rep.Verdict == Clean || !contains(rep.RulesFired(), "Test_Marker") {
		t.Errorf("verdict %s, rules %v: want the marker rule to score despite the panic", rep.Verdict, rep.RulesFired())
	}
}

func TestEngine_Triage_stuckParserIsAbandoned(t *testing.T) {
	stuck := &testParser{name: "stuck", match: func(*parsers.Artifact) bool { return true },
		parse: func(context.Context, *parsers.Input, parsers.Sink) error {
			time.Sleep(5 * time.Second) // ignores its context entirely
			return nil
		}}
	e := newEngine(t, parsers.Limits{TimeoutMillis: 100}, stuck)
	start := time.Now()
	rep, err := e.Triage(context.Background(), "in.txt", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Triage took %v: a stuck parser held the worker", d)
	}
	if !rep.HasFinding("limit.deadline") {
		t.Errorf("no limit.deadline finding: %v", findingCodes(rep))
	}
}

func TestEngine_Triage_passwordsReachLaterParsers(t *testing.T) {
	var seen []string
	offer := &testParser{name: "offer", match: func(a *parsers.Artifact) bool { return a.Depth == 0 },
		parse: func(_ context.Context, _ *parsers.Input, out parsers.Sink) error {
			out.Password("7731")
			return out.Child(parsers.Child{Name: "locked.bin", Data: []byte{1, 2, 3}, Type: "binary"})
		}}
	use := &testParser{name: "use", match: func(a *parsers.Artifact) bool { return a.Depth == 1 },
		parse: func(_ context.Context, in *parsers.Input, _ parsers.Sink) error {
			seen = in.Env.Passwords()
			return nil
		}}
	e := newEngine(t, parsers.Limits{}, offer, use)
	if _, err := e.Triage(context.Background(), "m", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "7731" {
		t.Errorf("passwords seen by child parser = %q, want [7731]", seen)
	}
}

func TestEngine_Triage_scoreAndReasons(t *testing.T) {
	f := &testParser{name: "f", match: func(a *parsers.Artifact) bool { return true },
		parse: func(_ context.Context, _ *parsers.Input, out parsers.Sink) error {
			out.Finding(parsers.Finding{Code: "f.weak", Severity: parsers.Low, Detail: "weak"})
			out.Finding(parsers.Finding{Code: "f.weak", Severity: parsers.Low, Detail: "weak again"})
			return nil
		}}
	e := newEngine(t, parsers.Limits{}, f)
	rep, _ := e.Triage(context.Background(), "a.txt", []byte("EVIL-MARKER"))
	// high (60) + low (10, counted once) = 70 → malicious.
	if rep.Score != 70 || rep.Verdict != Malicious {
		t.Errorf("score %d verdict %s, want 70 malicious; reasons %+v", rep.Score, rep.Verdict, rep.Reasons)
	}
	sum := 0
	for _, r := range rep.Reasons {
		sum += r.Points
	}
	if sum != rep.Score {
		t.Errorf("reasons explain %d points, score is %d", sum, rep.Score)
	}
}

func TestScore_mailSignalsAloneNeverMalicious(t *testing.T) {
	rep := &Report{Artifacts: []*Artifact{{ID: "1", Findings: []parsers.Finding{
		{Code: "mail.a", Severity: parsers.High}, {Code: "mail.b", Severity: parsers.High},
	}}}}
	score(rep, &rules.Set{Meta: map[string]rules.Meta{}}, DefaultScoring())
	if rep.Verdict == Malicious {
		t.Errorf("mail-only signals gave %s (score %d)", rep.Verdict, rep.Score)
	}
	if rep.Verdict != Suspicious {
		t.Errorf("two high mail signals: verdict %s, want suspicious", rep.Verdict)
	}
}

func TestCheckRegistry(t *testing.T) {
	ok := &testParser{name: "ok-1"}
	if err := checkRegistry([]parsers.Parser{ok}); err != nil {
		t.Errorf("valid registry rejected: %v", err)
	}
	if err := checkRegistry([]parsers.Parser{ok, ok}); err == nil {
		t.Error("duplicate name accepted")
	}
	if err := checkRegistry([]parsers.Parser{&testParser{name: "Bad Name"}}); err == nil {
		t.Error("invalid name accepted")
	}
	if err := checkRegistry(DefaultParsers()); err != nil {
		t.Errorf("default registry: %v", err)
	}
}

func findingCodes(r *Report) []string {
	var out []string
	for _, a := range r.Artifacts {
		for _, f := range a.Findings {
			out = append(out, a.ID+":"+f.Code)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s || strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func TestScore_limitsAndMalformationsCountOnce(t *testing.T) {
	rep := &Report{Artifacts: []*Artifact{{ID: "1", Findings: []parsers.Finding{
		{Code: "limit.input_size", Severity: parsers.Medium},
		{Code: "limit.size", Severity: parsers.Medium},
		{Code: "archive.limit", Severity: parsers.Medium},
		{Code: "mime.malformed", Severity: parsers.Low},
		{Code: "zip.malformed", Severity: parsers.Low},
	}}}}
	score(rep, &rules.Set{Meta: map[string]rules.Meta{}}, DefaultScoring())
	if rep.Score != 40 || rep.Verdict != Suspicious {
		t.Errorf("score %d verdict %s: want 40 suspicious (one limit 30 + one malformation 10)", rep.Score, rep.Verdict)
	}
}
