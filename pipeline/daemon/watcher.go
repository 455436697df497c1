package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"

	"triage/pipeline"
	"triage/pipeline/imapsrc"
)

// watcher owns one mailbox: one IMAP connection that discovers, fetches
// and acts; triage happens on the shared worker pool.
type watcher struct {
	d       *Daemon
	acct    *AccountConfig
	mailbox string
	policy  *Policy
	log     *slog.Logger
	opts    imapsrc.Options

	mu      sync.Mutex
	results []jobResult
	notify  chan struct{}

	lastPoll  atomic.Int64 // unix nanoseconds
	connected atomic.Bool
	lastErr   atomic.Value // string

	delim rune
}

type jobResult struct {
	rec *Record
	err error
}

func newWatcher(d *Daemon, a *AccountConfig, mailbox string) *watcher {
	w := &watcher{d: d, acct: a, mailbox: mailbox, policy: a.Policy, opts: a.imapOptions(), notify: make(chan struct{}, 1),
		log: d.log.With("account", a.Name, "mailbox", mailbox)}
	w.lastPoll.Store(d.started.UnixNano())
	w.lastErr.Store("")
	// Export every series from the start.
	d.m.reconnects.WithLabelValues(a.Name, mailbox)
	d.m.connected.WithLabelValues(a.Name, mailbox)
	d.m.fetchedBytes.WithLabelValues(a.Name, mailbox)
	d.m.stale.WithLabelValues(a.Name, mailbox)
	return w
}

// actDelay is how long a finished result may wait for others to be acted
// on together.
const actDelay = 50 * time.Millisecond

// retryPending is how soon a pass that left failures is repeated.
const retryPending = 30 * time.Second

// chunkBytes bounds the message bytes one fetch holds in memory.
const chunkBytes = 64 << 20

// errGiveUp ends a Once run that cannot make progress.
var errGiveUp = errors.New("daemon: messages still pending after a pass that made no progress")

// onceMaxFailures bounds the sessions in a row that a Once run lets fail
// without progress (a refused login, an unreachable server) before it
// gives up instead of retrying for ever.
const onceMaxFailures = 5

// run keeps a session open, reconnecting with exponential backoff and
// jitter, until stop is cancelled (or, with Once, the mailbox is done).
func (w *watcher) run(stop, hard context.Context) error {
	backoff := w.d.cfg.Reconnect.Initial.D()
	failures := 0
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			w.d.m.reconnects.WithLabelValues(w.acct.Name, w.mailbox).Inc()
		}
		progressed, err := w.session(stop, hard)
		w.connected.Store(false)
		w.d.m.connected.WithLabelValues(w.acct.Name, w.mailbox).Set(0)
		if err == nil || stop.Err() != nil {
			if err != nil {
				w.log.Info("session ended during shutdown", "err", err)
			}
			return nil
		}
		if errors.Is(err, errGiveUp) {
			return fmt.Errorf("%s/%s: %w", w.acct.Name, w.mailbox, err)
		}
		w.lastErr.Store(err.Error())
		if progressed {
			backoff, failures = w.d.cfg.Reconnect.Initial.D(), 0
		}
		if failures++; w.d.once && failures >= onceMaxFailures {
			return fmt.Errorf("%s/%s: %d sessions in a row failed: %w", w.acct.Name, w.mailbox, failures, err)
		}
		wait := jitter(backoff)
		w.log.Warn("imap session failed; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond).String())
		if sleepCtx(stop, wait) != nil {
			return nil
		}
		backoff = min(2*backoff, w.d.cfg.Reconnect.Max.D())
	}
}

// session is one IMAP connection's life: select, then scan → process →
// wait, until something fails or stop is cancelled.
func (w *watcher) session(stop, hard context.Context) (progressed bool, err error) {
	cl, err := imapsrc.Dial(hard, w.opts)
	if err != nil {
		w.d.m.errors.WithLabelValues("connect").Inc()
		return false, err
	}
	defer cl.Close()
	w.connected.Store(true)
	w.d.m.connected.WithLabelValues(w.acct.Name, w.mailbox).Set(1)
	if err := w.prepareFolders(hard, cl); err != nil {
		w.d.m.errors.WithLabelValues("connect").Inc()
		return false, err
	}
	sel, err := cl.Select(hard, w.mailbox)
	if err != nil {
		w.d.m.errors.WithLabelValues("connect").Inc()
		return false, err
	}
	uv := sel.UIDValidity
	hw, stale, err := w.d.store.BeginMailbox(w.acct.Name, w.mailbox, uv)
	if err != nil {
		w.d.m.errors.WithLabelValues("store").Inc()
		return false, err
	}
	if stale > 0 {
		w.d.m.stale.WithLabelValues(w.acct.Name, w.mailbox).Inc()
		w.log.Warn("UIDVALIDITY changed: unfinished messages of the old value are abandoned", "uidvalidity", uv, "stale", stale)
	}
	w.log.Debug("session open", "uidvalidity", uv, "messages", sel.Messages, "high_water", hw, "move", cl.HasMove(), "idle", cl.HasIdle())
	for {
		infos, err := cl.Scan(hard, imap.UID(hw))
		if err != nil {
			w.d.m.errors.WithLabelValues("scan").Inc()
			return progressed, err
		}
		seen := make([]Seen, 0, len(infos))
		for _, in := range infos {
			seen = append(seen, Seen{UID: uint32(in.UID), Size: in.Size, Oversize: in.Size > w.d.cfg.MaxMessageBytes})
			hw = max(hw, uint32(in.UID))
		}
		if _, err := w.d.store.AddSeen(w.acct.Name, w.mailbox, uv, seen); err != nil {
			w.d.m.errors.WithLabelValues("store").Inc()
			return progressed, err
		}
		progressed = true
		w.lastPoll.Store(time.Now().UnixNano())
		w.lastErr.Store("")
		w.d.m.lastPoll.WithLabelValues(w.acct.Name, w.mailbox).SetToCurrentTime()
		pending, err := w.d.store.Pending(w.acct.Name, w.mailbox, uv)
		if err != nil {
			return progressed, err
		}
		failed := 0
		if len(pending) > 0 {
			if failed, err = w.process(stop, hard, cl, pending); err != nil {
				return progressed, err
			}
		}
		if stop.Err() != nil {
			return progressed, nil
		}
		if w.d.once {
			if len(pending) == 0 {
				return progressed, nil
			}
			if failed == len(pending) {
				return progressed, fmt.Errorf("%w (%d)", errGiveUp, failed)
			}
			continue
		}
		wait := w.acct.PollInterval.D()
		if *w.acct.IDLE && cl.HasIdle() {
			wait = w.acct.IdleRefresh.D()
		}
		if failed > 0 {
			// Something failed (a sink is down): come back soon, not at the
			// next new message.
			wait = min(wait, retryPending)
		}
		if err := cl.Wait(stop, *w.acct.IDLE, wait, nil); err != nil {
			return progressed, err
		}
	}
}

// prepareFolders learns the hierarchy delimiter and creates the verdict
// folders.
func (w *watcher) prepareFolders(ctx context.Context, cl *imapsrc.Client) error {
	d, err := cl.Delimiter(ctx)
	if err != nil {
		return err
	}
	w.delim = d
	if !*w.policy.CreateFolders {
		return nil
	}
	done := map[string]bool{}
	for _, a := range []*Action{w.policy.Malicious, w.policy.Suspicious, w.policy.Clean} {
		if a.Folder == "" || done[a.Folder] {
			continue
		}
		done[a.Folder] = true
		if err := cl.EnsureMailbox(ctx, w.serverName(a.Folder)); err != nil {
			return err
		}
	}
	return nil
}

// serverName writes a configured folder ("Triage/Malicious") with the
// server's hierarchy delimiter ("Triage.Malicious" on Dovecot maildir).
func (w *watcher) serverName(folder string) string {
	if w.delim == 0 || w.delim == '/' {
		return folder
	}
	return strings.ReplaceAll(folder, "/", string(w.delim))
}

// complete is called by a worker when a job ends.
func (w *watcher) complete(r *Record, err error) {
	w.mu.Lock()
	w.results = append(w.results, jobResult{rec: r, err: err})
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) takeResults() []jobResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	rs := w.results
	w.results = nil
	return rs
}

// process takes every unfinished record of the mailbox to its end: act on
// those delivered, deliver those triaged, fetch and triage those only
// seen. It returns how many could not be finished in this pass.
func (w *watcher) process(stop, hard context.Context, cl *imapsrc.Client, pending []*Record) (failed int, err error) {
	byUID := map[uint32]*Record{}
	resumedActing := map[uint32]bool{}
	var fetch, oversize, deliver, toAct []*Record
	for _, r := range pending {
		byUID[r.UID] = r
		switch r.State {
		case StateSeen:
			if r.Oversize {
				oversize = append(oversize, r)
			} else {
				fetch = append(fetch, r)
			}
		case StateTriaged:
			deliver = append(deliver, r)
		case StateActing:
			resumedActing[r.UID] = true
			toAct = append(toAct, r)
		case StateDelivered:
			toAct = append(toAct, r)
		}
	}

	outstanding := 0
	submit := func(j *job) error {
		j.w = w
		if j.rec.fetched.IsZero() {
			j.rec.fetched = time.Now()
		}
		select {
		case w.d.queue <- j:
		case <-hard.Done():
			return hard.Err()
		}
		outstanding++
		w.d.m.inFlight.Inc()
		w.d.m.queueDepth.Set(float64(len(w.d.queue)))
		return nil
	}
	drain := func() {
		for _, res := range w.takeResults() {
			outstanding--
			w.d.m.inFlight.Dec()
			if res.err != nil {
				failed++
				continue
			}
			if res.rec.State == StateDelivered {
				toAct = append(toAct, res.rec)
			}
		}
	}
	flush := func() error {
		if len(toAct) == 0 {
			return nil
		}
		batch := toAct
		toAct = nil
		if err := w.act(hard, cl, batch, resumedActing); err != nil {
			w.d.m.errors.WithLabelValues("action").Inc()
			return err
		}
		return nil
	}
	// Whatever happens, wait for the jobs handed to workers: none may
	// outlive this pass and race with the next session over a record.
	defer func() {
		for outstanding > 0 {
			<-w.notify
			drain()
		}
	}()

	if err := flush(); err != nil {
		return failed, err
	}
	if len(oversize) > 0 {
		if err := w.recordOversize(hard, cl, oversize, submit); err != nil {
			return failed, err
		}
	}
	for _, r := range deliver {
		if err := submit(&job{rec: r}); err != nil {
			return failed, err
		}
	}
	for i := 0; i < len(fetch); {
		if stop.Err() != nil {
			break // shutting down: take no new work
		}
		drain()
		if len(toAct) >= w.d.cfg.FetchBatch {
			if err := flush(); err != nil {
				return failed, err
			}
		}
		// A chunk: at most fetch_batch messages and chunkBytes announced
		// bytes (but always one message).
		j, sum := i, int64(0)
		for j < len(fetch) && j-i < w.d.cfg.FetchBatch && (j == i || sum+fetch[j].Size <= chunkBytes) {
			sum += fetch[j].Size
			j++
		}
		chunk := fetch[i:j]
		i = j
		uids := make([]imap.UID, len(chunk))
		for k, r := range chunk {
			uids[k] = imap.UID(r.UID)
		}
		var big, got []*Record
		var bodies [][]byte
		missing, err := cl.Fetch(hard, uids, w.d.cfg.MaxMessageBytes, func(uid imap.UID, data []byte, tooLarge bool) error {
			r := byUID[uint32(uid)]
			if r == nil {
				return nil
			}
			if tooLarge {
				r.Oversize = true
				big = append(big, r)
				return nil
			}
			r.SHA256 = imapsrc.SHA256(data)
			r.Size = int64(len(data))
			r.fetched = time.Now()
			w.d.m.fetchedBytes.WithLabelValues(w.acct.Name, w.mailbox).Add(float64(len(data)))
			got = append(got, r)
			bodies = append(bodies, data)
			return nil
		})
		if err != nil {
			w.d.m.errors.WithLabelValues("fetch").Inc()
			return failed, err
		}
		// Count the fetch durably before triage can start (see
		// Daemon.triage).
		for _, r := range got {
			r.Attempts++
		}
		if err := w.d.store.Put(nil, got...); err != nil {
			w.d.m.errors.WithLabelValues("store").Inc()
			return failed, err
		}
		for k, r := range got {
			if err := submit(&job{rec: r, raw: bodies[k]}); err != nil {
				return failed, err
			}
		}
		if len(big) > 0 {
			if err := w.recordOversize(hard, cl, big, submit); err != nil {
				return failed, err
			}
		}
		if len(missing) > 0 {
			var gone []*Record
			now := time.Now().UTC()
			for _, u := range missing {
				r := byUID[uint32(u)]
				r.State, r.Action, r.DoneAt = StateVanished, "gone", now
				r.LastError = "the message disappeared before it was fetched"
				gone = append(gone, r)
			}
			if err := w.d.store.Put(nil, gone...); err != nil {
				return failed, err
			}
			for _, r := range gone {
				w.log.Info("message vanished before it was fetched", "id", r.ID)
				w.finished(r)
			}
		}
	}
	// Wait for the rest, acting in batches: when enough results piled up,
	// when nothing else is coming, or when the oldest waited long enough.
	var since time.Time
	for outstanding > 0 {
		timeout := time.Hour
		if len(toAct) > 0 {
			timeout = max(0, actDelay-time.Since(since))
		}
		t := time.NewTimer(timeout)
		select {
		case <-w.notify:
		case <-t.C:
		case <-hard.Done():
			t.Stop()
			return failed, hard.Err()
		}
		t.Stop()
		before := len(toAct)
		drain()
		if before == 0 && len(toAct) > 0 {
			since = time.Now()
		}
		if len(toAct) >= w.d.cfg.FetchBatch || outstanding == 0 || (len(toAct) > 0 && time.Since(since) >= actDelay) {
			if err := flush(); err != nil {
				return failed, err
			}
		}
	}
	drain()
	return failed, flush()
}

// recordOversize records messages over the size limit without fetching
// them: their envelope (headers only) gives subject, sender and
// Message-ID; the verdict is the policy's.
func (w *watcher) recordOversize(ctx context.Context, cl *imapsrc.Client, recs []*Record, submit func(*job) error) error {
	uids := make([]imap.UID, len(recs))
	for i, r := range recs {
		uids[i] = imap.UID(r.UID)
	}
	envs, err := cl.Envelope(ctx, uids)
	if err != nil {
		w.d.m.errors.WithLabelValues("fetch").Inc()
		return err
	}
	now := time.Now().UTC()
	for _, r := range recs {
		r.Oversize = true
		if e := envs[imap.UID(r.UID)]; e != nil {
			r.Message = pipeline.MessageInfo{Subject: e.Subject, From: addrs(e.From), To: addrs(e.To), MessageID: e.MessageID}
			if !e.Date.IsZero() {
				r.Message.Date = e.Date.UTC().Format(time.RFC3339)
			}
		}
		r.Verdict = w.policy.OversizeVerdict
		r.Rules = []string{"daemon.too_large"}
		r.Error = fmt.Sprintf("message of %d bytes is over max_message_bytes (%d): recorded without being fetched", r.Size, w.d.cfg.MaxMessageBytes)
		w.plan(r)
		r.State, r.TriagedAt = StateTriaged, now
		if err := w.d.store.Put(nil, r); err != nil {
			w.d.m.errors.WithLabelValues("store").Inc()
			return err
		}
		w.d.recorded(r)
		if err := submit(&job{rec: r}); err != nil {
			return err
		}
	}
	return nil
}

func addrs(list []imap.Address) string {
	var out []string
	for _, a := range list {
		s := a.Addr()
		if s == "" {
			continue
		}
		if a.Name != "" {
			s = a.Name + " <" + s + ">"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// fillResult copies the engine's verdict into a record and plans the action.
func (w *watcher) fillResult(r *Record, rep *pipeline.Report) {
	// The record names the message in the mailbox (r.Message); a report
	// forwarded as an attachment is judged on the attached message, whose
	// headers are in r.Reported, and the reporter stays in the record.
	r.Message = rep.Message
	r.Reporter, r.Reported = detectForward(rep)
	judged := rep
	if r.Reported != nil {
		if sub := rep.Subtree(r.Reported.Artifact, pipeline.Scoring{}); sub != nil {
			judged = sub
		}
	}
	r.Verdict, r.Score = judged.Verdict, judged.Score
	r.Rules = judged.RulesFired()
	r.Error, r.LastError = "", ""
	w.plan(r)
}

// errorResult records the policy's verdict for a message the engine could
// not judge, with what its header says.
func (w *watcher) errorResult(r *Record, raw []byte, why string) {
	r.Message = headerInfo(raw)
	r.Verdict, r.Score = w.policy.ErrorVerdict, 0
	r.Rules = []string{"daemon.triage_error"}
	r.Error = why
	w.plan(r)
}

// plan sets the folder and keywords the policy gives a verdict.
func (w *watcher) plan(r *Record) {
	a := w.policy.For(r.Verdict)
	r.Folder = a.Folder
	r.Keywords = nil
	for _, k := range []string{a.Keyword, *w.policy.DoneKeyword} {
		if k != "" {
			r.Keywords = append(r.Keywords, k)
		}
	}
}

// act applies the policy to delivered records. Each step is safe to
// repeat: messages no longer in the mailbox are not acted on again (an
// earlier MOVE did it), keywords are idempotent, and for a record whose
// earlier attempt was interrupted (resumedActing) the destination is
// checked for the copy before COPY or MOVE.
func (w *watcher) act(ctx context.Context, cl *imapsrc.Client, recs []*Record, resumedActing map[uint32]bool) error {
	uids := make([]imap.UID, len(recs))
	for i, r := range recs {
		uids[i] = imap.UID(r.UID)
	}
	present, err := cl.Flags(ctx, uids)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	var gone, todo []*Record
	for _, r := range recs {
		if _, ok := present[imap.UID(r.UID)]; ok {
			r.State = StateActing
			todo = append(todo, r)
			continue
		}
		switch {
		case r.State == StateActing && r.Folder != "":
			r.Action = w.moveAction(cl) // an earlier attempt moved it
		default:
			r.Action = "gone" // removed by someone else
		}
		r.State, r.DoneAt = StateDone, now
		gone = append(gone, r)
	}
	if err := w.d.store.Put(nil, append(gone, todo...)...); err != nil {
		w.d.m.errors.WithLabelValues("store").Inc()
		return err
	}
	for _, r := range gone {
		w.finished(r)
	}
	groups := map[string][]*Record{}
	for _, r := range todo {
		k := r.Folder + "\x00" + strings.Join(r.Keywords, "\x00")
		groups[k] = append(groups[k], r)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		if err := w.actGroup(ctx, cl, g, present, resumedActing); err != nil {
			return err
		}
		if err := w.d.store.Put(nil, g...); err != nil {
			w.d.m.errors.WithLabelValues("store").Inc()
			return err
		}
		for _, r := range g {
			w.finished(r)
		}
	}
	return nil
}

func (w *watcher) moveAction(cl *imapsrc.Client) string {
	if w.policy.Move == "copy" || !cl.HasMove() {
		return "copied"
	}
	return "moved"
}

// actGroup acts on records sharing folder and keywords.
func (w *watcher) actGroup(ctx context.Context, cl *imapsrc.Client, g []*Record, present map[imap.UID][]imap.Flag, resumedActing map[uint32]bool) error {
	folder := g[0].Folder
	flags := make([]imap.Flag, 0, len(g[0].Keywords))
	for _, k := range g[0].Keywords {
		flags = append(flags, imap.Flag(k))
	}
	// Keywords first, so that a moved message carries them.
	var need []imap.UID
	for _, r := range g {
		if !hasAll(present[imap.UID(r.UID)], flags) {
			need = append(need, imap.UID(r.UID))
		}
	}
	if err := cl.AddFlags(ctx, need, flags); err != nil {
		return err
	}
	action := "none"
	if len(flags) > 0 {
		action = "flagged"
	}
	if folder != "" {
		dest := w.serverName(folder)
		action = w.moveAction(cl)
		var copied, rest []imap.UID
		for _, r := range g {
			// MOVE is atomic: a message still in the source was not moved.
			// COPY is not: an interrupted attempt may have left a copy.
			if resumedActing[r.UID] && action == "copied" {
				ok, err := cl.Contains(ctx, dest, r.Size, r.SHA256, r.Message.MessageID, flags)
				if err != nil {
					return err
				}
				if ok {
					w.log.Info("resumed action: the copy is already in the destination", "id", r.ID, "folder", dest)
					copied = append(copied, imap.UID(r.UID))
					continue
				}
			}
			rest = append(rest, imap.UID(r.UID))
		}
		if err := cl.DeleteExpunge(ctx, copied); err != nil {
			return err
		}
		if action == "moved" {
			if err := cl.Move(ctx, rest, dest); err != nil {
				return err
			}
		} else {
			if err := cl.Copy(ctx, rest, dest); err != nil {
				return err
			}
			if err := cl.DeleteExpunge(ctx, rest); err != nil {
				return err
			}
		}
	}
	now := time.Now().UTC()
	for _, r := range g {
		r.State, r.Action, r.DoneAt = StateDone, action, now
	}
	return nil
}

func hasAll(have []imap.Flag, want []imap.Flag) bool {
	for _, f := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(string(h), string(f)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// finished is called once a record reached a final state.
func (w *watcher) finished(r *Record) {
	w.d.m.actions.WithLabelValues(r.Action).Inc()
	if !r.fetched.IsZero() {
		w.d.m.messageSeconds.Observe(time.Since(r.fetched).Seconds())
	}
	w.log.Debug("done", "id", r.ID, "state", r.State, "action", r.Action, "folder", r.Folder)
	if w.d.onDone != nil {
		w.d.onDone(r)
	}
}
