// Package monitor serves the daemon's health and Prometheus metrics
// (text exposition format, github.com/prometheus/client_golang): /metrics,
// /healthz (the process is alive) and /readyz (every mailbox's last run
// was ok, none is overdue and its health checks pass; no webhook target
// has a dead letter). It learns about
// runs from the store the pollers write them to (Monitor.Wrap), so the
// poller knows nothing of it; after each run it asks that store for the
// mailbox's health (storage.DB.MailboxHealth).
//
// It does not poll, hold SQL or read the config.
package monitor

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

// Monitor gathers what the runs report.
type Monitor struct {
	mu      sync.Mutex
	now     func() time.Time
	dbPath  func() string
	next    map[string]func(time.Time) time.Time // per mailbox: its schedule
	started map[int64]runStart                   // run id -> its mailbox and start
	last    map[string]runState                  // per mailbox
	health  map[string]storage.Health            // per mailbox, after its last run
	hopts   storage.HealthOptions

	reg        *prometheus.Registry
	runs       *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	mails      *prometheus.CounterVec
	errors     *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	lastOK     *prometheus.GaugeVec
	failing    *prometheus.GaugeVec
	backlog    *prometheus.GaugeVec
	problem    *prometheus.GaugeVec
	dbSize     prometheus.GaugeFunc
	hooks      *prometheus.CounterVec // webhook attempts per target and result
	hookQueue  *prometheus.GaugeVec   // webhook events waiting per target and state

	hookTargets map[string]bool // the targets hookQueue has series of
	hookDead    map[string]int  // per target: dead letters after its last pass
}

type runStart struct {
	mailbox string
	at      time.Time
}

type runState struct {
	ended, lastOK time.Time
	err           string
	failures      int // consecutive failed runs
}

// New returns a Monitor; dbPath names the database whose size is reported
// (a function: a reload may change it); now nil means time.Now.
func New(dbPath func() string, now func() time.Time) *Monitor {
	if now == nil {
		now = time.Now
	}
	m := &Monitor{now: now, dbPath: dbPath, next: map[string]func(time.Time) time.Time{},
		started: map[int64]runStart{}, last: map[string]runState{}, health: map[string]storage.Health{},
		hopts: storage.DefaultHealth, reg: prometheus.NewRegistry(), hookTargets: map[string]bool{}, hookDead: map[string]int{}}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bounced_runs_total", Help: "Runs per mailbox and result (ok, failed)."}, []string{"mailbox", "result"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bounced_run_duration_seconds", Help: "Duration of a run.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)}, []string{"mailbox"})
	m.mails = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bounced_mails_total",
		Help: "Mails recorded (duplicates not counted), per mailbox, kind and reason (of the first failed recipient; empty for none)."}, []string{"mailbox", "kind", "reason"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bounced_errors_total", Help: "Failed runs per mailbox and step (connect, login, fetch, store, dispose, other)."}, []string{"mailbox", "step"})
	m.suppressed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bounced_suppressions_added_total", Help: "Addresses suppressed, per mailbox."}, []string{"mailbox"})
	m.lastOK = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bounced_last_success_timestamp_seconds", Help: "End of the last successful run, Unix time."}, []string{"mailbox"})
	m.failing = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bounced_consecutive_failures", Help: "Failed runs in a row (login failing for N runs...)."}, []string{"mailbox"})
	m.backlog = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bounced_backlog", Help: "New mails the last run listed and left for the next (batch and run limits)."}, []string{"mailbox"})
	m.problem = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bounced_health_problem",
		Help: "1 when a mailbox health check fails after the last run: failed_runs, no_bounce (a broken Return-Path?), sender_spike."}, []string{"mailbox", "check"})
	m.dbSize = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bounced_database_bytes", Help: "Size of the database file and its -wal."}, func() float64 {
		var n int64
		for _, p := range []string{m.dbPath(), m.dbPath() + "-wal"} {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return float64(n)
	})
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bounced_webhook_attempts_total",
		Help: "Webhook delivery attempts per target and result: delivered, failed (retried later), dead (dead-lettered)."}, []string{"target", "result"})
	m.hookQueue = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bounced_webhook_events",
		Help: "Webhook events waiting per target: pending (to deliver or retry) and dead (dead-lettered: bounced webhooks retry)."}, []string{"target", "state"})
	m.reg.MustRegister(m.runs, m.duration, m.mails, m.errors, m.suppressed, m.lastOK, m.failing, m.backlog, m.problem, m.dbSize,
		m.hooks, m.hookQueue,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Schedule tells the monitor when a mailbox is next due after a time, for
// /readyz's overdue check.
func (m *Monitor) Schedule(mailbox string, next func(time.Time) time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next[mailbox] = next
}

// SetHealthOptions sets the thresholds of the health checks (at start and
// on every reload).
func (m *Monitor) SetHealthOptions(o storage.HealthOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hopts = o
}

// Keep forgets every mailbox not named (removed or disabled by a reload),
// so /readyz stops judging it and its gauges go.
func (m *Monitor) Keep(mailboxes []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := map[string]bool{}
	for _, n := range mailboxes {
		keep[n] = true
	}
	for n := range m.next {
		if keep[n] {
			continue
		}
		delete(m.next, n)
		delete(m.last, n)
		delete(m.health, n)
		for _, g := range []*prometheus.GaugeVec{m.lastOK, m.failing, m.backlog, m.problem} {
			g.DeletePartialMatch(prometheus.Labels{"mailbox": n})
		}
	}
}

// WebhookAttempt counts one webhook delivery attempt of target: result
// is delivered, failed or dead (webhook.Observer).
func (m *Monitor) WebhookAttempt(target, result string) {
	m.hooks.WithLabelValues(target, result).Inc()
}

// WebhookQueue sets what waits for target after a pass of the webhook
// worker (webhook.Observer); a dead letter makes /readyz fail until a
// pass finds none (`bounced webhooks retry`).
func (m *Monitor) WebhookQueue(target string, pending, dead int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hookTargets[target] = true
	m.hookDead[target] = dead
	m.hookQueue.WithLabelValues(target, "pending").Set(float64(pending))
	m.hookQueue.WithLabelValues(target, "dead").Set(float64(dead))
}

// KeepWebhooks forgets the webhook targets not named (removed by a
// reload): their gauges go, and /readyz stops judging them.
func (m *Monitor) KeepWebhooks(targets []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t := range m.hookTargets {
		if !slices.Contains(targets, t) {
			delete(m.hookTargets, t)
			delete(m.hookDead, t)
			m.hookQueue.DeletePartialMatch(prometheus.Labels{"target": t})
		}
	}
}

// healthReader is the part of storage.DB that judges a mailbox's health.
type healthReader interface {
	MailboxHealth(ctx context.Context, mailbox string, now time.Time, o storage.HealthOptions) (storage.Health, error)
}

// Wrap returns a store that reports every run it records to the monitor.
func (m *Monitor) Wrap(s poller.Store) poller.Store { return &store{Store: s, m: m} }

type store struct {
	poller.Store
	m *Monitor
}

func (s *store) StartRun(ctx context.Context, account string, at time.Time) (int64, error) {
	id, err := s.Store.StartRun(ctx, account, at)
	if err == nil {
		s.m.mu.Lock()
		s.m.started[id] = runStart{account, at}
		s.m.mu.Unlock()
	}
	return id, err
}

func (s *store) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	res, err := s.Store.Record(ctx, recs)
	if err == nil && len(recs) > 0 {
		mailbox := recs[0].Source.Account
		n := 0
		for i, r := range res {
			n += len(r.Suppressed)
			if r.Duplicate || i >= len(recs) {
				continue
			}
			reason := ""
			if rs := recs[i].Verdict.Recipients; len(rs) > 0 && recs[i].Skipped == "" {
				reason = string(rs[0].Reason)
			}
			s.m.mails.WithLabelValues(mailbox, string(r.Kind), reason).Inc()
		}
		s.m.suppressed.WithLabelValues(mailbox).Add(float64(n))
	}
	return res, err
}

func (s *store) FinishRun(ctx context.Context, id int64, at time.Time, st storage.RunStats) error {
	err := s.Store.FinishRun(ctx, id, at, st)
	mailbox := s.m.finished(id, at, st)
	if hr, ok := s.Store.(healthReader); ok && mailbox != "" && err == nil {
		s.m.mu.Lock()
		o := s.m.hopts
		s.m.mu.Unlock()
		h, herr := hr.MailboxHealth(ctx, mailbox, s.m.now(), o)
		if herr != nil {
			h = storage.Health{Mailbox: mailbox, Problems: []storage.Problem{{Check: "unknown", Message: "health unknown: " + herr.Error()}}}
		}
		s.m.setHealth(mailbox, h)
	}
	return err
}

// setHealth keeps h for /readyz and sets its gauges.
func (m *Monitor) setHealth(mailbox string, h storage.Health) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.health[mailbox] = h
	for _, c := range storage.HealthChecks {
		v := 0.0
		for _, p := range h.Problems {
			if p.Check == c {
				v = 1
			}
		}
		m.problem.WithLabelValues(mailbox, c).Set(v)
	}
}

// finished records one run's end and returns its mailbox ("" for a run
// this monitor did not see start).
func (m *Monitor) finished(id int64, at time.Time, st storage.RunStats) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	start, ok := m.started[id]
	delete(m.started, id)
	if !ok {
		return ""
	}
	mailbox := start.mailbox
	m.duration.WithLabelValues(mailbox).Observe(at.Sub(start.at).Seconds())
	m.backlog.WithLabelValues(mailbox).Set(float64(st.Backlog))
	rs := m.last[mailbox]
	rs.ended, rs.err = at, st.Err
	if st.Err == "" {
		m.runs.WithLabelValues(mailbox, "ok").Inc()
		rs.lastOK, rs.failures = at, 0
		m.lastOK.WithLabelValues(mailbox).Set(float64(at.Unix()))
	} else {
		m.runs.WithLabelValues(mailbox, "failed").Inc()
		m.errors.WithLabelValues(mailbox, Step(st.Err)).Inc()
		rs.failures++
	}
	m.failing.WithLabelValues(mailbox).Set(float64(rs.failures))
	m.last[mailbox] = rs
	return mailbox
}

// Step names the step of a run's error: connect, login, fetch, store,
// dispose or other (from the error text's context).
func Step(err string) string {
	e := strings.ToLower(err)
	switch {
	case strings.Contains(e, "logging in") || strings.Contains(e, "login") || strings.Contains(e, "authenticat"):
		return "login"
	case strings.Contains(e, "connect") || strings.Contains(e, "dial") || strings.Contains(e, "tls") || strings.Contains(e, "greeting"):
		return "connect"
	case strings.Contains(e, "recording") || strings.Contains(e, "database") || strings.Contains(e, "marking"):
		return "store"
	case strings.Contains(e, "moving") || strings.Contains(e, "dispos") || strings.Contains(e, "expunge") || strings.Contains(e, "copy") || strings.Contains(e, "flag"):
		return "dispose"
	case strings.Contains(e, "fetch") || strings.Contains(e, "select") || strings.Contains(e, "listing"):
		return "fetch"
	}
	return "other"
}

// Unready lists the mailboxes that are not fine, with why: a failed last
// run, a run more than grace overdue, or a failed health check (as judged
// after its last run). A mailbox that has not finished a run since the
// daemon started is fine until it is overdue. Then the webhook targets
// with dead letters (as counted after their last pass): an event given up
// on, which someone must look at, as `bounced status` says.
func (m *Monitor) Unready(started time.Time, grace time.Duration) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []string
	names := make([]string, 0, len(m.next))
	for n := range m.next {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		rs, ran := m.last[name]
		switch {
		case ran && rs.err != "":
			out = append(out, fmt.Sprintf("%s: last run failed (%d in a row): %s", name, rs.failures, rs.err))
		default:
			from := started
			if ran {
				from = rs.ended
			}
			if due := m.next[name](from); now.Sub(due) > grace {
				out = append(out, fmt.Sprintf("%s: overdue since %s", name, due.UTC().Format(time.DateTime)))
			}
		}
		for _, p := range m.health[name].Problems {
			// A failed last run is said above already.
			if p.Check != storage.CheckFailedRuns || !ran || rs.err == "" {
				out = append(out, fmt.Sprintf("%s: %s: %s", name, p.Check, p.Message))
			}
		}
	}
	targets := make([]string, 0, len(m.hookDead))
	for t, n := range m.hookDead {
		if n > 0 {
			targets = append(targets, t)
		}
	}
	sort.Strings(targets)
	for _, t := range targets {
		out = append(out, fmt.Sprintf("webhook %s: %d dead letters: 'bounced webhooks list --state dead' shows them, 'bounced webhooks retry' re-queues them",
			t, m.hookDead[t]))
	}
	return out
}

// Handler serves /metrics, /healthz and /readyz.
func (m *Monitor) Handler(started time.Time, grace time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if bad := m.Unready(started, grace); len(bad) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(bad, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
