package pipeline

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"triage/pipeline/benchcorpus"
	"triage/rules"
)

// TestRuleScope_sameMatchesAsEveryRule: scanning each artifact only with
// the rules its file type, parent, extension, depth and derivation leave
// possible (rules.Set.Scan) finds exactly what scanning every artifact with
// every rule finds, on every sample, every shared-corpus file and a mixed
// benchmark corpus.
func TestRuleScope_sameMatchesAsEveryRule(t *testing.T) {
	set, err := rules.Load(rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := set.Scoped(); !ok {
		t.Fatalf("built-in rules not scoped: %s", why)
	}
	scoped, err := New(Config{Rules: set})
	if err != nil {
		t.Fatal(err)
	}
	full, err := New(Config{Rules: set.WithoutScope()})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	add := func(root string) {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && filepath.Ext(p) != ".json" {
				inputs = append(inputs, p)
			}
			return nil
		})
	}
	add(filepath.Join("..", "samples"))
	if dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "corpus")); err == nil {
		if _, err := os.Stat(dir); err == nil {
			add(dir)
		} else {
			t.Logf("shared corpus not found at %s: checking samples and the bench corpus only", dir)
		}
	}
	bench := t.TempDir()
	if _, err := benchcorpus.Generate(benchcorpus.Options{Dir: bench, Size: 4e6, Seed: 3, SamplesDir: filepath.Join("..", "samples")}); err != nil {
		t.Fatal(err)
	}
	add(bench)

	ctx := context.Background()
	artifacts, matched := 0, 0
	for _, p := range inputs {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		a, errA := scoped.Triage(ctx, filepath.Base(p), data)
		b, errB := full.Triage(ctx, filepath.Base(p), data)
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v / %v", p, errA, errB)
		}
		if len(a.Artifacts) != len(b.Artifacts) {
			t.Errorf("%s: %d artifacts scoped, %d with every rule", p, len(a.Artifacts), len(b.Artifacts))
			continue
		}
		for i := range a.Artifacts {
			x, y := slices.Sorted(slices.Values(a.Artifacts[i].YARA)), slices.Sorted(slices.Values(b.Artifacts[i].YARA))
			if !slices.Equal(x, y) {
				t.Errorf("%s: artifact %s (%s, %s): scoped scan matched %v, every rule %v", p, a.Artifacts[i].ID, a.Artifacts[i].Type, a.Artifacts[i].Name, x, y)
			}
			artifacts++
			matched += len(y)
		}
		if a.Verdict != b.Verdict || a.Score != b.Score {
			t.Errorf("%s: verdict %s/%d scoped, %s/%d with every rule", p, a.Verdict, a.Score, b.Verdict, b.Score)
		}
	}
	if matched < 50 {
		t.Errorf("only %d rule matches over %d artifacts: the comparison proves little", matched, artifacts)
	}
	t.Logf("%d inputs, %d artifacts, %d rule matches: identical", len(inputs), artifacts, matched)
}
