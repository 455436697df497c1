package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"triage/parsers"
	"triage/parsers/mime"
	"triage/pipeline"
	"triage/rules"
)

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: triage [flags] FILE|DIR|- ...
       triage daemon --config FILE | --demo     the SOC mailbox daemon (IMAP)
       triage results [show ID]                  stored daemon results
       triage regress [DIR]                      the sample regression suite
       triage rules lint|coverage                rule checks for rule authors
       triage bench                              triage vs clamscan, yara, sha256sum

Judges each message (.eml, .msg) or bare file (.zip, .lnk, .iqy, .doc, .js …)
as malicious, suspicious or clean, and prints the evidence.

flags:
  --json            one JSON object per input (JSON Lines for several inputs)
  --rules DIR       add the YARA rules below DIR (repeatable)
  --only-rules      use only the --rules directories, not the built-in rules
  --extract DIR     write every extracted artifact under DIR (generated names)
  --jobs N          parallel workers for several inputs (default: CPU count)
  --timeout D       per-message deadline (default 10s)
  --max-input N     largest input read, in bytes (default 64 MiB)
  --text-max N      bytes of derived text kept per artifact in the report
  --limits FILE     JSON file of limits (field names as in "limits" of --help-limits)
  --help-limits     print the default limits as JSON
  --signals FILE    JSON overriding the mail-level signals (lure_subjects,
                    payment_words, prize_words, brands, japanese_tenants,
                    disabled: a list of mail.* codes to turn off)
  --rule-cache DIR  keep compiled rules here for fast start-up (default: the
                    user cache dir; "" compiles every time)
  --no-rule-scope   scan every artifact with every rule (by default a rule
                    is left out where its condition is certainly false, e.g.
                    filetype == "vba" on a PDF: same matches, less work)

exit codes: 0 clean, 1 suspicious, 2 malicious, 3 error.
`)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runTriage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("triage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	var (
		asJSON     = fs.Bool("json", false, "")
		ruleDirs   multiFlag
		onlyRules  = fs.Bool("only-rules", false, "")
		extractDir = fs.String("extract", "", "")
		jobs       = fs.Int("jobs", runtime.GOMAXPROCS(0), "")
		timeout    = fs.Duration("timeout", 0, "")
		maxInput   = fs.Int64("max-input", 0, "")
		textMax    = fs.Int("text-max", 0, "")
		limitsFile = fs.String("limits", "", "")
		ruleCache  = fs.String("rule-cache", rules.DefaultCacheDir(), "")
		noScope    = fs.Bool("no-rule-scope", false, "")
		signals    = fs.String("signals", "", "")
		helpLimits = fs.Bool("help-limits", false, "")
	)
	fs.Var(&ruleDirs, "rules", "")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if *helpLimits {
		b, _ := json.MarshalIndent(parsers.DefaultLimits(), "", "  ")
		fmt.Fprintln(stdout, string(b))
		return exitClean
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		usage(stderr)
		return exitError
	}
	if *onlyRules && len(ruleDirs) == 0 {
		fmt.Fprintln(stderr, "triage: --only-rules needs at least one --rules DIR")
		return exitError
	}
	limits := parsers.Limits{}
	if *limitsFile != "" {
		b, err := os.ReadFile(*limitsFile)
		if err != nil {
			fmt.Fprintf(stderr, "triage: %v\n", err)
			return exitError
		}
		if err := json.Unmarshal(b, &limits); err != nil {
			fmt.Fprintf(stderr, "triage: limits %s: %v\n", *limitsFile, err)
			return exitError
		}
	}
	if *timeout > 0 {
		limits.TimeoutMillis = int(timeout.Milliseconds())
	}
	if *maxInput > 0 {
		limits.MaxInputBytes = *maxInput
	}
	if *textMax > 0 {
		limits.MaxTextBytes = *textMax
	}
	set, err := rules.Load(rules.Options{Dirs: ruleDirs, NoBuiltin: *onlyRules, CacheDir: *ruleCache})
	if err != nil {
		fmt.Fprintf(stderr, "triage: %v\n", err)
		return exitError
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(stderr, "triage: rule warning: %s\n", w)
	}
	if *noScope {
		set = set.WithoutScope()
	}
	var ps []parsers.Parser
	if *signals != "" {
		sig := mime.DefaultSignals()
		b, err := os.ReadFile(*signals)
		if err == nil {
			err = json.Unmarshal(b, &sig)
		}
		if err == nil {
			ps, err = pipeline.DefaultParsersWith(sig)
		}
		if err != nil {
			fmt.Fprintf(stderr, "triage: signals %s: %v\n", *signals, err)
			return exitError
		}
	}
	eng, err := pipeline.New(pipeline.Config{Limits: limits, Rules: set, KeepData: *extractDir != "", Parsers: ps})
	if err != nil {
		fmt.Fprintf(stderr, "triage: %v\n", err)
		return exitError
	}
	files, err := expandInputs(inputs)
	if err != nil {
		fmt.Fprintf(stderr, "triage: %v\n", err)
		return exitError
	}
	if *jobs < 1 {
		*jobs = 1
	}
	worst := exitClean
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := false
	// Results are printed in input order as soon as they and all earlier
	// ones are done; extraction happens in the worker, so no artifact bytes
	// wait for the printer.
	triageAll(ctx, eng, files, stdin, *jobs, func(i int, res *result) {
		if *extractDir != "" && res.rep != nil {
			if err := extract(*extractDir, i, len(files), res.rep); err != nil {
				res.err = fmt.Errorf("extract: %w", err)
			}
			for _, a := range res.rep.Artifacts {
				a.DropData()
			}
		}
	}, func(i int, res *result) {
		code := exitError
		if res.err != nil {
			fmt.Fprintf(stderr, "triage: %s: %v\n", res.name, res.err)
		}
		if res.rep != nil {
			code = verdictCode(res.rep.Verdict)
			if *asJSON {
				if err := enc.Encode(res.rep); err != nil {
					fmt.Fprintf(stderr, "triage: %v\n", err)
					failed = true
				}
			} else {
				if i > 0 {
					fmt.Fprintln(stdout)
				}
				printReport(stdout, res.rep)
			}
		}
		if res.err != nil {
			code = exitError
		}
		if rank(code) > rank(worst) {
			worst = code
		}
	})
	if failed {
		return exitError
	}
	return worst
}

func rank(code int) int {
	if code == exitError {
		return 10
	}
	return code
}

func verdictCode(v string) int {
	switch v {
	case pipeline.Malicious:
		return exitMalicious
	case pipeline.Suspicious:
		return exitSuspicious
	}
	return exitClean
}

// expandInputs turns directories into the regular files below them, sorted.
func expandInputs(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		if in == "-" {
			out = append(out, in)
			continue
		}
		st, err := os.Stat(in)
		if err != nil {
			out = append(out, in) // reported per input, with the others judged
			continue
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		var files []string
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

type result struct {
	name string
	rep  *pipeline.Report
	err  error
}

// triageAll judges files with a bounded worker pool. work runs in the
// worker right after each input; emit runs in input order, one at a time.
// Workers run at most 32*jobs inputs ahead of the printer, so memory stays
// bounded however many inputs there are.
func triageAll(ctx context.Context, eng *pipeline.Engine, files []string, stdin io.Reader, jobs int, work, emit func(int, *result)) {
	var (
		mu      sync.Mutex
		pending = map[int]*result{}
		next    int
		// Results wait here for the ones before them. The window must
		// outlast one large message: at 4 per worker, the other workers
		// ran out of room behind an 8 MB message within a few ms and sat
		// idle (triage bench: the CLI row 25% slower than the API row).
		ahead = make(chan struct{}, 32*jobs)
		idx   = make(chan int)
		wg    sync.WaitGroup
	)
	for w := 0; w < jobs && w < len(files); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				res := triageOne(ctx, eng, files[i], stdin)
				work(i, &res)
				mu.Lock()
				pending[i] = &res
				for r, ok := pending[next]; ok; r, ok = pending[next] {
					delete(pending, next)
					emit(next, r)
					next++
					<-ahead
				}
				mu.Unlock()
			}
		}()
	}
	for i := range files {
		ahead <- struct{}{}
		idx <- i
	}
	close(idx)
	wg.Wait()
}

func triageOne(ctx context.Context, eng *pipeline.Engine, name string, stdin io.Reader) result {
	var r io.Reader
	display := name
	if name == "-" {
		r, display = stdin, "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return result{name: name, err: err}
		}
		defer f.Close()
		r = f
		display = filepath.Base(name)
	}
	rep, err := eng.TriageReader(ctx, display, r)
	return result{name: name, rep: rep, err: err}
}

// extract writes each artifact as DIR/[<input#>/]<id>_<type>.bin: names are
// generated, never taken from the message.
func extract(dir string, i, n int, rep *pipeline.Report) error {
	base := dir
	if n > 1 {
		base = filepath.Join(dir, fmt.Sprintf("%04d", i+1))
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	var index strings.Builder
	for _, a := range rep.Artifacts {
		data := a.Data()
		if data == nil && a.Size > 0 {
			continue
		}
		fn := fmt.Sprintf("%s_%s.bin", a.ID, safeWord(a.Type))
		if err := os.WriteFile(filepath.Join(base, fn), data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&index, "%s\t%s\t%s\t%q\n", fn, a.SHA256, a.Type, a.Name)
	}
	return os.WriteFile(filepath.Join(base, "index.tsv"), []byte(index.String()), 0o644)
}

func safeWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "bin"
	}
	return b.String()
}
