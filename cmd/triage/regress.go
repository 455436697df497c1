package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"triage/pipeline"
	"triage/rules"
	"triage/samples/regress"
)

// defaultSamplesDir finds the bundled samples: ./samples from the repository
// root, or next to the binary's parent directory.
func defaultSamplesDir() string {
	for _, c := range []string{"samples", filepath.Join("..", "samples")} {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	if exe, err := os.Executable(); err == nil {
		c := filepath.Join(filepath.Dir(filepath.Dir(exe)), "samples")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	return "samples"
}

type suiteFlags struct {
	ruleDirs  multiFlag
	onlyRules bool
	update    bool
}

func (s *suiteFlags) register(fs *flag.FlagSet, withUpdate bool) {
	fs.Var(&s.ruleDirs, "rules", "add the YARA rules below DIR (repeatable)")
	fs.BoolVar(&s.onlyRules, "only-rules", false, "use only the --rules directories")
	if withUpdate {
		fs.BoolVar(&s.update, "update", false, "rewrite each sample's want.json from the current results")
	}
}

// runSuite loads rules, finds the samples and runs them all.
func runSuite(ctx context.Context, dir string, sf suiteFlags) (*rules.Set, []regress.Result, error) {
	set, err := rules.Load(rules.Options{Dirs: sf.ruleDirs, NoBuiltin: sf.onlyRules})
	if err != nil {
		return nil, nil, err
	}
	eng, err := pipeline.New(pipeline.Config{Rules: set})
	if err != nil {
		return nil, nil, err
	}
	list, err := regress.Find(dir)
	if err != nil {
		return nil, nil, err
	}
	results := make([]regress.Result, 0, len(list))
	for _, s := range list {
		res := regress.Run(ctx, eng, s)
		if sf.update && res.Report != nil {
			if err := regress.WriteGolden(res); err != nil {
				return nil, nil, err
			}
			res = regress.Run(ctx, eng, s)
		}
		results = append(results, res)
	}
	return set, results, nil
}

// runRegress: triage regress [DIR] — the rule author's loop.
func runRegress(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("regress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf suiteFlags
	sf.register(fs, true)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: triage regress [--rules DIR] [--only-rules] [--update] [SAMPLES_DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	dir := defaultSamplesDir()
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	start := time.Now()
	_, results, err := runSuite(ctx, dir, sf)
	if err != nil {
		fmt.Fprintf(stderr, "triage regress: %v\n", err)
		return exitError
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SAMPLE\tEXPECTED\tGOT\tSCORE\tRULES FIRED\tTIME\tRESULT")
	failed := 0
	for _, r := range results {
		status := "ok"
		if !r.OK() {
			status = "FAIL"
			failed++
		}
		fired := strings.Join(r.Got.Rules, ",")
		if fired == "" {
			fired = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.1fms\t%s\n", r.Sample.Dir, r.Sample.Class, r.Got.Verdict, r.Got.Score, fired, float64(r.Duration.Microseconds())/1000, status)
	}
	tw.Flush()
	for _, r := range results {
		if r.OK() {
			continue
		}
		fmt.Fprintf(stdout, "\n%s:\n", r.Sample.Dir)
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
	}
	fmt.Fprintf(stdout, "\n%d passed, %d failed (%d samples in %.2fs)\n", len(results)-failed, failed, len(results), time.Since(start).Seconds())
	if failed > 0 {
		return 1
	}
	return 0
}

// runRules: triage rules lint|coverage [SAMPLES_DIR].
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "lint" && args[0] != "coverage") {
		fmt.Fprintln(stderr, "usage: triage rules lint|coverage [--rules DIR] [--only-rules] [SAMPLES_DIR]")
		return exitError
	}
	sub := args[0]
	fs := flag.NewFlagSet("rules "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf suiteFlags
	sf.register(fs, false)
	if err := fs.Parse(args[1:]); err != nil {
		return exitError
	}
	dir := defaultSamplesDir()
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	set, results, err := runSuite(ctx, dir, sf)
	if err != nil {
		fmt.Fprintf(stderr, "triage rules: %v\n", err)
		return exitError
	}
	if sub == "lint" {
		probs := regress.Lint(set, results)
		for _, p := range probs {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stdout, "%d rules in %d files, %d problems\n", len(set.Meta), len(set.Files), len(probs))
		if len(probs) > 0 {
			return 1
		}
		return 0
	}
	cov := regress.ComputeCoverage(set, results)
	tw := tabwriter.NewWriter(stdout, 0, 0, 1, ' ', 0)
	fmt.Fprint(tw, "RULE \\ SAMPLE")
	for i := range cov.Samples {
		fmt.Fprintf(tw, "\t%d", i+1)
	}
	fmt.Fprintln(tw, "\tHITS")
	for _, r := range cov.Rules {
		fmt.Fprint(tw, r)
		n := 0
		for _, s := range cov.Samples {
			mark := "."
			if cov.Hits[r][s] {
				mark, n = "X", n+1
			}
			fmt.Fprintf(tw, "\t%s", mark)
		}
		fmt.Fprintf(tw, "\t%d\n", n)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nsamples:")
	for i, s := range cov.Samples {
		fmt.Fprintf(stdout, "  %2d %s\n", i+1, s)
	}
	if len(cov.Gaps) == 0 {
		fmt.Fprintln(stdout, "\ncatalogue coverage: every email-borne campaign has a rule, a positive and a negative sample")
		return 0
	}
	fmt.Fprintln(stdout, "\ncatalogue gaps:")
	for _, g := range cov.Gaps {
		fmt.Fprintf(stdout, "  %s\n", g)
	}
	return 1
}
