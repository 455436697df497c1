package daemon

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the daemon's Prometheus metrics, on a registry of their own
// (no global state). README.md documents each one.
type metrics struct {
	reg *prometheus.Registry

	messages       *prometheus.CounterVec // account, mailbox, verdict
	triageSeconds  prometheus.Histogram   // engine time per message
	messageSeconds prometheus.Histogram   // fetch to action done
	errors         *prometheus.CounterVec // stage
	reconnects     *prometheus.CounterVec // account, mailbox
	queueDepth     prometheus.Gauge       // fetched, waiting for a worker
	inFlight       prometheus.Gauge       // fetched, not yet acted on
	lastPoll       *prometheus.GaugeVec   // account, mailbox: unix seconds
	connected      *prometheus.GaugeVec   // account, mailbox: 0/1
	actions        *prometheus.CounterVec // action
	sinks          *prometheus.CounterVec // sink, outcome
	oversize       prometheus.Counter     //
	forwarded      prometheus.Counter     //
	pendingAtStart prometheus.Gauge       //
	stale          *prometheus.CounterVec // account, mailbox
	fetchedBytes   *prometheus.CounterVec // account, mailbox
}

func newMetrics() *metrics {
	const ns = "triage_daemon"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_total",
			Help: "Messages whose result was recorded, by verdict."}, []string{"account", "mailbox", "verdict"}),
		triageSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "triage_duration_seconds",
			Help:    "Time the triage engine spent on one message.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}),
		messageSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "message_duration_seconds",
			Help:    "Time from fetching a message to finishing its mailbox action.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_total",
			Help: "Errors by stage: connect, scan, fetch, triage, store, sink, action."}, []string{"stage"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "reconnects_total",
			Help: "IMAP sessions re-established after a failure."}, []string{"account", "mailbox"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "queue_depth",
			Help: "Fetched messages waiting for a triage worker."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "in_flight",
			Help: "Messages fetched and not yet acted on."}),
		lastPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_successful_poll_timestamp_seconds",
			Help: "Unix time of the last successful scan of a mailbox."}, []string{"account", "mailbox"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "connected",
			Help: "1 while the mailbox's IMAP session is up."}, []string{"account", "mailbox"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "actions_total",
			Help: "Mailbox actions completed: moved, copied, flagged, none, gone."}, []string{"action"}),
		sinks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "sink_deliveries_total",
			Help: "Sink delivery attempts by outcome: ok, retry, failed."}, []string{"sink", "outcome"}),
		oversize: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "oversize_total",
			Help: "Messages over max_message_bytes, recorded without being fetched."}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "forwarded_reports_total",
			Help: "Messages recognised as a report forwarding another message as an attachment."}),
		pendingAtStart: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "pending_at_start",
			Help: "Unfinished messages found in the store at start (work a previous process left)."}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "uidvalidity_changes_total",
			Help: "UIDVALIDITY changes seen; unfinished records of the old value become stale."}, []string{"account", "mailbox"}),
		fetchedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "fetched_bytes_total",
			Help: "Message bytes fetched."}, []string{"account", "mailbox"}),
	}
	m.reg.MustRegister(m.messages, m.triageSeconds, m.messageSeconds, m.errors, m.reconnects, m.queueDepth, m.inFlight,
		m.lastPoll, m.connected, m.actions, m.sinks, m.oversize, m.forwarded, m.pendingAtStart, m.stale, m.fetchedBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range []string{"connect", "scan", "fetch", "triage", "store", "sink", "action"} {
		m.errors.WithLabelValues(s) // export zeros, so rate() works from the start
	}
	return m
}
