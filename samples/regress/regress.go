// Package regress runs the sample regression suite: every sample directory
// (`<class>/<slug>/input.eml` with `meta.json` and a golden `want.json`) is
// triaged and its summary compared with the golden.
package regress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"triage/pipeline"
)

// Meta is a sample's meta.json.
type Meta struct {
	Slug          string `json:"slug"`
	Campaign      string `json:"campaign"`
	Section       int    `json:"section"`
	Description   string `json:"description"`
	Positive      bool   `json:"positive"`
	ExpectVerdict string `json:"expect_verdict"`
}

// Summary is what a golden records: the parts of a report a rule author
// cares about, in a stable order.
type Summary struct {
	Verdict   string   `json:"verdict"`
	Score     int      `json:"score"`
	Subject   string   `json:"subject"`
	Rules     []string `json:"rules"`    // YARA rules that matched, sorted
	Findings  []string `json:"findings"` // finding codes with severity, sorted
	URLs      []string `json:"urls"`
	Artifacts []string `json:"artifacts"` // "id type name"
}

// Summarize reduces a report to its golden summary.
func Summarize(r *pipeline.Report) Summary {
	s := Summary{Verdict: r.Verdict, Score: r.Score, Subject: r.Message.Subject, Rules: []string{}, Findings: []string{}, URLs: append([]string{}, r.IOCs.URLs...), Artifacts: []string{}}
	rules := map[string]bool{}
	finds := map[string]bool{}
	for _, a := range r.Artifacts {
		for _, y := range a.YARA {
			rules[y] = true
		}
		for _, f := range a.Findings {
			finds[f.Code+" ("+f.Severity.String()+")"] = true
		}
		s.Artifacts = append(s.Artifacts, fmt.Sprintf("%s %s %s", a.ID, a.Type, a.Name))
	}
	for k := range rules {
		s.Rules = append(s.Rules, k)
	}
	for k := range finds {
		s.Findings = append(s.Findings, k)
	}
	sort.Strings(s.Rules)
	sort.Strings(s.Findings)
	sort.Strings(s.URLs)
	return s
}

// Sample is one sample directory.
type Sample struct {
	Dir   string // relative to the suite root, e.g. "malicious/iqy-jp-photo"
	Class string // malicious, suspicious, clean: the directory it sits in
	Meta  Meta
	Input string // path of input.eml
	Want  string // path of want.json
}

// Find lists the samples below root, sorted.
func Find(root string) ([]Sample, error) {
	var out []Sample
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != "input.eml" {
			return nil
		}
		dir := filepath.Dir(p)
		rel, _ := filepath.Rel(root, dir)
		s := Sample{Dir: filepath.ToSlash(rel), Input: p, Want: filepath.Join(dir, "want.json")}
		s.Class = strings.SplitN(s.Dir, "/", 2)[0]
		if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil {
			if err := json.Unmarshal(b, &s.Meta); err != nil {
				return fmt.Errorf("regress: %s/meta.json: %w", s.Dir, err)
			}
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	if len(out) == 0 {
		return nil, fmt.Errorf("regress: no samples (*/*/input.eml) below %s", root)
	}
	return out, nil
}

// Result is one sample's outcome.
type Result struct {
	Sample   Sample
	Got      Summary
	Want     *Summary // nil when there is no golden yet
	Report   *pipeline.Report
	Duration time.Duration
	// Problems lists every mismatch, readable: empty means pass.
	Problems []string
}

// OK reports whether the sample passed.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// Run triages one sample and compares it with its class and golden.
func Run(ctx context.Context, eng *pipeline.Engine, s Sample) Result {
	res := Result{Sample: s}
	data, err := os.ReadFile(s.Input)
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res
	}
	start := time.Now()
	rep, err := eng.Triage(ctx, filepath.Base(s.Input), data)
	res.Duration = time.Since(start)
	if err != nil {
		res.Problems = append(res.Problems, "triage: "+err.Error())
		return res
	}
	res.Report = rep
	res.Got = Summarize(rep)
	if s.Class != res.Got.Verdict {
		res.Problems = append(res.Problems, fmt.Sprintf("verdict %s, but the sample sits in %s/", res.Got.Verdict, s.Class))
	}
	if s.Meta.ExpectVerdict != "" && s.Meta.ExpectVerdict != s.Class {
		res.Problems = append(res.Problems, fmt.Sprintf("meta.json expects %s but the sample sits in %s/", s.Meta.ExpectVerdict, s.Class))
	}
	b, err := os.ReadFile(s.Want)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.Problems = append(res.Problems, "no want.json golden yet (run with -update)")
	case err != nil:
		res.Problems = append(res.Problems, err.Error())
	default:
		var w Summary
		if err := json.Unmarshal(b, &w); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("want.json: %v", err))
		} else {
			res.Want = &w
			res.Problems = append(res.Problems, Diff(w, res.Got)...)
		}
	}
	return res
}

// WriteGolden writes the result's summary as the sample's want.json.
func WriteGolden(r Result) error {
	b, err := json.MarshalIndent(r.Got, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(r.Sample.Want, append(b, '\n'), 0o644)
}

// Diff explains how got differs from want, one line per difference.
func Diff(want, got Summary) []string {
	var out []string
	if want.Verdict != got.Verdict {
		out = append(out, fmt.Sprintf("verdict: want %s, got %s", want.Verdict, got.Verdict))
	}
	if want.Score != got.Score {
		out = append(out, fmt.Sprintf("score: want %d, got %d", want.Score, got.Score))
	}
	if want.Subject != got.Subject {
		out = append(out, fmt.Sprintf("subject: want %q, got %q", want.Subject, got.Subject))
	}
	out = append(out, setDiff("rule", want.Rules, got.Rules)...)
	out = append(out, setDiff("finding", want.Findings, got.Findings)...)
	out = append(out, setDiff("url", want.URLs, got.URLs)...)
	out = append(out, setDiff("artifact", want.Artifacts, got.Artifacts)...)
	return out
}

func setDiff(what string, want, got []string) []string {
	w := map[string]bool{}
	for _, x := range want {
		w[x] = true
	}
	g := map[string]bool{}
	for _, x := range got {
		g[x] = true
	}
	var out []string
	for _, x := range want {
		if !g[x] {
			out = append(out, fmt.Sprintf("- %s %s (expected, no longer produced)", what, x))
		}
	}
	for _, x := range got {
		if !w[x] {
			out = append(out, fmt.Sprintf("+ %s %s (new, not in golden)", what, x))
		}
	}
	return out
}
