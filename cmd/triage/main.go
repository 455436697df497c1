// Command triage judges reported mail: `triage FILE.eml` prints a verdict
// (malicious, suspicious or clean) with its evidence.
//
// Exit codes: 0 clean, 1 suspicious, 2 malicious, 3 error (an input could
// not be read, or bad usage). With several inputs the worst outcome wins,
// and an error outranks every verdict because the run is incomplete.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitClean      = 0
	exitSuspicious = 1
	exitMalicious  = 2
	exitError      = 3
)

// run is main without the process: testable end to end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "regress":
			return runRegress(ctx, args[1:], stdout, stderr)
		case "rules":
			return runRules(ctx, args[1:], stdout, stderr)
		case "daemon":
			return runDaemon(ctx, args[1:], stdout, stderr)
		case "results":
			return runResults(ctx, args[1:], stdout, stderr)
		case "bench":
			return runBench(ctx, args[1:], stdout, stderr)
		case "help", "-h", "-help", "--help":
			usage(stdout)
			return exitClean
		}
	}
	return runTriage(ctx, args, stdin, stdout, stderr)
}

// Collector defaults, unless GOGC or GOMEMLIMIT say otherwise. triage's
// heap is mostly short-lived decoded attachments over a small live set;
// at Go's default GOGC=100 the collector ran about 40 times per 100 MB of
// mail and took a fifth of the CPU (triage bench). GOGC=200 halves that
// for about 10 MB more peak RSS, and the soft limit makes the collector
// work harder instead of letting a burst of large messages grow the heap
// past 1 GiB.
const (
	defaultGOGC     = 200
	defaultMemLimit = 1 << 30
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemLimit)
	}
}

// gcSettings describes the collector's settings, for reports.
func gcSettings() string {
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	return fmt.Sprintf("GOGC=%d, GOMEMLIMIT=%d MiB", gogc, debug.SetMemoryLimit(-1)>>20)
}
