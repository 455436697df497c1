package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"triage/parsers"
	"triage/pipeline"
	"triage/pipeline/benchcorpus"
	"triage/rules"
)

// benchRow is one measured run.
type benchRow struct {
	name     string
	wall     time.Duration
	msgs     int
	bytes    int64 // bytes the tool read
	p50, p99 time.Duration
	perMsg   time.Duration // wall × parallel / messages
	rssKB    int64         // peak RSS of the (largest) process
	cpu      time.Duration // user + system
	procs    int           // processes run in parallel (0: in-process)
	note     string
	err      error
}

func (r benchRow) mbps() float64 {
	return float64(r.bytes) / 1e6 / r.wall.Seconds()
}

func (r benchRow) msgps() float64 { return float64(r.msgs) / r.wall.Seconds() }

// runBench: triage bench — generate the mixed corpus and measure triage
// (CLI batch mode and the pipeline API) against clamscan, the yara CLI and
// sha256sum on the same bytes, in one run.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		sizeMB     = fs.Int("size", 100, "corpus size in MB (1e6 bytes)")
		seed       = fs.Uint64("seed", 1, "corpus PRNG seed")
		dir        = fs.String("dir", "", "write the corpus and work files below DIR and keep them (default: a temporary directory, removed)")
		jobs       = fs.Int("jobs", runtime.GOMAXPROCS(0), "parallel workers for every tool")
		peers      = fs.Bool("peers", true, "also run clamscan, yara and sha256sum")
		samples    = fs.String("samples", defaultSamplesDir(), "bundled samples used as templates")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the in-process run to FILE")
		memProfile = fs.String("memprofile", "", "write an allocation profile of the in-process run to FILE")
		startRuns  = fs.Int("startup-runs", 7, "one-shot runs per tool for the start-up comparison")
		scopeRow   = fs.Bool("scope-row", true, "also run the API with every rule on every artifact (--no-rule-scope)")
	)
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if *jobs < 1 {
		*jobs = 1
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "triage bench: %v\n", err)
		return exitError
	}
	base := *dir
	if base == "" {
		tmp, err := os.MkdirTemp("", "triage-bench-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(tmp)
		base = tmp
	}
	corpusDir := filepath.Join(base, "corpus")
	if err := os.RemoveAll(corpusDir); err != nil {
		return fail(err)
	}
	fmt.Fprintf(stderr, "generating %d MB corpus in %s …\n", *sizeMB, corpusDir)
	start := time.Now()
	man, err := benchcorpus.Generate(benchcorpus.Options{Dir: corpusDir, Size: int64(*sizeMB) * 1e6, Seed: *seed, SamplesDir: *samples})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stderr, "corpus: %d messages, %.1f MB in %v\n", len(man.Files), float64(man.Bytes)/1e6, time.Since(start).Round(time.Millisecond))
	files := make([]string, len(man.Files))
	sizes := make([]int64, len(man.Files))
	for i, f := range man.Files {
		files[i], sizes[i] = f.Path, f.Size
	}
	// Flush the new files so that write-back does not compete with the
	// first tools measured, then warm the page cache: every tool reads the
	// same cached bytes.
	syscall.Sync()
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			_ = b
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	// The same compiled-rule cache as the CLI: a long-running process
	// compiles each rule selection once; the cache keeps that out of a
	// throughput figure.
	set, err := rules.Load(rules.Options{CacheDir: rules.DefaultCacheDir()})
	if err != nil {
		return fail(err)
	}
	limits := parsers.DefaultLimits()
	load0 := loadAvg()
	b := &bencher{ctx: ctx, jobs: *jobs, stderr: stderr, files: files, sizes: sizes, bytes: man.Bytes}
	var rows []benchRow

	if *peers {
		rows = append(rows, b.sha256sum())
	}
	cli := b.triageCLI(exe)
	rows = append(rows, cli)
	api := b.triageAPI("triage API (in-process)", set, limits, *cpuProfile, *memProfile)
	rows = append(rows, api)
	if *scopeRow {
		rows = append(rows, b.triageAPI("triage API, --no-rule-scope", set.WithoutScope(), limits, "", ""))
	}

	var clam, yr benchRow
	var startTriage, startYara time.Duration
	var ruleNote string
	if *peers {
		work := filepath.Join(base, "work")
		os.RemoveAll(work)
		ruleDir := filepath.Join(work, "rules")
		srcs, err := rules.Builtin()
		if err != nil {
			return fail(err)
		}
		yaraFiles, err := writeRules(ruleDir, srcs)
		if err != nil {
			return fail(err)
		}
		extractDir := filepath.Join(work, "extract")
		ex := b.triageExtract(exe, extractDir)
		rows = append(rows, ex)
		yr = b.yaraExtracted(yaraFiles, extractDir)
		rows = append(rows, yr)
		clamDir := filepath.Join(work, "clamav")
		loaded, dropped, err := clamRules(ctx, clamDir, srcs)
		if err != nil {
			clam = benchRow{name: "clamscan", err: err}
		} else {
			ruleNote = fmt.Sprintf("clamscan loaded %d of triage's %d rules", loaded, len(set.Meta))
			if len(dropped) > 0 {
				ruleNote += fmt.Sprintf(" (not expressible without triage's per-artifact variables: %s)", strings.Join(dropped, ", "))
			}
			clam = b.clamscan(clamDir, limits)
		}
		rows = append(rows, clam)
		sample := smallest(files, sizes)
		startTriage = b.median(*startRuns, exe, sample)
		startYara = b.median(*startRuns, "yara", append(append(yaraDefines(), yaraFiles...), sample)...)
	}

	// Report.
	fmt.Fprintf(stdout, "triage bench — %d messages, %.1f MB (", len(files), float64(man.Bytes)/1e6)
	for i, k := range benchcorpus.Kinds {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprintf(stdout, "%s %d", k, man.Count(k))
	}
	lo, hi := minMax(sizes)
	fmt.Fprintf(stdout, "), %s to %s per message, seed %d, %d templates\n", humanBytes(lo), humanBytes(hi), *seed, man.Templates)
	fmt.Fprintf(stdout, "machine: %d CPUs, GOMAXPROCS %d, %d workers per tool, %s (%s); load average at start %s, at end %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), *jobs, runtime.Version(), gcSettings(), load0, loadAvg())
	fmt.Fprintln(stdout, "(wall-clock figures need an otherwise idle machine; the CPU s column does not)")
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\twall s\tmsgs/s\tMB/s\tms/msg\tp50 ms\tp99 ms\tpeak RSS MB\tCPU s\t")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t(failed: %v)\t\t\t\t\t\t\t\t\n", r.name, r.err)
			continue
		}
		p50, p99 := "-", "-"
		if r.p50 > 0 {
			p50, p99 = ms(r.p50), ms(r.p99)
		}
		rss := fmt.Sprintf("%.0f", float64(r.rssKB)/1024)
		if r.procs > 1 {
			rss += fmt.Sprintf(" ×%d", r.procs)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%.2f\t\n", r.name, r.wall.Seconds(), r.msgps(), r.mbps(), ms(r.perMsg), p50, p99, rss, r.cpu.Seconds())
	}
	tw.Flush()
	for _, r := range rows {
		if r.note != "" && r.err == nil {
			fmt.Fprintf(stdout, "  %s: %s\n", r.name, r.note)
		}
	}
	if ruleNote != "" {
		fmt.Fprintf(stdout, "  %s\n", ruleNote)
	}
	fmt.Fprintln(stdout)
	if *peers {
		fmt.Fprintln(stdout, "ratios (targets from issue 6):")
		if clam.err == nil && clam.wall > 0 {
			fmt.Fprintf(stdout, "  throughput triage API / clamscan  %6.2f×  (target ≥ 3)\n", api.mbps()/clam.mbps())
			fmt.Fprintf(stdout, "  throughput triage CLI / clamscan  %6.2f×\n", cli.mbps()/clam.mbps())
		}
		if sha := rows[0]; sha.err == nil && sha.wall > 0 {
			fmt.Fprintf(stdout, "  wall triage API / sha256sum        %6.2f×  (target ≤ 5)\n", api.wall.Seconds()/sha.wall.Seconds())
			fmt.Fprintf(stdout, "  wall triage CLI / sha256sum        %6.2f×\n", cli.wall.Seconds()/sha.wall.Seconds())
		}
		if yr.err == nil && yr.wall > 0 {
			fmt.Fprintf(stdout, "  wall triage CLI / yara -r on its extracted artifacts  %6.2f×\n", cli.wall.Seconds()/yr.wall.Seconds())
		}
		if startYara > 0 {
			fmt.Fprintf(stdout, "  one-shot start-up: triage %s ms, yara %s ms → %.2f×  (target ≤ 2)\n", ms(startTriage), ms(startYara), startTriage.Seconds()/startYara.Seconds())
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stdout, "reproduce: make bench-peers BENCH_SIZE=%d   (or: bin/triage bench --size %d --seed %d --jobs %d)\n", *sizeMB, *sizeMB, *seed, *jobs)
	for _, r := range rows {
		if r.err != nil {
			return exitError
		}
	}
	return exitClean
}

type bencher struct {
	ctx    context.Context
	jobs   int
	stderr io.Writer
	files  []string
	sizes  []int64
	bytes  int64
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func minMax(v []int64) (lo, hi int64) {
	for i, x := range v {
		if i == 0 || x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return lo, hi
}

func smallest(files []string, sizes []int64) string {
	best := 0
	for i := range files {
		if sizes[i] < sizes[best] {
			best = i
		}
	}
	return files[best]
}

// percentile returns the p-th percentile (0..1) of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

// partitions splits the files into n groups of about equal bytes.
func (b *bencher) partitions(n int) [][]string {
	idx := make([]int, len(b.files))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(x, y int) bool { return b.sizes[idx[x]] > b.sizes[idx[y]] })
	groups := make([][]string, n)
	load := make([]int64, n)
	for _, i := range idx {
		g := 0
		for k := 1; k < n; k++ {
			if load[k] < load[g] {
				g = k
			}
		}
		groups[g] = append(groups[g], b.files[i])
		load[g] += b.sizes[i]
	}
	return groups
}

// procResult is one finished subprocess.
type procResult struct {
	wall  time.Duration
	rssKB int64
	cpu   time.Duration
	code  int
	err   error
}

// run starts one command and waits for it. Its peak RSS is polled from
// /proc/PID/status (VmHWM) while it runs: the rusage Maxrss of a child
// started by Go also counts this process's own pages (the child shares our
// address space until it execs), so it would report this process's size.
func (b *bencher) run(stdout io.Writer, name string, args ...string) procResult {
	cmd := exec.CommandContext(b.ctx, name, args...)
	cmd.Stdout = stdout
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procResult{err: err}
	}
	stop, peak := make(chan struct{}), make(chan int64)
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var hwm int64
		for {
			hwm = max(hwm, statusKB(status, "VmHWM:"))
			select {
			case <-stop:
				peak <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	err := cmd.Wait()
	res := procResult{wall: time.Since(start)}
	close(stop)
	res.rssKB = <-peak
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.code = cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		res.err = err
	} else if err != nil && errBuf.Len() > 0 {
		res.err = fmt.Errorf("exit %d: %s", res.code, firstLine(errBuf.String()))
	}
	return res
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// parallel runs one command per group of files and combines the results.
func (b *bencher) parallel(name string, okCodes []int, mk func(group []string) []string) benchRow {
	groups := b.partitions(b.jobs)
	results := make([]procResult, len(groups))
	var wg sync.WaitGroup
	start := time.Now()
	for i, g := range groups {
		if len(g) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := mk(g)
			results[i] = b.run(nil, args[0], args[1:]...)
		}()
	}
	wg.Wait()
	row := benchRow{name: name, wall: time.Since(start), msgs: len(b.files), bytes: b.bytes, procs: len(groups)}
	for _, r := range results {
		row.rssKB = max(row.rssKB, r.rssKB)
		row.cpu += r.cpu
		if r.err != nil && !containsInt(okCodes, r.code) {
			row.err = r.err
		}
	}
	row.perMsg = time.Duration(float64(row.wall) * float64(len(groups)) / float64(len(b.files)))
	return row
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// sha256sum is the floor: the fastest of three runs, since a run this
// short (about 0.15 s per 100 MB here) is the most sensitive to noise and
// the floor divides every ratio.
func (b *bencher) sha256sum() benchRow {
	fmt.Fprintln(b.stderr, "sha256sum …")
	var best benchRow
	for i := 0; i < 3; i++ {
		r := b.parallel("sha256sum (floor)", nil, func(g []string) []string { return append([]string{"sha256sum", "--"}, g...) })
		if r.err != nil {
			return r
		}
		if i == 0 || r.wall < best.wall {
			best = r
		}
	}
	best.note = "fastest of 3 runs"
	return best
}

// triageCLI runs `triage --json --jobs N DIR` as a subprocess and reads the
// per-message durations from its JSON Lines.
func (b *bencher) triageCLI(exe string) benchRow {
	fmt.Fprintln(b.stderr, "triage CLI batch …")
	out, err := os.CreateTemp("", "triage-bench-*.jsonl")
	if err != nil {
		return benchRow{name: "triage CLI --json", err: err}
	}
	defer os.Remove(out.Name())
	defer out.Close()
	res := b.run(out, exe, "--json", "--jobs", strconv.Itoa(b.jobs), filepath.Dir(b.files[0]))
	row := benchRow{name: "triage CLI --json", wall: res.wall, msgs: len(b.files), bytes: b.bytes, rssKB: res.rssKB, cpu: res.cpu, procs: 1}
	if res.err != nil && res.code == exitError {
		row.err = res.err
		return row
	}
	row.perMsg = time.Duration(float64(row.wall) * float64(b.jobs) / float64(len(b.files)))
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		row.err = err
		return row
	}
	var durs []time.Duration
	verdicts := map[string]int{}
	dec := json.NewDecoder(bufio.NewReader(out))
	for {
		var rep struct {
			Verdict string `json:"verdict"`
			Stats   struct {
				DurationMS float64 `json:"duration_ms"`
			} `json:"stats"`
		}
		if err := dec.Decode(&rep); err != nil {
			if !errors.Is(err, io.EOF) {
				row.err = fmt.Errorf("reading its JSON: %w", err)
			}
			break
		}
		durs = append(durs, time.Duration(rep.Stats.DurationMS*float64(time.Millisecond)))
		verdicts[rep.Verdict]++
	}
	if len(durs) != len(b.files) {
		row.err = fmt.Errorf("%d reports for %d messages", len(durs), len(b.files))
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	row.p50, row.p99 = percentile(durs, 0.5), percentile(durs, 0.99)
	row.note = fmt.Sprintf("verdicts malicious %d, suspicious %d, clean %d; p50/p99 from each report's stats.duration_ms",
		verdicts[pipeline.Malicious], verdicts[pipeline.Suspicious], verdicts[pipeline.Clean])
	return row
}

// triageAPI judges the corpus in-process with a pool of workers sharing
// one engine, timing each Triage call.
func (b *bencher) triageAPI(name string, set *rules.Set, limits parsers.Limits, cpuProfile, memProfile string) benchRow {
	fmt.Fprintf(b.stderr, "%s …\n", name)
	row := benchRow{name: name, msgs: len(b.files), bytes: b.bytes}
	eng, err := pipeline.New(pipeline.Config{Limits: limits, Rules: set})
	if err != nil {
		row.err = err
		return row
	}
	runtime.GC()
	debug.FreeOSMemory()
	hwmReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	if !hwmReset {
		row.note = "peak RSS is the process high-water mark since start (clear_refs unavailable)"
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err == nil {
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	if memProfile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	cpu0 := selfCPU()
	durs := make([]time.Duration, len(b.files))
	errs := make([]error, len(b.files))
	idx := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < b.jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				data, err := os.ReadFile(b.files[i])
				if err != nil {
					errs[i] = err
					continue
				}
				t := time.Now()
				_, errs[i] = eng.Triage(b.ctx, filepath.Base(b.files[i]), data)
				durs[i] = time.Since(t)
			}
		}()
	}
	for i := range b.files {
		idx <- i
	}
	close(idx)
	wg.Wait()
	row.wall = time.Since(start)
	row.cpu = selfCPU() - cpu0
	row.rssKB = vmHWM()
	if memProfile != "" {
		if f, err := os.Create(memProfile); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	for _, err := range errs {
		if err != nil {
			row.err = err
			break
		}
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	row.p50, row.p99 = percentile(durs, 0.5), percentile(durs, 0.99)
	row.perMsg = time.Duration(float64(row.wall) * float64(b.jobs) / float64(len(b.files)))
	return row
}

// loadAvg returns the 1-minute load average, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmHWM reads the peak resident set size of this process, in KB.
func vmHWM() int64 { return statusKB("/proc/self/status", "VmHWM:") }

// statusKB reads one "kB" field of a /proc status file (0 when unreadable).
func statusKB(path, field string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// triageExtract writes every artifact of the corpus for the yara CLI.
func (b *bencher) triageExtract(exe, dir string) benchRow {
	fmt.Fprintln(b.stderr, "triage CLI --extract …")
	res := b.run(nil, exe, "--json", "--jobs", strconv.Itoa(b.jobs), "--extract", dir, filepath.Dir(b.files[0]))
	row := benchRow{name: "triage CLI --extract", wall: res.wall, msgs: len(b.files), bytes: b.bytes, rssKB: res.rssKB, cpu: res.cpu, procs: 1}
	if res.err != nil && res.code == exitError {
		row.err = res.err
	}
	row.perMsg = time.Duration(float64(row.wall) * float64(b.jobs) / float64(len(b.files)))
	n, size := dirStats(dir)
	row.note = fmt.Sprintf("wrote %d artifacts, %.1f MB (input of the yara row)", n, float64(size)/1e6)
	return row
}

func dirStats(dir string) (n int, size int64) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasSuffix(p, ".bin") {
			if fi, err := d.Info(); err == nil {
				n++
				size += fi.Size()
			}
		}
		return nil
	})
	return n, size
}

// yaraDefines gives the yara CLI triage's external variables (one value
// for all files: the CLI cannot vary them per artifact).
func yaraDefines() []string {
	var out []string
	ext := rules.Externals()
	names := make([]string, 0, len(ext))
	for k := range ext {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, "-d", fmt.Sprintf("%s=%v", k, ext[k]))
	}
	return out
}

func (b *bencher) yaraExtracted(ruleFiles []string, dir string) benchRow {
	fmt.Fprintln(b.stderr, "yara -r on the extracted artifacts …")
	args := append([]string{"-r", "-p", strconv.Itoa(b.jobs)}, yaraDefines()...)
	args = append(append(args, ruleFiles...), dir)
	res := b.run(nil, "yara", args...)
	n, size := dirStats(dir)
	row := benchRow{name: "yara -r (extracted artifacts)", wall: res.wall, msgs: len(b.files), bytes: size, rssKB: res.rssKB, cpu: res.cpu, procs: 1, err: res.err}
	row.perMsg = time.Duration(float64(row.wall) * float64(b.jobs) / float64(len(b.files)))
	row.note = fmt.Sprintf("%d files; MB/s over the extracted bytes, msgs/s over the messages they came from", n)
	return row
}

func (b *bencher) clamscan(ruleDir string, l parsers.Limits) benchRow {
	fmt.Fprintln(b.stderr, "clamscan with triage's rules …")
	mb := func(n int64) string { return fmt.Sprintf("%dM", (n+parsers.MiB-1)/parsers.MiB) }
	return b.parallel("clamscan (triage rules)", []int{0, 1}, func(g []string) []string {
		return append([]string{"clamscan", "--no-summary", "--quiet", "--allmatch", "-d", ruleDir,
			"--max-filesize=" + mb(l.MaxInputBytes), "--max-scansize=" + mb(l.MaxTotalBytes),
			"--max-files=" + strconv.Itoa(l.MaxArtifacts), "--max-recursion=" + strconv.Itoa(l.MaxDepth), "--"}, g...)
	})
}

// median runs a one-shot command n times and returns the median wall time.
func (b *bencher) median(n int, name string, args ...string) time.Duration {
	var d []time.Duration
	for i := 0; i < n; i++ {
		d = append(d, b.run(nil, name, args...).wall)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// writeRules writes rule sources into dir for the yara CLI.
func writeRules(dir string, srcs []rules.Source) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range srcs {
		p := filepath.Join(dir, filepath.Base(s.Name))
		if err := os.WriteFile(p, []byte(s.Text), 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

var (
	ruleStartRE = regexp.MustCompile(`(?m)^[ \t]*(?:(?:private|global)[ \t]+)*rule[ \t]+(\w+)`)
	stringsRE   = regexp.MustCompile(`(?m)^[ \t]*strings[ \t]*:`)
	conditionRE = regexp.MustCompile(`(?m)^[ \t]*condition[ \t]*:`)
	// Tests of triage's per-artifact external variables, which ClamAV's
	// YARA subset lacks (see clamCondition).
	externalRE = regexp.MustCompile(`\b(?:filetype|filename|extension|parent_type)\s*(?:==|!=|i?contains|matches|i?startswith|i?endswith|iequals)\s*(?:"(?:[^"\\]|\\.)*"|/(?:[^/\\\n]|\\.)+/[is]*)|\bdepth\s*(?:==|!=|<=|>=|<|>)\s*\d+|\bderived\b`)
	clamLoadRE = regexp.MustCompile(`loaded (\d+) of \d+ yara signatures from (\S+)`)
	extOrExtRE = regexp.MustCompile(`\x00\s+or\s+\x00`)
	extParenRE = regexp.MustCompile(`\(\s*\x00\s*\)`)
	extOrRE    = regexp.MustCompile(`\x00(\s+or\b)`)
	orExtRE    = regexp.MustCompile(`(\bor\s+)\x00`)
)

// clamCondition rewrites a condition for ClamAV, which lacks triage's
// per-artifact variables. A type guard joined by "and" becomes true (the
// rule's strings decide); an alternative joined by "or" becomes false (the
// other alternatives decide), so "filetype == x or $s at 0" does not match
// every file.
func clamCondition(cond string) string {
	c := externalRE.ReplaceAllString(cond, "\x00")
	for {
		n := extParenRE.ReplaceAllString(extOrExtRE.ReplaceAllString(c, "\x00"), "\x00")
		if n == c {
			break
		}
		c = n
	}
	c = orExtRE.ReplaceAllString(extOrRE.ReplaceAllString(c, "false$1"), "${1}false")
	return strings.ReplaceAll(c, "\x00", "true")
}

// clamRules writes triage's rules for clamscan, one rule per file, with
// the external-variable tests replaced, and keeps the files clamscan
// loads. Rules without strings depend on those variables alone and are
// dropped.
func clamRules(ctx context.Context, dir string, srcs []rules.Source) (loaded int, dropped []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, nil, err
	}
	for _, s := range srcs {
		locs := ruleStartRE.FindAllStringSubmatchIndex(s.Text, -1)
		for i, loc := range locs {
			end := len(s.Text)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			name := s.Text[loc[2]:loc[3]]
			text := s.Text[loc[0]:end]
			if !stringsRE.MatchString(text) {
				dropped = append(dropped, name)
				continue
			}
			if c := conditionRE.FindStringIndex(text); c != nil {
				text = text[:c[1]] + clamCondition(text[c[1]:])
			}
			if err := os.WriteFile(filepath.Join(dir, name+".yar"), []byte(text), 0o644); err != nil {
				return 0, nil, err
			}
		}
	}
	// Load once, see which files clamscan accepted.
	cmd := exec.CommandContext(ctx, "clamscan", "--debug", "-d", dir, os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		return 0, nil, fmt.Errorf("clamscan: %w (install the Debian package clamav)", err)
	}
	ok := map[string]bool{}
	for _, m := range clamLoadRE.FindAllStringSubmatch(string(out), -1) {
		if m[1] != "0" {
			ok[filepath.Base(m[2])] = true
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if ok[e.Name()] {
			loaded++
			continue
		}
		dropped = append(dropped, strings.TrimSuffix(e.Name(), ".yar"))
		os.Remove(filepath.Join(dir, e.Name()))
	}
	if loaded == 0 {
		return 0, dropped, errors.New("clamscan loaded none of the rules")
	}
	sort.Strings(dropped)
	return loaded, dropped, nil
}
