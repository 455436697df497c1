package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readTree returns every regular file under dir keyed by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func runGen(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String() + errb.String()
}

// TestReproducible generates twice into two directories and compares
// every byte.
func TestReproducible(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	for _, d := range []string{d1, d2} {
		if code, out := runGen(t, "-out", d); code != 0 {
			t.Fatalf("gen -out %s: exit %d\n%s", d, code, out)
		}
	}
	a, b := readTree(t, d1), readTree(t, d2)
	if want := 2 * len(allSamples()); len(a) != want {
		t.Fatalf("first run wrote %d files, want %d", len(a), want)
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			t.Errorf("%s only in the second run", name)
		}
	}
}

// TestCheckAndPrune covers -check (clean, changed, stale) and the removal
// of stale samples on write.
func TestCheckAndPrune(t *testing.T) {
	dir := t.TempDir()
	if code, out := runGen(t, "-out", dir); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, out)
	}
	if code, out := runGen(t, "-out", dir, "-check"); code != 0 {
		t.Fatalf("gen -check on fresh output: exit %d\n%s", code, out)
	}

	victim := filepath.Join(dir, "malicious", "iqy-jp-photo", "input.eml")
	if err := os.WriteFile(victim, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runGen(t, "-out", dir, "-check")
	if code != 1 || !strings.Contains(out, "differs: malicious/iqy-jp-photo/input.eml") {
		t.Errorf("gen -check after an edit: exit %d\n%s", code, out)
	}

	stale := filepath.Join(dir, "clean", "old-sample")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{inputName, metaName} {
		if err := os.WriteFile(filepath.Join(stale, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep := filepath.Join(dir, "clean", "newsletter-ja", "notes.txt")
	if err := os.WriteFile(keep, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runGen(t, "-out", dir, "-check")
	if code != 1 || !strings.Contains(out, "stale: clean/old-sample/input.eml") {
		t.Errorf("gen -check with a stale sample: exit %d\n%s", code, out)
	}

	if code, out := runGen(t, "-out", dir); code != 0 {
		t.Fatalf("gen: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale sample directory still there: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
	if code, out := runGen(t, "-out", dir, "-check"); code != 0 {
		t.Errorf("gen -check after regeneration: exit %d\n%s", code, out)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}} {
		if code, _ := runGen(t, args...); code != 2 {
			t.Errorf("gen %q: exit %d, want 2", args, code)
		}
	}
}

// TestCommittedSamplesUpToDate fails when the files under samples/ are not
// what the generator produces now: regenerate with `go run ./samples/gen`
// and commit.
func TestCommittedSamplesUpToDate(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := generate(allSamples())
	if err != nil {
		t.Fatal(err)
	}
	problems, err := compare(filepath.Join(root, "samples"), files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Log("the committed samples are stale: run `go run ./samples/gen` and commit the result")
	}
}

func TestValidateRejects(t *testing.T) {
	build := func() ([]byte, error) { return nil, nil }
	good := Sample{"clean", "ok", "engine", 0, "d", false, build}
	tests := []struct {
		name string
		mut  func(*Sample)
	}{
		{"bad_class", func(s *Sample) { s.Class = "benign" }},
		{"bad_slug", func(s *Sample) { s.Slug = "Bad Slug" }},
		{"unknown_campaign", func(s *Sample) { s.Campaign = "nope" }},
		{"engine_with_section", func(s *Sample) { s.Section = 5 }},
		{"campaign_without_section", func(s *Sample) { s.Campaign = "iqy" }},
		{"no_description", func(s *Sample) { s.Description = " " }},
		{"no_builder", func(s *Sample) { s.Build = nil }},
	}
	if err := validate([]Sample{good}); err != nil {
		t.Fatalf("validate(good) = %v", err)
	}
	if err := validate([]Sample{good, good}); err == nil {
		t.Error("duplicate slug accepted")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mut(&s)
			if err := validate([]Sample{s}); err == nil {
				t.Errorf("validate accepted %+v", s)
			}
		})
	}
}

func TestMetaJSON(t *testing.T) {
	files, err := generate([]Sample{{"suspicious", "x-y", "iqy", 5, "desc", true, func() ([]byte, error) { return []byte("eml"), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "slug": "x-y",
  "campaign": "iqy",
  "section": 5,
  "description": "desc",
  "positive": true,
  "expect_verdict": "suspicious"
}
`
	if len(files) != 2 || files[0].name != "suspicious/x-y/input.eml" || files[1].name != "suspicious/x-y/meta.json" {
		t.Fatalf("files = %v", files)
	}
	if got := string(files[1].data); got != want {
		t.Errorf("meta.json:\n%s\nwant:\n%s", got, want)
	}
}
