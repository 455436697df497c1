// Command gen writes the inert sample messages under samples/: for each
// sample, samples/<class>/<slug>/input.eml and meta.json, where class is
// the expected verdict (malicious, suspicious or clean).
//
// Output is byte-for-byte reproducible: fixed dates and MIME boundaries, a
// seeded PRNG, fixed archive member times. Run it from the repository root
// as `go run ./samples/gen`, or through `go generate ./samples`.
//
// Usage:
//
//	gen [-out DIR] [-check]
//
// -out picks the directory (default: the samples directory of the module
// holding the working directory). -check compares the files there with a
// fresh generation, writes nothing, and exits 1 on any difference.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Classes are the expected verdicts, one directory each.
var classes = []string{"malicious", "suspicious", "clean"}

// campaigns are the catalogue keys a sample may name.
var campaigns = []string{
	"emotet", "iqy", "online-video", "locky", "adwind", "karaage", "fifa", "bec",
	"agenttesla", "avaddon", "netwalker", "lnk", "pylocky", "policy", "engine",
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Sample output file names.
const (
	inputName = "input.eml"
	metaName  = "meta.json"
)

// Meta is the content of meta.json.
type Meta struct {
	Slug          string `json:"slug"`
	Campaign      string `json:"campaign"`
	Section       int    `json:"section"`
	Description   string `json:"description"`
	Positive      bool   `json:"positive"`
	ExpectVerdict string `json:"expect_verdict"`
}

// genFile is one generated file; name is slash-separated and relative to
// the output directory.
type genFile struct {
	name string
	data []byte
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("gen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", "", "output directory (default: <module root>/samples)")
	check := fl.Bool("check", false, "compare the existing files with a fresh generation instead of writing")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "gen: unexpected arguments %q\n", fl.Args())
		return 2
	}
	dir := *out
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		dir = filepath.Join(root, "samples")
	}
	files, err := generate(allSamples())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *check {
		problems, err := compare(dir, files)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		if len(problems) > 0 {
			fmt.Fprintf(stderr, "gen: %d difference(s) under %s; run `go run ./samples/gen`\n", len(problems), dir)
			return 1
		}
		fmt.Fprintf(stdout, "gen: %d files up to date under %s\n", len(files), dir)
		return 0
	}
	written, removed, err := write(dir, files)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "gen: %d samples, %d files written, %d stale files removed under %s\n",
		len(files)/2, written, removed, dir)
	return 0
}

// allSamples is the full list: the core samples, the Office ones, the
// ones written to close rule-coverage gaps and the uuencode ones.
func allSamples() []Sample {
	return append(append(append(coreSamples(), officeSamples()...), gapSamples()...), uueSamples()...)
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("gen: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("gen: go.mod not found above the working directory; pass -out")
		}
		dir = parent
	}
}

// validate checks the catalogue's own consistency.
func validate(samples []Sample) error {
	seen := map[string]bool{}
	var errs []error
	for _, s := range samples {
		if !slugRE.MatchString(s.Slug) {
			errs = append(errs, fmt.Errorf("gen: bad slug %q", s.Slug))
		}
		if seen[s.Slug] {
			errs = append(errs, fmt.Errorf("gen: duplicate slug %q", s.Slug))
		}
		seen[s.Slug] = true
		if !slices.Contains(classes, s.Class) {
			errs = append(errs, fmt.Errorf("gen: %s: bad class %q", s.Slug, s.Class))
		}
		if !slices.Contains(campaigns, s.Campaign) {
			errs = append(errs, fmt.Errorf("gen: %s: unknown campaign %q", s.Slug, s.Campaign))
		}
		if s.Section < 0 || s.Section > 17 || (s.Campaign == "engine") != (s.Section == 0) {
			errs = append(errs, fmt.Errorf("gen: %s: section %d does not fit campaign %q", s.Slug, s.Section, s.Campaign))
		}
		if strings.TrimSpace(s.Description) == "" {
			errs = append(errs, fmt.Errorf("gen: %s: no description", s.Slug))
		}
		if s.Build == nil {
			errs = append(errs, fmt.Errorf("gen: %s: no builder", s.Slug))
		}
	}
	return errors.Join(errs...)
}

// generate builds every sample in memory, sorted by file name.
func generate(samples []Sample) ([]genFile, error) {
	if err := validate(samples); err != nil {
		return nil, err
	}
	var files []genFile
	for _, s := range samples {
		eml, err := s.Build()
		if err != nil {
			return nil, fmt.Errorf("gen: %s: %w", s.Slug, err)
		}
		meta, err := json.MarshalIndent(Meta{
			Slug:          s.Slug,
			Campaign:      s.Campaign,
			Section:       s.Section,
			Description:   s.Description,
			Positive:      s.Positive,
			ExpectVerdict: s.Class,
		}, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("gen: %s: %w", s.Slug, err)
		}
		base := path.Join(s.Class, s.Slug)
		files = append(files,
			genFile{name: path.Join(base, inputName), data: eml},
			genFile{name: path.Join(base, metaName), data: append(meta, '\n')})
	}
	slices.SortFunc(files, func(a, b genFile) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

// existing lists the sample files (input.eml, meta.json) present under
// dir/<class>/<slug>/, as slash-separated names relative to dir.
func existing(dir string) ([]string, error) {
	var names []string
	for _, c := range classes {
		entries, err := os.ReadDir(filepath.Join(dir, c))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			for _, f := range []string{inputName, metaName} {
				if _, err := os.Stat(filepath.Join(dir, c, e.Name(), f)); err == nil {
					names = append(names, path.Join(c, e.Name(), f))
				}
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// compare reports every generated file that is missing or different under
// dir, and every sample file there that is no longer generated.
func compare(dir string, files []genFile) ([]string, error) {
	var problems []string
	want := map[string]bool{}
	for _, f := range files {
		want[f.name] = true
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.name)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, "missing: "+f.name)
		case err != nil:
			return nil, fmt.Errorf("gen: %w", err)
		case !bytes.Equal(got, f.data):
			problems = append(problems, fmt.Sprintf("differs: %s (%d bytes on disk, %d generated)", f.name, len(got), len(f.data)))
		}
	}
	have, err := existing(dir)
	if err != nil {
		return nil, err
	}
	for _, n := range have {
		if !want[n] {
			problems = append(problems, "stale: "+n)
		}
	}
	return problems, nil
}

// write writes the files that differ and removes stale sample files (and
// their directory when it ends up empty). Other files are left alone.
func write(dir string, files []genFile) (written, removed int, err error) {
	want := map[string]bool{}
	for _, f := range files {
		want[f.name] = true
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, removed, fmt.Errorf("gen: %w", err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return written, removed, fmt.Errorf("gen: %w", err)
		}
		written++
	}
	have, err := existing(dir)
	if err != nil {
		return written, removed, err
	}
	for _, n := range have {
		if want[n] {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.Remove(p); err != nil {
			return written, removed, fmt.Errorf("gen: %w", err)
		}
		removed++
		// Remove the sample directory only if nothing else is in it.
		if entries, err := os.ReadDir(filepath.Dir(p)); err == nil && len(entries) == 0 {
			if err := os.Remove(filepath.Dir(p)); err != nil {
				return written, removed, fmt.Errorf("gen: %w", err)
			}
		}
	}
	return written, removed, nil
}
