package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Filter selects stored results. Empty fields match everything.
type Filter struct {
	Verdict   string    // exact
	From      string    // substring of the sender, the reporter or the reported sender (case-insensitive)
	MessageID string    // the message's or the reported message's Message-ID (<> optional)
	Subject   string    // substring, case-insensitive
	Account   string    // exact
	Mailbox   string    // exact
	State     State     // exact
	Since     time.Time // seen at or after
	Limit     int       // newest first; 0 = no limit
}

// Match reports whether r passes the filter.
func (f *Filter) Match(r *Record) bool {
	if f.Verdict != "" && r.Verdict != f.Verdict {
		return false
	}
	if f.Account != "" && r.Account != f.Account {
		return false
	}
	if f.Mailbox != "" && r.Mailbox != f.Mailbox {
		return false
	}
	if f.State != "" && r.State != f.State {
		return false
	}
	if !f.Since.IsZero() && r.SeenAt.Before(f.Since) {
		return false
	}
	if f.From != "" {
		needle := strings.ToLower(f.From)
		hay := []string{r.Message.From, r.Reporter}
		if r.Reported != nil {
			hay = append(hay, r.Reported.From)
		}
		if !containsAny(hay, needle) {
			return false
		}
	}
	if f.Subject != "" {
		hay := []string{r.Message.Subject}
		if r.Reported != nil {
			hay = append(hay, r.Reported.Subject)
		}
		if !containsAny(hay, strings.ToLower(f.Subject)) {
			return false
		}
	}
	if f.MessageID != "" {
		id := strings.Trim(f.MessageID, "<> ")
		ok := strings.Trim(r.Message.MessageID, "<> ") == id
		if r.Reported != nil && strings.Trim(r.Reported.MessageID, "<> ") == id {
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

func containsAny(hay []string, needle string) bool {
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), needle) {
			return true
		}
	}
	return false
}

// Query returns the records matching f, newest first.
func (s *Store) Query(f Filter) ([]*Record, error) {
	var out []*Record
	err := s.ForEach(func(r *Record) bool {
		if f.Match(r) {
			out = append(out, r)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].SeenAt.Equal(out[j].SeenAt) {
			return out[i].SeenAt.After(out[j].SeenAt)
		}
		return out[i].ID > out[j].ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// FilterFromQuery reads a Filter from URL query parameters (verdict, from,
// message_id, subject, account, mailbox, state, since (a duration ago or
// RFC 3339), limit).
func FilterFromQuery(q url.Values) (Filter, error) {
	f := Filter{Verdict: q.Get("verdict"), From: q.Get("from"), MessageID: q.Get("message_id"), Subject: q.Get("subject"),
		Account: q.Get("account"), Mailbox: q.Get("mailbox"), State: State(q.Get("state"))}
	if s := q.Get("since"); s != "" {
		t, err := ParseSince(s, time.Now())
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return f, fmt.Errorf("limit %q: want a number", s)
		}
		f.Limit = n
	}
	return f, nil
}

// ParseSince reads "24h" (that long before now) or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want a duration (24h) or an RFC 3339 time", s)
	}
	return t, nil
}

// MailboxHealth is one mailbox in /healthz.
type MailboxHealth struct {
	Account   string    `json:"account"`
	Mailbox   string    `json:"mailbox"`
	Connected bool      `json:"connected"`
	LastPoll  time.Time `json:"last_poll"`
	LastError string    `json:"last_error,omitempty"`
	Healthy   bool      `json:"healthy"`
}

// Health reports each mailbox: healthy when it was scanned successfully
// within health.stale_after (since start, before the first scan).
func (d *Daemon) Health() (ok bool, list []MailboxHealth) {
	ok = true
	now := time.Now()
	for _, w := range d.watchers {
		last := time.Unix(0, w.lastPoll.Load())
		h := MailboxHealth{Account: w.acct.Name, Mailbox: w.mailbox, Connected: w.connected.Load(), LastPoll: last.UTC(),
			LastError: w.lastErr.Load().(string), Healthy: now.Sub(last) <= d.cfg.Health.StaleAfter.D()}
		ok = ok && h.Healthy
		list = append(list, h)
	}
	return ok, list
}

// Handler serves /metrics (Prometheus), /healthz and the read-only results
// API: /api/results?verdict=…&from=…&message_id=… and /api/results/{id}
// (add ?report=1 for the full report).
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ok, list := d.Health()
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]any{"ok": ok, "mailboxes": list})
	})
	mux.HandleFunc("GET /api/results", func(w http.ResponseWriter, r *http.Request) {
		f, err := FilterFromQuery(r.URL.Query())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		recs, err := d.store.Query(f)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		if recs == nil {
			recs = []*Record{}
		}
		writeJSON(w, http.StatusOK, recs)
	})
	mux.HandleFunc("GET /api/results/{id...}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		rec, err := d.store.Get(id)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if rec == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such result"})
			return
		}
		out := ResultWithReport{Record: rec}
		if r.URL.Query().Get("report") != "" {
			rep, err := d.store.Report(id)
			if err == nil && rep != nil {
				out.Report = rep
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

// ResultWithReport is a record with its stored report.
type ResultWithReport struct {
	*Record
	Report json.RawMessage `json:"report,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
