package hostile

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"triage/parsers"
	"triage/parsers/parsertest"
	"triage/pipeline"
)

func repoRoot(tb testing.TB) string { return parsertest.RepoRoot(tb) }

// maxSeed bounds seed inputs: fuzzing mutates small inputs best.
const maxSeed = 128 << 10

// seeds returns the bundled samples' messages, the shared corpus' messages
// (when present) and the small hostile cases.
func seeds(tb testing.TB) [][]byte {
	root := repoRoot(tb)
	var out [][]byte
	add := func(dir string, match func(string) bool, limit int) {
		n := 0
		var files []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && match(p) {
				files = append(files, p)
			}
			return nil
		})
		sort.Strings(files)
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil || len(b) > maxSeed || n >= limit {
				continue
			}
			out = append(out, b)
			n++
		}
	}
	add(filepath.Join(root, "samples"), func(p string) bool { return filepath.Base(p) == "input.eml" }, 1000)
	add(filepath.Join(root, "..", "shared", "corpus"), func(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".eml") }, 60)
	for _, c := range Cases() {
		if c.Seed {
			out = append(out, c.Build())
		}
	}
	return out
}

// checkReport asserts what every report must satisfy, whatever the input.
func checkReport(t *testing.T, rep *pipeline.Report, inputLen int) {
	t.Helper()
	switch rep.Verdict {
	case pipeline.Malicious, pipeline.Suspicious, pipeline.Clean:
	default:
		t.Fatalf("verdict %q", rep.Verdict)
	}
	if rep.Score < 0 || rep.Score > 100 {
		t.Errorf("score %d", rep.Score)
	}
	if len(rep.Artifacts) == 0 || rep.Artifacts[0].ID != "1" || rep.Artifacts[0].Parent != "" {
		t.Fatalf("no root artifact \"1\" first")
	}
	byID := map[string]*pipeline.Artifact{}
	for i, a := range rep.Artifacts {
		if byID[a.ID] != nil {
			t.Fatalf("artifact id %q twice", a.ID)
		}
		if i > 0 {
			p := byID[a.Parent]
			switch {
			case p == nil:
				t.Fatalf("artifact %q: parent %q not listed before it", a.ID, a.Parent)
			case !strings.HasPrefix(a.ID, a.Parent+"."):
				t.Errorf("artifact %q under parent %q", a.ID, a.Parent)
			case a.Depth != p.Depth+1:
				t.Errorf("artifact %q depth %d, parent depth %d", a.ID, a.Depth, p.Depth)
			}
		}
		byID[a.ID] = a
		for _, f := range a.Findings {
			if f.Code == "engine.parser_panic" {
				t.Errorf("parser panic on artifact %s (%s): %s", a.ID, a.Type, f.Detail)
			}
			// A small input that runs into the 10 s deadline is a hang.
			if f.Code == "limit.deadline" && inputLen <= maxSeed {
				t.Errorf("deadline on a %d-byte input, artifact %s (%s): %s", inputLen, a.ID, a.Type, f.Detail)
			}
		}
	}
	for _, r := range rep.Reasons {
		if byID[r.Artifact] == nil {
			t.Errorf("reason %s names missing artifact %q", r.Rule, r.Artifact)
		}
	}
}

// FuzzTriage runs the whole pipeline on raw messages:
//
//	go test -run '^$' -fuzz FuzzTriage -fuzztime 60s ./pipeline/hostile/
func FuzzTriage(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	eng, err := pipeline.New(pipeline.Config{Limits: parsers.DefaultLimits(), Parsers: registry()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := eng.Triage(context.Background(), "fuzz.eml", data)
		if err != nil {
			t.Fatalf("Triage: %v", err)
		}
		if rep == nil {
			t.Fatal("no report")
		}
		checkReport(t, rep, len(data))
	})
}

// TestFuzzTargetsWired checks the fuzz wiring the issue asks for: every
// registered parser's package has a fuzz target, `make fuzz` runs every
// Fuzz* target of every package for FUZZTIME, and CI runs `make test`,
// whose `go test ./...` replays each target's seed corpus.
func TestFuzzTargetsWired(t *testing.T) {
	root := repoRoot(t)
	fuzzRE := regexp.MustCompile(`(?m)^func Fuzz\w*\(f \*testing\.F\)`)
	seen := map[string]bool{}
	for _, p := range pipeline.DefaultParsers() {
		pkg := reflect.TypeOf(p).Elem().PkgPath()
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		dir := filepath.Join(root, strings.TrimPrefix(pkg, "triage/"))
		tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		found := false
		for _, f := range tests {
			b, err := os.ReadFile(f)
			if err == nil && fuzzRE.Match(b) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("parser %q (%s): no fuzz target in its package", p.Name(), pkg)
		}
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for what, re := range map[string]*regexp.Regexp{
		"a fuzz target":                              regexp.MustCompile(`(?m)^fuzz:`),
		"fuzz lists every Fuzz* target":              regexp.MustCompile(`test -list '\^Fuzz'`),
		"fuzz covers ./pipeline/... (FuzzTriage)":    regexp.MustCompile(`(?m)^fuzz:[^\n]*\n(?:\t[^\n]*\n)*?\t[^\n]*\./(?:pipeline/)?\.\.\.`),
		"fuzz runs each for $(FUZZTIME)":             regexp.MustCompile(`-fuzztime \$\(FUZZTIME\)`),
		"test runs go test ./... (the seed corpora)": regexp.MustCompile(`(?m)^test:[^\n]*\n(?:\t[^\n]*\n)*?\t\$\(GO\) test [^\n]*\./\.\.\.`),
		"test runs every fuzz target briefly":        regexp.MustCompile(`(?m)^test:[^\n]*\n(?:\t[^\n]*\n)*?\t[^\n]*\bfuzz FUZZTIME=`),
	} {
		if !re.Match(mk) {
			t.Errorf("Makefile: no %s (%s)", what, re)
		}
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "make test") {
		t.Error(".ci/run does not run make test")
	}
}
