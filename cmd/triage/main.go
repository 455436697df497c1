// Command triage judges reported mail: `triage FILE.eml` prints a verdict
// (malicious, suspicious or clean) with its evidence.
//
// Exit codes: 0 clean, 1 suspicious, 2 malicious, 3 error (an input could
// not be read, or bad usage). With several inputs the worst outcome wins,
// and an error outranks every verdict because the run is incomplete.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
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
