// Package pipeline triages one message or file: it walks the artifact tree,
// dispatches parsers from an explicit registry, runs YARA on every artifact,
// enforces one budget per message and turns findings and rule matches into
// a verdict with its reasons.
package pipeline

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	stdhtml "html"
	"io"
	"log/slog"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"triage/parsers"
	"triage/parsers/filetype"
	"triage/parsers/iocs"
	"triage/rules"
)

// Config configures an Engine. The zero value of each field is a sensible
// default, except Rules, which New loads from the embedded set when nil.
type Config struct {
	Limits  parsers.Limits
	Rules   *rules.Set
	Parsers []parsers.Parser // nil: DefaultParsers()
	Logger  *slog.Logger
	// KeepData keeps each artifact's bytes in the report (for --extract).
	KeepData bool
	// Scoring tunes how findings and matches become a verdict.
	Scoring Scoring
}

// Engine triages messages. It is safe for concurrent use: each Triage call
// has its own budget and YARA scanner; the compiled rules are shared.
type Engine struct {
	cfg Config // with defaults filled in
}

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Rules == nil {
		set, err := rules.Load(rules.Options{})
		if err != nil {
			return nil, err
		}
		cfg.Rules = set
	}
	if cfg.Parsers == nil {
		cfg.Parsers = DefaultParsers()
	}
	if err := checkRegistry(cfg.Parsers); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Scoring = cfg.Scoring.withDefaults()
	cfg.Limits = cfg.Limits.WithDefaults()
	return &Engine{cfg: cfg}, nil
}

// Limits returns the engine's limits with defaults filled in.
func (e *Engine) Limits() parsers.Limits { return e.cfg.Limits }

// TriageReader reads at most Limits.MaxInputBytes from r and triages it.
// Input beyond the limit is not read; the report says so.
func (e *Engine) TriageReader(ctx context.Context, name string, r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, e.cfg.Limits.MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("pipeline: read %s: %w", name, err)
	}
	return e.Triage(ctx, name, data)
}

// Triage judges one input: a message (eml, msg) or a bare file, which is
// judged as if it had arrived attached to a message.
func (e *Engine) Triage(ctx context.Context, name string, data []byte) (*Report, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(e.cfg.Limits.TimeoutMillis)*time.Millisecond)
	defer cancel()
	run := &run{
		e:      e,
		ctx:    ctx,
		budget: parsers.NewBudget(ctx, e.cfg.Limits),
		report: &Report{SchemaVersion: SchemaVersion, Reasons: []Reason{}, Artifacts: []*Artifact{}},
		urls:   newOrdered(),
		doms:   newOrdered(),
		ips:    newOrdered(),
	}
	var truncated bool
	if int64(len(data)) > e.cfg.Limits.MaxInputBytes {
		data = data[:e.cfg.Limits.MaxInputBytes]
		truncated = true
	}
	root := run.newNode(nil, parsers.Child{Name: name, Data: data})
	if truncated {
		root.art.Findings = append(root.art.Findings, parsers.Finding{Code: "limit.input_size", Severity: parsers.Medium,
			Detail: fmt.Sprintf("input larger than %d bytes: only the first %d were judged", e.cfg.Limits.MaxInputBytes, e.cfg.Limits.MaxInputBytes)})
	}
	run.walk(root)
	run.finish()
	rep := run.report
	rep.Input = InputInfo{Name: name, Size: int64(len(data)), SHA256: root.art.SHA256, Type: root.art.Type}
	rep.Stats = Stats{DurationMS: float64(time.Since(start).Microseconds()) / 1000, Artifacts: len(rep.Artifacts), DecodedBytes: run.budget.Used(), RulesLoaded: len(e.cfg.Rules.Meta)}
	if err := ctx.Err(); err != nil && errors.Is(err, context.Canceled) {
		return rep, err
	}
	return rep, nil
}

// node is an artifact being processed.
type node struct {
	art      *Artifact
	data     []byte
	parent   *node
	children int
	derived  bool
}

type run struct {
	e      *Engine
	ctx    context.Context
	budget *parsers.Budget
	report *Report
	queue  []*node

	passwords []string
	urls      *ordered
	doms      *ordered
	ips       *ordered
}

// Passwords implements parsers.Env.
func (r *run) Passwords() []string { return r.passwords }

func (r *run) newNode(parent *node, c parsers.Child) *node {
	a := &Artifact{Name: c.Name, Size: int64(len(c.Data)), Findings: []parsers.Finding{}, YARA: []string{}}
	n := &node{art: a, data: c.Data, parent: parent, derived: c.Type != ""}
	if parent == nil {
		a.ID = "1"
	} else {
		parent.children++
		a.ID = fmt.Sprintf("%s.%d", parent.art.ID, parent.children)
		a.Parent = parent.art.ID
		a.Depth = parent.art.Depth + 1
	}
	sum := sha256.Sum256(c.Data)
	a.SHA256 = hex.EncodeToString(sum[:])
	m := md5.Sum(c.Data)
	a.MD5 = hex.EncodeToString(m[:])
	a.Type = c.Type
	if a.Type == "" {
		a.Type = filetype.Detect(c.Data, c.Name)
	}
	if len(c.Meta) > 0 {
		a.Meta = make(map[string]any, len(c.Meta))
		for k, v := range c.Meta {
			a.Meta[k] = v
		}
	}
	if c.Err != nil {
		a.Error = c.Err.Error()
	}
	if c.Text {
		max := r.e.cfg.Limits.MaxTextBytes
		t := c.Data
		if len(t) > max {
			t = t[:max]
			a.TextTruncated = true
		}
		a.Text = strings.ToValidUTF8(string(t), "\uFFFD")
	}
	if r.e.cfg.KeepData {
		a.data = c.Data
	}
	r.report.Artifacts = append(r.report.Artifacts, a)
	return n
}

// walk processes artifacts breadth-first: every child of an artifact is
// queued, so a message's bodies (and the passwords they name) are seen
// before the archives attached beside them are opened.
func (r *run) walk(root *node) {
	r.queue = append(r.queue, root)
	for len(r.queue) > 0 {
		n := r.queue[0]
		r.queue = r.queue[1:]
		if err := r.budget.Err(); err != nil {
			n.art.Findings = append(n.art.Findings, parsers.Finding{Code: "limit.deadline", Severity: parsers.Medium,
				Detail: fmt.Sprintf("message deadline (%d ms) passed before this artifact was analysed", r.e.cfg.Limits.TimeoutMillis)})
			continue
		}
		r.process(n)
		if !r.e.cfg.KeepData {
			// Its children hold what they need; drop this artifact's bytes
			// so a deep archive does not keep every level alive.
			n.data = nil
		}
	}
}

func (r *run) process(n *node) {
	a := n.art
	r.yaraScan(n)
	if filetype.IsTextual(a.Type) {
		r.textIOCs(n.data, markup(a.Type))
	}
	head := n.data
	if len(head) > 4096 {
		head = head[:4096]
	}
	pa := &parsers.Artifact{ID: a.ID, Parent: a.Parent, Name: a.Name, Type: a.Type, Depth: a.Depth, Size: a.Size}
	for _, p := range r.e.cfg.Parsers {
		if !p.Match(pa, head) {
			continue
		}
		sink := &sink{r: r, n: n, parser: p.Name()}
		in := &parsers.Input{Artifact: pa, Data: n.data, Budget: r.budget, Env: r}
		err := r.parse(p, in, sink)
		sink.close()
		if err != nil {
			r.parseError(n, p.Name(), err)
		}
	}
}

// parse runs one parser behind a recover boundary and the message deadline:
// a parser stuck past the deadline is abandoned (its sink is closed) so it
// cannot hold the worker.
func (r *run) parse(p parsers.Parser, in *parsers.Input, s *sink) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				r.e.cfg.Logger.Error("parser panic", "parser", p.Name(), "artifact", in.Artifact.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				done <- fmt.Errorf("%w: %s: %v", parsers.ErrPanic, p.Name(), v)
			}
		}()
		done <- p.Parse(r.ctx, in, s)
	}()
	select {
	case err := <-done:
		return err
	case <-r.ctx.Done():
		return fmt.Errorf("%w: %s did not finish before the message deadline", parsers.ErrDeadline, p.Name())
	}
}

func (r *run) parseError(n *node, parser string, err error) {
	a := n.art
	msg := err.Error()
	if a.Error == "" {
		a.Error = msg
	} else if !strings.Contains(a.Error, msg) {
		a.Error += "; " + msg
	}
	add := func(code string, sev parsers.Severity, detail string) {
		for _, f := range a.Findings {
			if f.Code == code {
				return
			}
		}
		a.Findings = append(a.Findings, parsers.Finding{Code: code, Severity: sev, Detail: detail})
	}
	switch {
	case errors.Is(err, parsers.ErrPanic):
		add("engine.parser_panic", parsers.Medium, msg)
	case errors.Is(err, parsers.ErrDeadline):
		add("limit.deadline", parsers.Medium, msg)
	case errors.Is(err, parsers.ErrTooDeep):
		add("limit.depth", parsers.Medium, msg)
	case errors.Is(err, parsers.ErrTooMany):
		add("limit.count", parsers.Medium, msg)
	case errors.Is(err, parsers.ErrLimit):
		add("limit.size", parsers.Medium, msg)
	case errors.Is(err, parsers.ErrMalformed):
		for _, f := range a.Findings {
			if strings.HasSuffix(f.Code, ".malformed") {
				return // the parser already said so in its own words
			}
		}
		add(parser+".malformed", parsers.Low, msg)
	case errors.Is(err, parsers.ErrUnsupported):
		add(parser+".unsupported", parsers.Info, msg)
	}
}

func (r *run) yaraScan(n *node) {
	a := n.art
	parentType := ""
	if n.parent != nil {
		parentType = n.parent.art.Type
	}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(strings.ReplaceAll(a.Name, `\`, "/"))), ".")
	timeout := time.Second
	if dl, ok := r.ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout < 50*time.Millisecond {
			timeout = 50 * time.Millisecond
		}
	}
	v := rules.Vars{Filename: a.Name, Extension: ext, Filetype: a.Type, ParentType: parentType, Depth: a.Depth, Derived: n.derived}
	matched, err := r.e.cfg.Rules.Scan(n.data, v, timeout)
	if err != nil {
		a.Findings = append(a.Findings, parsers.Finding{Code: "limit.yara", Severity: parsers.Low, Detail: fmt.Sprintf("yara scan incomplete: %v", err)})
	}
	a.YARA = append(a.YARA, matched...)
}

func (r *run) textIOCs(data []byte, markup bool) {
	if len(data) > 8*parsers.MiB {
		data = data[:8*parsers.MiB]
	}
	for _, u := range iocs.URLs(string(data)) {
		if markup && strings.IndexByte(u, '&') >= 0 {
			// In markup source "&amp;" is how "&" is written: report the
			// URL a browser follows, once.
			u = stdhtml.UnescapeString(u)
		}
		r.addURL(u)
	}
}

// markup reports whether a file type writes "&" in URLs as "&amp;".
func markup(t string) bool {
	switch t {
	case filetype.HTML, filetype.HTA, filetype.WSF, filetype.XML, filetype.MHT:
		return true
	}
	return false
}

func (r *run) addURL(u string) {
	u = strings.TrimSpace(u)
	if u == "" || len(u) > 4096 {
		return
	}
	h := iocs.Host(u)
	if h == "" {
		return
	}
	r.urls.add(u)
	if iocs.IsIP(h) {
		r.ips.add(h)
	} else {
		r.doms.add(h)
	}
}

// finish fills the message block, IOCs and the verdict.
func (r *run) finish() {
	rep := r.report
	root := rep.Artifacts[0]
	if root.Type == "eml" || root.Type == "msg" {
		rep.Message = messageInfo(root)
	}
	rep.IOCs = IOCs{URLs: r.urls.list(), Domains: r.doms.list(), IPs: r.ips.list()}
	score(rep, r.e.cfg.Rules, r.e.cfg.Scoring)
}

// sink is the parsers.Sink of one parser on one artifact. It is closed when
// the parser returns or is abandoned; calls after that are ignored.
type sink struct {
	mu     sync.Mutex
	r      *run
	n      *node
	parser string
	closed bool
	limit  bool
}

func (s *sink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *sink) Child(c parsers.Child) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%w: parser abandoned", parsers.ErrDeadline)
	}
	r := s.r
	a := s.n.art
	if a.Depth+1 > r.e.cfg.Limits.MaxDepth {
		s.limitFinding("limit.depth", fmt.Sprintf("children deeper than %d levels are not opened (first dropped: %q)", r.e.cfg.Limits.MaxDepth, c.Name))
		return fmt.Errorf("%w: depth %d", parsers.ErrTooDeep, a.Depth+1)
	}
	if err := r.budget.TakeArtifact(); err != nil {
		s.limitFinding("limit.count", fmt.Sprintf("more than %d artifacts: the rest are not opened (first dropped: %q)", r.e.cfg.Limits.MaxArtifacts, c.Name))
		return err
	}
	child := r.newNode(s.n, c)
	r.queue = append(r.queue, child)
	return nil
}

func (s *sink) limitFinding(code, detail string) {
	if s.limit {
		return
	}
	s.limit = true
	s.n.art.Findings = append(s.n.art.Findings, parsers.Finding{Code: code, Severity: parsers.Medium, Detail: detail})
}

func (s *sink) Finding(f parsers.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.n.art.Findings) > 500 {
		return
	}
	if f.Code == "" {
		f.Code = s.parser + ".finding"
	}
	s.n.art.Findings = append(s.n.art.Findings, f)
}

func (s *sink) Meta(k string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.n.art.Meta == nil {
		s.n.art.Meta = map[string]any{}
	}
	s.n.art.Meta[k] = v
}

func (s *sink) URL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.r.addURL(u)
}

func (s *sink) Password(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || len(s.r.passwords) >= 64 {
		return
	}
	for _, have := range s.r.passwords {
		if have == p {
			return
		}
	}
	s.r.passwords = append(s.r.passwords, p)
}

// ordered is an insertion-ordered string set.
type ordered struct {
	seen map[string]bool
	l    []string
}

func newOrdered() *ordered { return &ordered{seen: map[string]bool{}} }

func (o *ordered) add(s string) {
	if o.seen[s] || len(o.l) >= 5000 {
		return
	}
	o.seen[s] = true
	o.l = append(o.l, s)
}

func (o *ordered) list() []string {
	if o.l == nil {
		return []string{}
	}
	return o.l
}
