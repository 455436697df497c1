package daemon

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"triage/pipeline"
)

// Event is what a sink receives: the result of one message.
type Event struct {
	ID          string               `json:"id"` // first: the JSONL sink finds it by prefix
	Account     string               `json:"account"`
	Mailbox     string               `json:"mailbox"`
	UIDValidity uint32               `json:"uidvalidity"`
	UID         uint32               `json:"uid"`
	Verdict     string               `json:"verdict"`
	Score       int                  `json:"score"`
	Rules       []string             `json:"rules"`
	Message     pipeline.MessageInfo `json:"message"`
	Reporter    string               `json:"reporter,omitempty"`
	Reported    *Reported            `json:"reported,omitempty"`
	Oversize    bool                 `json:"oversize,omitempty"`
	Error       string               `json:"error,omitempty"`
	Size        int64                `json:"size"`
	SHA256      string               `json:"sha256,omitempty"`
	Folder      string               `json:"folder,omitempty"`
	Keywords    []string             `json:"keywords,omitempty"`
	TriagedAt   time.Time            `json:"triaged_at"`
	Report      json.RawMessage      `json:"report,omitempty"`
}

func eventOf(r *Record, report []byte) *Event {
	rules := r.Rules
	if rules == nil {
		rules = []string{}
	}
	return &Event{ID: r.ID, Account: r.Account, Mailbox: r.Mailbox, UIDValidity: r.UIDValidity, UID: r.UID,
		Verdict: r.Verdict, Score: r.Score, Rules: rules, Message: r.Message, Reporter: r.Reporter, Reported: r.Reported,
		Oversize: r.Oversize, Error: r.Error, Size: r.Size, SHA256: r.SHA256, Folder: r.Folder, Keywords: r.Keywords,
		TriagedAt: r.TriagedAt, Report: report}
}

// Sink receives results after they are stored and before the mailbox is
// touched. Deliver returns nil only once the result is durable on the
// other side.
type Sink interface {
	Name() string
	Deliver(ctx context.Context, ev *Event) error
	// WantsReport says whether events should carry the full report.
	WantsReport() bool
	Close() error
}

// JSONLSink appends one JSON object per line to a file and fsyncs before
// acknowledging. Concurrent deliveries share one write and one fsync
// (group commit).
type JSONLSink struct {
	path    string
	report  bool
	f       *os.File
	reqs    chan jsonlReq
	done    chan struct{}
	mu      sync.Mutex
	already map[string]bool // IDs found in the file at start: not written again
	closed  bool
}

type jsonlReq struct {
	line []byte
	res  chan error
}

// OpenJSONL opens (creating) the file for appending. A torn last line left
// by a crash is cut off: its record was not yet acknowledged, so it will
// be written again.
func OpenJSONL(path string, includeReport bool) (*JSONLSink, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("daemon: jsonl sink: %w", err)
	}
	if err := repairTail(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("daemon: jsonl sink %s: %w", path, err)
	}
	s := &JSONLSink{path: path, report: includeReport, f: f, reqs: make(chan jsonlReq, 256), done: make(chan struct{}), already: map[string]bool{}}
	go s.loop()
	return s, nil
}

// repairTail truncates the file after its last newline.
func repairTail(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return nil
	}
	buf := make([]byte, 64<<10)
	end := size
	for end > 0 {
		n := int64(len(buf))
		if end < n {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			cut := end - n + int64(i) + 1
			if cut == size {
				return nil
			}
			return f.Truncate(cut)
		}
		end -= n
	}
	return f.Truncate(0)
}

// Name implements Sink.
func (s *JSONLSink) Name() string { return "jsonl" }

// WantsReport implements Sink.
func (s *JSONLSink) WantsReport() bool { return s.report }

// Preload scans the file for lines carrying any of ids (results a crash
// may have left written but unacknowledged) so that they are not written
// twice. It reads the whole file once; call it before the first Deliver.
func (s *JSONLSink) Preload(ids map[string]bool) (found int, err error) {
	if len(ids) == 0 {
		return 0, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	prefix := []byte(`{"id":`)
	for {
		// The id leads the line: read it before the rest of a long line
		// (a full report) is skipped, which reuses the buffer.
		line, err := r.ReadSlice('\n')
		if bytes.HasPrefix(line, prefix) {
			if id, ok := lineID(line[len(prefix):]); ok && ids[id] {
				s.markAlready(id)
				found++
			}
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return found, err
		}
	}
}

func (s *JSONLSink) markAlready(id string) {
	s.mu.Lock()
	s.already[id] = true
	s.mu.Unlock()
}

// lineID decodes the JSON string at the start of b.
func lineID(b []byte) (string, bool) {
	var id string
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&id); err != nil {
		return "", false
	}
	return id, true
}

// Deliver implements Sink.
func (s *JSONLSink) Deliver(ctx context.Context, ev *Event) error {
	s.mu.Lock()
	if s.already[ev.ID] {
		delete(s.already, ev.ID)
		s.mu.Unlock()
		return nil
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("daemon: jsonl sink closed")
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req := jsonlReq{line: append(line, '\n'), res: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.res // once queued, the write completes (or fails) promptly
}

func (s *JSONLSink) loop() {
	defer close(s.done)
	var buf bytes.Buffer
	for req := range s.reqs {
		batch := []jsonlReq{req}
	drain:
		for len(batch) < 512 {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		buf.Reset()
		for _, r := range batch {
			buf.Write(r.line)
		}
		var off int64 = -1
		if st, err := s.f.Stat(); err == nil {
			off = st.Size()
		}
		_, err := s.f.Write(buf.Bytes())
		if err == nil {
			err = s.f.Sync()
		}
		if err != nil {
			err = fmt.Errorf("daemon: jsonl sink %s: %w", s.path, err)
			// Nothing of a failed batch may stay: its lines will be
			// written again when the deliveries are retried.
			if off >= 0 {
				_ = s.f.Truncate(off)
			} else {
				_ = repairTail(s.f)
			}
		}
		for _, r := range batch {
			r.res <- err
		}
	}
}

// Close implements Sink.
func (s *JSONLSink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.reqs)
	<-s.done
	return s.f.Close()
}

// WebhookSink POSTs each result as JSON. Network errors, 408, 429 and 5xx
// are retried with exponential backoff and jitter (Retry-After honoured);
// other statuses fail at once. Every request carries an Idempotency-Key
// header (the result ID): after a crash between the receiver's 2xx and the
// store's commit the same result is posted again, and the receiver can
// drop it.
type WebhookSink struct {
	cfg    WebhookConfig
	client *http.Client
	// OnAttempt, when set, is told the outcome of every attempt (metrics).
	OnAttempt func(outcome string)
	sleep     func(ctx context.Context, d time.Duration) error
}

// NewWebhook returns a webhook sink.
func NewWebhook(cfg WebhookConfig) (*WebhookSink, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("daemon: webhook ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("daemon: webhook ca_file %s: no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr.TLSClientConfig = tlsCfg
	return &WebhookSink{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout.D()}, sleep: sleepCtx}, nil
}

// Name implements Sink.
func (w *WebhookSink) Name() string { return "webhook" }

// WantsReport implements Sink.
func (w *WebhookSink) WantsReport() bool { return w.cfg.IncludeReport }

// Close implements Sink.
func (w *WebhookSink) Close() error { w.client.CloseIdleConnections(); return nil }

// Deliver implements Sink.
func (w *WebhookSink) Deliver(ctx context.Context, ev *Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	backoff := w.cfg.InitialBackoff.D()
	var last error
	for attempt := 1; ; attempt++ {
		wait, err := w.post(ctx, ev.ID, body)
		if err == nil {
			w.note("ok")
			return nil
		}
		last = err
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil {
			w.note("failed")
			return err
		}
		if attempt >= w.cfg.MaxAttempts {
			w.note("failed")
			return fmt.Errorf("daemon: webhook: giving up after %d attempts: %w", attempt, last)
		}
		w.note("retry")
		d := jitter(backoff)
		if wait > 0 {
			d = min(wait, w.cfg.MaxBackoff.D())
		}
		if err := w.sleep(ctx, d); err != nil {
			return fmt.Errorf("daemon: webhook: %w (last error: %v)", err, last)
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff.D())
	}
}

func (w *WebhookSink) note(outcome string) {
	if w.OnAttempt != nil {
		w.OnAttempt(outcome)
	}
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// post makes one attempt. A 429/503 Retry-After is returned as wait.
func (w *WebhookSink) post(ctx context.Context, id string, body []byte) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "triage-daemon")
	req.Header.Set("Idempotency-Key", id)
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	if w.cfg.BearerTokenFile != "" {
		tok, err := readSecretFile(w.cfg.BearerTokenFile)
		if err != nil {
			return 0, fmt.Errorf("daemon: webhook bearer_token_file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("daemon: webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return 0, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				wait = time.Duration(n) * time.Second
			}
		}
		return wait, fmt.Errorf("daemon: webhook: HTTP %d", resp.StatusCode)
	default:
		return 0, &permanentError{fmt.Errorf("daemon: webhook: HTTP %d", resp.StatusCode)}
	}
}

// jitter returns a duration in [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
