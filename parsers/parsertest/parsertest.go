// Package parsertest runs one parser on bytes and records what it reports,
// so each format package can test its parser without the whole pipeline.
package parsertest

import (
	"context"
	"os"
	"path/filepath"
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

// RepoRoot returns the repository root (the directory holding go.mod)
// above the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedCorpus returns ../shared/corpus beside the repository (other
// projects' fixtures, never copied into the repository), or skips the test
// with a clear message when it is absent.
func SharedCorpus(t testing.TB) string {
	t.Helper()
	c := filepath.Join(RepoRoot(t), "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("shared corpus not found at %s: this test compares with other projects' fixtures and needs it", c)
	}
	return c
}
