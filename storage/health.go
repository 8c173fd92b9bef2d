package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// HealthOptions are the thresholds of the mailbox health checks that the
// usual tools never make. A zero field turns its check off.
type HealthOptions struct {
	// FailedRuns: this many failed runs in a row is a problem (1: the
	// last run failed).
	FailedRuns int
	// NoBounce: no bounce or delay notice arrived for this long, while the
	// mailbox was polled. A sender's mail always bounces somewhere; none at
	// all usually means the Return-Path no longer points at this mailbox.
	NoBounce time.Duration
	// SpikeWindow, SpikeMin, SpikeFactor: sender-side alerts (blocked as
	// spam, DNSBL, authentication failures: the problem is on the sender's
	// side) are a spike when the last window holds at least SpikeMin of
	// them and SpikeFactor times the mean of the seven windows before.
	SpikeWindow time.Duration
	SpikeMin    int
	SpikeFactor float64
}

// DefaultHealth is what a config without [health] gets.
var DefaultHealth = HealthOptions{
	FailedRuns:  1,
	NoBounce:    7 * 24 * time.Hour,
	SpikeWindow: 24 * time.Hour,
	SpikeMin:    10,
	SpikeFactor: 3,
}

// spikeHistory is how many windows before the last one make the baseline.
const spikeHistory = 7

// Health is what the store knows of one mailbox's health.
type Health struct {
	Mailbox    string    `json:"mailbox"`
	FailedRuns int       `json:"failed_runs"`          // failed runs in a row, up to the last finished one
	LastError  string    `json:"last_error,omitempty"` // the error of the last failed run of that series
	FirstRun   time.Time `json:"first_run,omitzero"`   // start of the mailbox's first run
	LastOK     time.Time `json:"last_ok,omitzero"`     // end of its last successful run
	LastBounce time.Time `json:"last_bounce,omitzero"` // arrival of its newest bounce or delay notice
	// SenderSide counts the sender-side alerts of the last window, per
	// reason; SenderBefore is their mean per window over the windows
	// before.
	SenderSide   map[string]int `json:"sender_side,omitempty"`
	SenderBefore float64        `json:"sender_side_before"`
	Problems     []Problem      `json:"problems"`
}

// Problem is one failed health check.
type Problem struct {
	Check   string `json:"check"` // one of HealthChecks
	Message string `json:"message"`
}

// The health checks, by the name that metrics and JSON give them.
const (
	CheckFailedRuns  = "failed_runs"
	CheckNoBounce    = "no_bounce"
	CheckSenderSpike = "sender_spike"
)

// HealthChecks lists every check.
var HealthChecks = []string{CheckFailedRuns, CheckNoBounce, CheckSenderSpike}

// Messages returns the problems' messages.
func (h Health) Messages() []string {
	out := make([]string, len(h.Problems))
	for i, p := range h.Problems {
		out[i] = p.Message
	}
	return out
}

// SenderSideTotal sums SenderSide.
func (h Health) SenderSideTotal() int {
	n := 0
	for _, c := range h.SenderSide {
		n += c
	}
	return n
}

// MailboxHealth reads what the health checks need for mailbox and judges
// it at now.
func (db *DB) MailboxHealth(ctx context.Context, mailbox string, now time.Time, o HealthOptions) (Health, error) {
	h := Health{Mailbox: mailbox}
	if err := db.runHealth(ctx, &h); err != nil {
		return h, fmt.Errorf("health of %s: runs: %w", mailbox, err)
	}
	var last sql.NullString
	// The newest first along messages_at: this stops at the first bounce
	// of the mailbox instead of reading all its mail.
	err := db.sql.QueryRowContext(ctx, qLastBounce, mailbox).Scan(&last)
	if err != nil && err != sql.ErrNoRows {
		return h, fmt.Errorf("health of %s: last bounce: %w", mailbox, err)
	}
	h.LastBounce = parseNullTime(last)
	if o.SpikeWindow > 0 {
		if err := db.senderHealth(ctx, &h, now, o.SpikeWindow); err != nil {
			return h, fmt.Errorf("health of %s: sender-side alerts: %w", mailbox, err)
		}
	}
	h.Problems = h.judge(now, o)
	return h, nil
}

const qLastBounce = `SELECT at FROM messages WHERE account = ? AND kind IN ('bounce', 'delay') ORDER BY at DESC LIMIT 1`

// runHealth reads the series of failed runs up to the last finished run,
// the first run and the last successful one.
func (db *DB) runHealth(ctx context.Context, h *Health) error {
	var first sql.NullString
	if err := db.sql.QueryRowContext(ctx, `SELECT started_at FROM runs WHERE account = ? ORDER BY id LIMIT 1`, h.Mailbox).Scan(&first); err != nil && err != sql.ErrNoRows {
		return err
	}
	h.FirstRun = parseNullTime(first)
	var lastOK sql.NullString
	if err := db.sql.QueryRowContext(ctx, `SELECT ended_at FROM runs WHERE account = ? AND ended_at IS NOT NULL AND err = '' ORDER BY id DESC LIMIT 1`, h.Mailbox).Scan(&lastOK); err != nil && err != sql.ErrNoRows {
		return err
	}
	h.LastOK = parseNullTime(lastOK)
	// The failed runs after the last good one (a run still going, or
	// killed, has no end and counts neither way).
	q := `SELECT count(*), coalesce(max(CASE WHEN id = (SELECT max(id) FROM runs WHERE account = ?1 AND ended_at IS NOT NULL) THEN err END), '')
		FROM runs WHERE account = ?1 AND ended_at IS NOT NULL AND err != ''
		AND id > coalesce((SELECT max(id) FROM runs WHERE account = ?1 AND ended_at IS NOT NULL AND err = ''), 0)`
	return db.sql.QueryRowContext(ctx, q, h.Mailbox).Scan(&h.FailedRuns, &h.LastError)
}

// senderHealth counts the sender-side alerts of the last window per
// reason, and the mean per window of the spikeHistory windows before.
func (db *DB) senderHealth(ctx context.Context, h *Health, now time.Time, window time.Duration) error {
	from := now.Add(-window)
	rows, err := db.sql.QueryContext(ctx, qSenderWindow, h.Mailbox, fmtTime(from), fmtTime(now))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			return err
		}
		if h.SenderSide == nil {
			h.SenderSide = map[string]int{}
		}
		h.SenderSide[reason] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var before int
	err = db.sql.QueryRowContext(ctx, qSenderBefore, h.Mailbox, fmtTime(from.Add(-spikeHistory*window)), fmtTime(from)).Scan(&before)
	h.SenderBefore = float64(before) / spikeHistory
	return err
}

// The sender-side alerts of a mailbox in a time range: along alerts_at
// (0011), a few days of alerts, each checked against its mail's mailbox.
// The unary + keeps the planner off messages_account_kind_at, which would
// read every mail the mailbox ever had.
const (
	qSenderWindow = `SELECT a.reason, count(*) FROM alerts a JOIN messages m ON m.id = a.message_id
		WHERE +m.account = ? AND a.at >= ? AND a.at <= ? GROUP BY a.reason`
	qSenderBefore = `SELECT count(*) FROM alerts a JOIN messages m ON m.id = a.message_id
		WHERE +m.account = ? AND a.at >= ? AND a.at < ?`
)

// judge says what is wrong with h at now, in words, worst first.
func (h Health) judge(now time.Time, o HealthOptions) []Problem {
	out := []Problem{}
	add := func(check, format string, args ...any) {
		out = append(out, Problem{Check: check, Message: fmt.Sprintf(format, args...)})
	}
	if o.FailedRuns > 0 && h.FailedRuns >= o.FailedRuns {
		what := "run"
		if h.FailedRuns > 1 {
			what = "runs"
		}
		add(CheckFailedRuns, "%d failed %s in a row: %s", h.FailedRuns, what, h.LastError)
	}
	// Quiet only counts while the mailbox was being read: since its first
	// run, and up to its last good run (a mailbox that cannot log in says
	// so above, not as "no bounce").
	if o.NoBounce > 0 && !h.FirstRun.IsZero() && !h.LastOK.IsZero() {
		since := h.LastBounce
		if since.IsZero() || since.Before(h.FirstRun) {
			since = h.FirstRun
		}
		if quiet := h.LastOK.Sub(since); quiet >= o.NoBounce {
			what := "none since the first run on " + h.FirstRun.UTC().Format(time.DateOnly)
			if since.Equal(h.LastBounce) {
				what = "the last arrived " + since.UTC().Format(time.DateOnly)
			}
			add(CheckNoBounce, "no bounce for %s (%s): does the Return-Path of your mail still lead here?", days(quiet), what)
		}
	}
	if n := h.SenderSideTotal(); o.SpikeMin > 0 && n >= o.SpikeMin && float64(n) >= o.SpikeFactor*h.SenderBefore {
		reasons := make([]string, 0, len(h.SenderSide))
		for r, c := range h.SenderSide {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, c))
		}
		sort.Strings(reasons)
		add(CheckSenderSpike, "spike in sender-side rejections: %d in the last %s (%s) against %.1f before: the problem is on your side (reputation, DNSBL, authentication)",
			n, days(o.SpikeWindow), strings.Join(reasons, ", "), h.SenderBefore)
	}
	return out
}

// days writes d as whole days, or hours below two days.
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
