// Package daemon is triage's mailbox daemon: it watches IMAP mailboxes
// where staff report suspicious mail, triages every new message with the
// same engine as the command line, records the result durably, hands it to
// sinks (a JSON Lines file, a webhook) and then moves or flags the message
// per verdict, exactly once as the operator sees it, across crashes,
// dropped connections and server restarts.
//
// Every message goes through a state machine recorded in an embedded
// bbolt store, keyed by (account, mailbox, UIDVALIDITY, UID):
//
//	seen → triaged (result stored) → delivered (sinks acknowledged) → acting → done
//
// Each transition is committed before the next step starts, and every step
// is idempotent or checked on resume: a message is fetched again only if
// no result was stored; a sink line already in the JSONL file is not
// written again; before MOVE or COPY the daemon checks that the message is
// still in the source mailbox and, when an earlier attempt may have copied
// it, whether the copy is already in the destination.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"triage/pipeline"
	"triage/rules"
)

// Options are the parts of a daemon that are not configuration.
type Options struct {
	// Logger receives structured logs (default: from Config.Log, stderr).
	Logger *slog.Logger
	// Engine is the triage engine (default: built from the embedded rules
	// plus Config.RuleDirs). One engine serves all workers.
	Engine *pipeline.Engine
	// Once processes what is in the mailboxes, then Run returns: no IDLE,
	// no polling (the demo, tests and benchmarks).
	Once bool
	// OnDone is called when a message reaches a final state.
	OnDone func(*Record)
}

// Daemon is a configured mailbox daemon. Run it once.
type Daemon struct {
	cfg      *Config
	log      *slog.Logger
	eng      *pipeline.Engine
	store    *Store
	sinks    []Sink
	jsonl    *JSONLSink
	m        *metrics
	once     bool
	onDone   func(*Record)
	queue    chan *job
	watchers []*watcher
	ln       net.Listener
	started  time.Time
	closeMu  sync.Mutex
	closed   bool
	// suspectMu serialises the triage of retried messages (see triage).
	suspectMu sync.Mutex
}

// NewLogger returns the logger a configuration asks for.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens the store and the sinks, builds the engine if needed and
// binds the HTTP listener. Close releases them.
func New(cfg *Config, o Options) (*Daemon, error) {
	if cfg == nil {
		return nil, errors.New("daemon: no configuration")
	}
	d := &Daemon{cfg: cfg, log: o.Logger, eng: o.Engine, once: o.Once, onDone: o.OnDone, m: newMetrics(), started: time.Now()}
	if d.log == nil {
		d.log = NewLogger(cfg.Log, io.Discard)
	}
	if d.eng == nil {
		var set *rules.Set
		if len(cfg.RuleDirs) > 0 {
			s, err := rules.Load(rules.Options{Dirs: cfg.RuleDirs})
			if err != nil {
				return nil, fmt.Errorf("daemon: rules: %w", err)
			}
			set = s
		}
		eng, err := pipeline.New(pipeline.Config{Rules: set, Logger: d.log})
		if err != nil {
			return nil, fmt.Errorf("daemon: engine: %w", err)
		}
		d.eng = eng
	}
	st, err := OpenStore(cfg.Store, false, 2*time.Second)
	if err != nil {
		return nil, err
	}
	st.db.MaxBatchDelay = 300 * time.Microsecond
	d.store = st
	if c := cfg.Sinks.JSONL; c != nil {
		s, err := OpenJSONL(c.Path, c.IncludeReport)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.jsonl = s
		d.sinks = append(d.sinks, s)
	}
	if c := cfg.Sinks.Webhook; c != nil {
		s, err := NewWebhook(*c)
		if err != nil {
			d.Close()
			return nil, err
		}
		s.OnAttempt = func(outcome string) {
			if outcome == "retry" {
				d.m.sinks.WithLabelValues("webhook", "retry").Inc()
			}
		}
		d.sinks = append(d.sinks, s)
	}
	if *cfg.Listen != "" {
		ln, err := net.Listen("tcp", *cfg.Listen)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("daemon: listen: %w", err)
		}
		d.ln = ln
	}
	d.queue = make(chan *job, cfg.QueueSize)
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		if a.InsecureSkipVerify {
			d.log.Warn("TLS certificate verification is disabled", "account", a.Name)
		}
		for _, mb := range a.Mailboxes {
			d.watchers = append(d.watchers, newWatcher(d, a, mb))
		}
	}
	return d, nil
}

// Addr returns the HTTP listener's address, or "".
func (d *Daemon) Addr() string {
	if d.ln == nil {
		return ""
	}
	return d.ln.Addr().String()
}

// Store returns the results store.
func (d *Daemon) Store() *Store { return d.store }

// Close releases the store, the sinks and the listener.
func (d *Daemon) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	if d.ln != nil {
		d.ln.Close()
	}
	for _, s := range d.sinks {
		errs = append(errs, s.Close())
	}
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	return errors.Join(errs...)
}

// Run watches the mailboxes until ctx is cancelled (or, with Once, until
// they are processed). Cancelling ctx stops fetching new messages; those
// already fetched are triaged, recorded, delivered and acted on, for at
// most Config.ShutdownTimeout, after which everything is cut short (and
// resumes at the next start).
func (d *Daemon) Run(ctx context.Context) error {
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	var (
		graceMu sync.Mutex
		grace   *time.Timer
	)
	stopWatch := context.AfterFunc(ctx, func() {
		d.log.Info("shutting down: finishing in-flight messages", "timeout", d.cfg.ShutdownTimeout.D().String())
		graceMu.Lock()
		grace = time.AfterFunc(d.cfg.ShutdownTimeout.D(), cancelHard)
		graceMu.Unlock()
	})
	defer func() {
		if !stopWatch() {
			// The AfterFunc ran (or is running): wait for its timer.
			graceMu.Lock()
			if grace != nil {
				grace.Stop()
			}
			graceMu.Unlock()
		}
	}()

	if d.ln != nil {
		srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(d.ln)
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		d.log.Info("http listening", "addr", d.Addr())
	}

	if err := d.resume(); err != nil {
		return err
	}

	var workers sync.WaitGroup
	for i := 0; i < d.cfg.Workers; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range d.queue {
				d.m.queueDepth.Set(float64(len(d.queue)))
				d.work(hard, j)
			}
		}()
	}
	errs := make([]error, len(d.watchers))
	var ws sync.WaitGroup
	for i, w := range d.watchers {
		ws.Add(1)
		go func() {
			defer ws.Done()
			errs[i] = w.run(ctx, hard)
		}()
	}
	ws.Wait()
	close(d.queue)
	workers.Wait()
	d.log.Info("stopped")
	return errors.Join(errs...)
}

// resume prepares for work a previous process left: results stored but
// perhaps already appended to the JSONL file are looked up there, so they
// are not appended twice.
func (d *Daemon) resume() error {
	pend, err := d.store.PendingAll()
	if err != nil {
		return err
	}
	d.m.pendingAtStart.Set(float64(len(pend)))
	ids := map[string]bool{}
	byState := map[State]int{}
	for _, r := range pend {
		byState[r.State]++
		if r.State == StateTriaged && !slices.Contains(r.Delivered, "jsonl") {
			ids[r.ID] = true
		}
	}
	if len(pend) > 0 {
		d.log.Info("resuming unfinished messages", "count", len(pend), "seen", byState[StateSeen], "triaged", byState[StateTriaged],
			"delivered", byState[StateDelivered], "acting", byState[StateActing])
	}
	if d.jsonl != nil && len(ids) > 0 {
		n, err := d.jsonl.Preload(ids)
		if err != nil {
			return fmt.Errorf("daemon: jsonl sink: scan for unacknowledged results: %w", err)
		}
		d.log.Info("jsonl: results already written before the restart", "found", n, "looked_for", len(ids))
	}
	return nil
}

// job is one message for a worker: triage (when raw is set), record,
// deliver.
type job struct {
	rec    *Record
	raw    []byte
	report []byte
	w      *watcher
}

// work runs one job; it always reports back to the job's watcher.
func (d *Daemon) work(ctx context.Context, j *job) {
	err := d.doWork(ctx, j)
	j.w.complete(j.rec, err)
}

func (d *Daemon) doWork(ctx context.Context, j *job) error {
	r := j.rec
	if j.raw != nil {
		if err := d.triage(ctx, j); err != nil {
			return err
		}
		r.State = StateTriaged
		r.TriagedAt = time.Now().UTC()
		var stored []byte
		if *d.cfg.StoreReports {
			stored = j.report
		}
		if err := d.store.Put(stored, r); err != nil {
			d.m.errors.WithLabelValues("store").Inc()
			return err
		}
		d.recorded(r)
	}
	return d.deliver(ctx, j)
}

// triage judges a fetched message and fills its record. A message fetched
// before by a process that did not finish it (Attempts > 1, counted by the
// watcher) may be what killed that process: each triage start of such a
// message is committed first, and after Policy.MaxAttempts starts it gets
// the error verdict instead of another try. A first attempt costs no extra
// commit. Retried messages are triaged one at a time, so that a crash is
// blamed on the right one.
func (d *Daemon) triage(ctx context.Context, j *job) error {
	r, w := j.rec, j.w
	retried := r.Attempts > 1
	if retried && r.Starts >= w.policy.MaxAttempts {
		w.errorResult(r, j.raw, fmt.Sprintf("triage did not complete in %d attempts: %s", r.Starts, or(r.LastError, "the process died")))
		return nil
	}
	if retried {
		// One retried message at a time: if the process dies now, the
		// message whose start was just committed is the likely culprit,
		// not whichever other retried message happened to run beside it.
		d.suspectMu.Lock()
		defer d.suspectMu.Unlock()
		r.Starts++
		if err := d.store.Put(nil, r); err != nil {
			d.m.errors.WithLabelValues("store").Inc()
			return err
		}
	}
	t0 := time.Now()
	rep, err := d.eng.Triage(ctx, fmt.Sprintf("uid-%d.eml", r.UID), j.raw)
	d.m.triageSeconds.Observe(time.Since(t0).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		d.m.errors.WithLabelValues("triage").Inc()
		if !retried {
			r.Starts++
		}
		r.LastError = err.Error()
		d.log.Warn("triage failed", "id", r.ID, "attempt", r.Starts, "err", err)
		if r.Starts < w.policy.MaxAttempts {
			if perr := d.store.Put(nil, r); perr != nil {
				return perr
			}
			return err
		}
		w.errorResult(r, j.raw, fmt.Sprintf("triage failed %d times: %v", r.Starts, err))
		return nil
	}
	w.fillResult(r, rep)
	if *d.cfg.StoreReports || d.sinkWantsReport() {
		if b, err := json.Marshal(rep); err == nil {
			j.report = b
		}
	}
	return nil
}

// recorded counts a newly stored result.
func (d *Daemon) recorded(r *Record) {
	d.m.messages.WithLabelValues(r.Account, r.Mailbox, r.Verdict).Inc()
	if r.Reported != nil {
		d.m.forwarded.Inc()
	}
	if r.Oversize {
		d.m.oversize.Inc()
	}
	d.log.Info("result", "id", r.ID, "verdict", r.Verdict, "score", r.Score, "subject", r.Message.Subject,
		"from", r.Message.From, "message_id", r.Message.MessageID, "reporter", r.Reporter, "folder", r.Folder)
}

func (d *Daemon) sinkWantsReport() bool {
	for _, s := range d.sinks {
		if s.WantsReport() {
			return true
		}
	}
	return false
}

// deliver hands the result to every sink that has not acknowledged it yet,
// then records the delivery.
func (d *Daemon) deliver(ctx context.Context, j *job) error {
	r := j.rec
	base := eventOf(r, nil)
	for _, s := range d.sinks {
		if slices.Contains(r.Delivered, s.Name()) {
			continue
		}
		ev := base
		if s.WantsReport() {
			if j.report == nil {
				j.report, _ = d.store.Report(r.ID)
			}
			cp := *base
			cp.Report = j.report
			ev = &cp
		}
		if err := s.Deliver(ctx, ev); err != nil {
			d.m.errors.WithLabelValues("sink").Inc()
			d.m.sinks.WithLabelValues(s.Name(), "failed").Inc()
			d.log.Warn("sink delivery failed; will retry", "sink", s.Name(), "id", r.ID, "err", err)
			r.LastError = err.Error()
			if perr := d.store.Put(nil, r); perr != nil {
				return perr
			}
			return err
		}
		d.m.sinks.WithLabelValues(s.Name(), "ok").Inc()
		r.Delivered = append(r.Delivered, s.Name())
	}
	r.State = StateDelivered
	r.DeliveredAt = time.Now().UTC()
	r.LastError = ""
	if err := d.store.Put(nil, r); err != nil {
		d.m.errors.WithLabelValues("store").Inc()
		return err
	}
	return nil
}
