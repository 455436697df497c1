// Package parsertest runs one parser on bytes and records what it reports,
// so each format package can test its parser without the whole pipeline.
package parsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"triage/parsers"
)

// Env is a fixed list of candidate passwords.
type Env []string

// Passwords implements parsers.Env.
func (e Env) Passwords() []string { return e }

// Recorder is a parsers.Sink that records everything.
type Recorder struct {
	Children  []parsers.Child
	Findings  []parsers.Finding
	MetaData  map[string]any
	URLs      []string
	Passwords []string
	// MaxChildren, if > 0, makes Child fail with ErrTooMany past it.
	MaxChildren int
}

// Child implements parsers.Sink.
func (r *Recorder) Child(c parsers.Child) error {
	if r.MaxChildren > 0 && len(r.Children) >= r.MaxChildren {
		return parsers.ErrTooMany
	}
	r.Children = append(r.Children, c)
	return nil
}

// Finding implements parsers.Sink.
func (r *Recorder) Finding(f parsers.Finding) { r.Findings = append(r.Findings, f) }

// Meta implements parsers.Sink.
func (r *Recorder) Meta(k string, v any) {
	if r.MetaData == nil {
		r.MetaData = map[string]any{}
	}
	r.MetaData[k] = v
}

// URL implements parsers.Sink.
func (r *Recorder) URL(u string) { r.URLs = append(r.URLs, u) }

// Password implements parsers.Sink.
func (r *Recorder) Password(p string) { r.Passwords = append(r.Passwords, p) }

// HasFinding reports whether a finding with code was recorded.
func (r *Recorder) HasFinding(code string) bool {
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

// FindingOf returns the first finding with code, or the zero Finding.
func (r *Recorder) FindingOf(code string) parsers.Finding {
	for _, f := range r.Findings {
		if f.Code == code {
			return f
		}
	}
	return parsers.Finding{}
}

// MaxSeverity returns the highest severity recorded (Info when none).
func (r *Recorder) MaxSeverity() parsers.Severity {
	m := parsers.Info
	for _, f := range r.Findings {
		m = max(m, f.Severity)
	}
	return m
}

// Codes returns "code:severity" of every finding, sorted; nil when none.
func (r *Recorder) Codes() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code+":"+f.Severity.String())
	}
	sort.Strings(out)
	return out
}

// Run parses data as an artifact of type typ named name with default limits
// and returns the recorder and the parser's error.
func Run(t testing.TB, p parsers.Parser, name, typ string, data []byte, passwords ...string) (*Recorder, error) {
	t.Helper()
	return RunLimits(t, p, name, typ, data, parsers.DefaultLimits(), passwords...)
}

// RunLimits is Run with explicit limits.
func RunLimits(t testing.TB, p parsers.Parser, name, typ string, data []byte, l parsers.Limits, passwords ...string) (*Recorder, error) {
	t.Helper()
	ctx := context.Background()
	a := &parsers.Artifact{ID: "1", Name: name, Type: typ, Size: int64(len(data))}
	in := &parsers.Input{Artifact: a, Data: data, Budget: parsers.NewBudget(ctx, l), Env: Env(passwords)}
	rec := &Recorder{}
	err := p.Parse(ctx, in, rec)
	return rec, err
}

// FindRepoRoot returns the repository root (the directory holding go.mod)
// above the working directory.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("parsertest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FindSharedCorpus returns ../shared/corpus beside the repository: other
// projects' fixtures, read in place and never copied into the repository.
func FindSharedCorpus() (string, error) {
	root, err := FindRepoRoot()
	if err != nil {
		return "", err
	}
	c := filepath.Join(root, "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		return "", err
	}
	return c, nil
}

// RepoRoot is FindRepoRoot for tests.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// SharedCorpus is FindSharedCorpus for tests: it skips the test with a
// clear message when the corpus is absent.
func SharedCorpus(t testing.TB) string {
	t.Helper()
	c, err := FindSharedCorpus()
	if err != nil {
		t.Skipf("shared corpus not found beside the repository (../shared/corpus): %v; this test compares with other projects' fixtures and needs it", err)
	}
	return c
}

// OlevbaFile is one entry of the corpus' expected/olevba/_summary.json:
// what oletools' olevba 0.60.3 said about a file.
type OlevbaFile struct {
	File     string   `json:"file"`
	Kind     string   `json:"kind"`
	RC       int      `json:"rc"`
	Types    []string `json:"types"`
	Macros   []string `json:"macros"`
	Autoexec []string `json:"autoexec"`
}

// OlevbaSummary reads expected/olevba/_summary.json of the shared corpus,
// skipping the test when it is absent.
func OlevbaSummary(t testing.TB) []OlevbaFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(SharedCorpus(t), "expected", "olevba", "_summary.json"))
	if err != nil {
		t.Skipf("olevba expectations not found: %v", err)
	}
	var out []OlevbaFile
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("olevba summary: %v", err)
	}
	return out
}

// CheckTestdata compares each generated file with testdata/<name>, or
// rewrites it when update is set: testdata built by the tests' own
// builders stays in step with them.
func CheckTestdata(t testing.TB, files map[string][]byte, update bool) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join("testdata", name)
		if update {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s is stale or missing (%v): run go test -run TestWriteTestdata -update", p, err)
		}
	}
}
