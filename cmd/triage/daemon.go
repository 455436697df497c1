package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"triage/pipeline/daemon"
)

const daemonUsage = `usage: triage daemon --config FILE [--once] [--check]
       triage daemon --demo [--samples DIR]

Watches the IMAP mailboxes of FILE (JSON; see pipeline/daemon/README.md),
triages every new message, records the result, hands it to the sinks and
moves or flags the message per verdict. SIGTERM finishes the messages in
flight and exits.

  --config FILE  configuration file
  --once         process what is in the mailboxes, then exit
  --check        validate the configuration and exit
  --demo         run against an in-memory IMAP server loaded with the
                 bundled samples, print each verdict and folder, and exit
  --samples DIR  samples for --demo (default: the bundled samples)
`

// runDaemon: triage daemon.
func runDaemon(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, daemonUsage) }
	cfgPath := fs.String("config", "", "")
	once := fs.Bool("once", false, "")
	check := fs.Bool("check", false, "")
	demo := fs.Bool("demo", false, "")
	samples := fs.String("samples", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitClean
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "triage daemon: unexpected argument %q\n", fs.Arg(0))
		return exitError
	}
	if *demo {
		dir := *samples
		if dir == "" {
			dir = defaultSamplesDir()
		}
		if err := daemon.RunDemo(ctx, daemon.DemoOptions{SamplesDir: dir, Out: stdout}); err != nil {
			fmt.Fprintf(stderr, "triage daemon --demo: %v\n", err)
			return exitError
		}
		return exitClean
	}
	if *cfgPath == "" {
		fmt.Fprint(stderr, daemonUsage)
		return exitError
	}
	cfg, err := daemon.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "triage daemon: %v\n", err)
		return exitError
	}
	if *check {
		n := 0
		for _, a := range cfg.Accounts {
			n += len(a.Mailboxes)
		}
		fmt.Fprintf(stdout, "%s: OK (%d accounts, %d mailboxes, store %s)\n", *cfgPath, len(cfg.Accounts), n, cfg.Store)
		return exitClean
	}
	log := daemon.NewLogger(cfg.Log, stderr)
	d, err := daemon.New(cfg, daemon.Options{Logger: log, Once: *once})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitError
	}
	defer d.Close()
	if err := d.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitError
	}
	return exitClean
}

const resultsUsage = `usage: triage results [SOURCE] [FILTERS] [--json]
       triage results show [SOURCE] [--report] ID

Lists the results the daemon stored, newest first, or shows one.

SOURCE (one of):
  --config FILE   the daemon's configuration: its store, or, while the
                  daemon runs (the store is locked), its HTTP API
  --store FILE    a results store
  --server URL    a running daemon's HTTP address (http://127.0.0.1:9108)
FILTERS:
  --verdict V     malicious, suspicious or clean
  --from S        sender, reporter or reported sender contains S
  --message-id ID the message's (or the reported message's) Message-ID
  --subject S     subject contains S
  --since T       a duration (24h) or an RFC 3339 time
  --limit N       at most N results (default 50; 0 = all)
`

type resultsSource struct {
	config, store, server string
}

func (s *resultsSource) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "")
	fs.StringVar(&s.store, "store", "", "")
	fs.StringVar(&s.server, "server", "", "")
}

// open returns either an open store or a server URL.
func (s *resultsSource) open() (*daemon.Store, string, error) {
	if s.server != "" {
		return nil, strings.TrimRight(s.server, "/"), nil
	}
	path := s.store
	listen := ""
	if s.config != "" {
		cfg, err := daemon.LoadConfig(s.config)
		if err != nil {
			return nil, "", err
		}
		path = cfg.Store
		if cfg.Listen != nil {
			listen = *cfg.Listen
		}
	}
	if path == "" {
		return nil, "", errors.New("give --config, --store or --server")
	}
	st, err := daemon.OpenStore(path, true, 300*time.Millisecond)
	if errors.Is(err, daemon.ErrLocked) && listen != "" {
		return nil, "http://" + listen, nil // the daemon is running: ask it
	}
	return st, "", err
}

// runResults: triage results.
func runResults(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "show" {
		return runResultsShow(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("results", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, resultsUsage) }
	var src resultsSource
	src.register(fs)
	q := url.Values{}
	for _, f := range []struct{ flag, param string }{{"verdict", "verdict"}, {"from", "from"}, {"message-id", "message_id"}, {"subject", "subject"}, {"since", "since"}} {
		fs.Func(f.flag, "", func(v string) error { q.Set(f.param, v); return nil })
	}
	limit := fs.Int("limit", 50, "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitClean
		}
		return exitError
	}
	q.Set("limit", strconv.Itoa(*limit))
	filter, err := daemon.FilterFromQuery(q)
	if err != nil {
		fmt.Fprintf(stderr, "triage results: %v\n", err)
		return exitError
	}
	st, server, err := src.open()
	if err != nil {
		fmt.Fprintf(stderr, "triage results: %v\n", err)
		return exitError
	}
	var recs []*daemon.Record
	if st != nil {
		defer st.Close()
		recs, err = st.Query(filter)
	} else {
		err = getJSON(ctx, server+"/api/results?"+q.Encode(), &recs)
	}
	if err != nil {
		fmt.Fprintf(stderr, "triage results: %v\n", err)
		return exitError
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if recs == nil {
			recs = []*daemon.Record{}
		}
		enc.Encode(recs)
		return exitClean
	}
	if len(recs) == 0 {
		fmt.Fprintln(stdout, "no results")
		return exitClean
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEEN\tVERDICT\tSCORE\tSTATE\tFOLDER\tFROM\tSUBJECT\tREPORTER\tID")
	for _, r := range recs {
		from, subj := r.Message.From, r.Message.Subject
		if r.Reported != nil {
			from, subj = r.Reported.From, r.Reported.Subject
		}
		folder := r.Folder
		if folder == "" {
			folder = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.SeenAt.Local().Format("2006-01-02 15:04"), orDash(r.Verdict), r.Score, r.State,
			folder, clipText(from, 40), clipText(subj, 50), orDash(clipText(r.Reporter, 30)), r.ID)
	}
	tw.Flush()
	return exitClean
}

func runResultsShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("results show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, resultsUsage) }
	var src resultsSource
	src.register(fs)
	withReport := fs.Bool("report", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitClean
		}
		return exitError
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, resultsUsage)
		return exitError
	}
	id := fs.Arg(0)
	st, server, err := src.open()
	if err != nil {
		fmt.Fprintf(stderr, "triage results: %v\n", err)
		return exitError
	}
	var out daemon.ResultWithReport
	if st != nil {
		defer st.Close()
		out.Record, err = st.Get(id)
		if err == nil && out.Record != nil && *withReport {
			out.Report, err = st.Report(id)
		}
	} else {
		u := server + "/api/results/" + (&url.URL{Path: id}).EscapedPath()
		if *withReport {
			u += "?report=1"
		}
		err = getJSON(ctx, u, &out)
	}
	if err != nil {
		fmt.Fprintf(stderr, "triage results: %v\n", err)
		return exitError
	}
	if out.Record == nil {
		fmt.Fprintf(stderr, "triage results: no result %q\n", id)
		return exitError
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
	return exitClean
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil // v stays empty
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s: %s", u, resp.Status, strings.TrimSpace(string(b)))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
