package storage

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// Report is the summary printed by `bounced report`. Its JSON form is part
// of the interface: fields are added, never renamed.
type Report struct {
	Since       time.Time `json:"since,omitzero"` // zero: everything
	GeneratedAt time.Time `json:"generated_at"`

	Messages struct {
		Total      int                   `json:"total"`      // distinct mails
		Duplicates int                   `json:"duplicates"` // further deliveries of the same mails
		Skipped    int                   `json:"skipped"`    // not classified (too large)
		ByKind     map[classify.Kind]int `json:"by_kind"`
	} `json:"messages"`

	Outcomes struct {
		Total    int                  `json:"total"` // reported recipients
		Failed   int                  `json:"failed"`
		Hard     int                  `json:"hard"`
		ByReason map[string]int       `json:"by_reason"` // failed recipients per reason
		ByKind   map[string]int       `json:"by_kind"`
		ByPolicy map[PolicyAction]int `json:"by_policy"`
	} `json:"outcomes"`

	ByDomain          []DomainCount `json:"by_domain"`           // the domains with most outcomes
	TopFailingDomains []DomainCount `json:"top_failing_domains"` // the domains with most failures
	ByDay             []DayCount    `json:"by_day"`

	Suppressed         int            `json:"suppressed"` // addresses suppressed now
	SuppressedByReason map[string]int `json:"suppressed_by_reason"`
	NewlySuppressed    int            `json:"newly_suppressed"` // suppressed since Since

	// Verification: what the mails read with verify on proved (verify =
	// "record" or "enforce"); held mails changed nobody.
	Verification struct {
		Verified   int            `json:"verified"`
		Unverified int            `json:"unverified"` // proved nothing: held with enforce, noted with record
		Held       int            `json:"held"`       // unverified mails of enforce mailboxes
		ByFailure  map[string]int `json:"by_failure"` // unverified mails per cause: no token, bad signature, expired, malformed, other recipient
	} `json:"verification"`
	// CappedMails named more addresses than max_suppress_per_mail: the
	// rest of their outcomes are stored as capped and changed nobody.
	CappedMails int `json:"capped_mails"`

	Alerts []AlertCount `json:"alerts"` // sender-side problems, most frequent first
	Runs   []Run        `json:"runs"`   // last run per mailbox
}

// DomainCount counts the outcomes of one recipient domain.
type DomainCount struct {
	Domain   string `json:"domain"`
	Outcomes int    `json:"outcomes"`
	Failed   int    `json:"failed"`
	Hard     int    `json:"hard"`
}

// DayCount counts the mails of one UTC day.
type DayCount struct {
	Day      string                `json:"day"` // YYYY-MM-DD
	Messages int                   `json:"messages"`
	ByKind   map[classify.Kind]int `json:"by_kind"`
}

// AlertCount counts the sender-side alerts of one reason and domain.
type AlertCount struct {
	Reason string    `json:"reason"`
	Domain string    `json:"domain"`
	Count  int       `json:"count"`
	Last   time.Time `json:"last"`
}

// window is a report's time range: the partial first day [since, next)
// and the whole days from next on, as stored text.
type window struct{ since, next string }

// ReportOptions select what Report covers.
type ReportOptions struct {
	Since time.Time // only mail that arrived at or after; zero: all
	Top   int       // length of the domain and alert lists (default 20)
}

// Report summarises the database in one read transaction (a consistent
// snapshot while the daemon writes).
func (db *DB) Report(ctx context.Context, o ReportOptions) (*Report, error) {
	if o.Top <= 0 {
		o.Top = 20
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("reporting: %w", err)
	}
	defer tx.Rollback()
	r := &Report{Since: o.Since, GeneratedAt: db.now().UTC()}
	var w window
	if !o.Since.IsZero() {
		s := o.Since.UTC()
		w.since = fmtTime(s)
		w.next = time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	}
	steps := []struct {
		name string
		fn   func(context.Context, *sql.Tx, *Report, window, int) error
	}{
		{"messages", reportMessages},
		{"days", reportDays},
		{"outcomes", reportOutcomes},
		{"domains", reportDomains},
		{"suppressed", reportSuppressed},
		{"alerts", reportAlerts},
		{"verification", reportVerification},
	}
	for _, s := range steps {
		if err := s.fn(ctx, tx, r, w, o.Top); err != nil {
			return nil, fmt.Errorf("reporting %s: %w", s.name, err)
		}
	}
	r.Runs, err = lastRuns(ctx, tx)
	if err != nil {
		return nil, err
	}
	if r.ByDay == nil {
		r.ByDay = []DayCount{}
	}
	if r.Runs == nil {
		r.Runs = []Run{}
	}
	return r, nil
}

// The report steps read the daily rollups (stats_*) for the whole days
// from next on, and the base tables for the partial day [since, next).
// With no since, both are "": all the rollups, no base rows.

func reportMessages(ctx context.Context, tx *sql.Tx, r *Report, w window, _ int) error {
	r.Messages.ByKind = map[classify.Kind]int{}
	rows, err := tx.QueryContext(ctx, `SELECT kind, sum(messages), sum(duplicates), sum(skipped) FROM (
		SELECT kind, messages, duplicates, skipped FROM stats_messages WHERE day >= ?2
		UNION ALL
		SELECT kind, duplicate_of IS NULL, duplicate_of IS NOT NULL, duplicate_of IS NULL AND skipped <> ''
		FROM messages WHERE at >= ?1 AND at < ?2
	) GROUP BY kind`, w.since, w.next)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n, dups, skipped int
		if err := rows.Scan(&k, &n, &dups, &skipped); err != nil {
			return err
		}
		if n > 0 {
			r.Messages.ByKind[classify.Kind(k)] = n
		}
		r.Messages.Total += n
		r.Messages.Duplicates += dups
		r.Messages.Skipped += skipped
	}
	return rows.Err()
}

func reportDays(ctx context.Context, tx *sql.Tx, r *Report, w window, _ int) error {
	rows, err := tx.QueryContext(ctx, `SELECT day, kind, sum(n) FROM (
		SELECT day, kind, messages AS n FROM stats_messages WHERE day >= ?2
		UNION ALL
		SELECT substr(at, 1, 10), kind, 1 FROM messages WHERE at >= ?1 AND at < ?2 AND duplicate_of IS NULL
	) GROUP BY day, kind HAVING sum(n) > 0 ORDER BY day, kind`, w.since, w.next)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day, k string
		var n int
		if err := rows.Scan(&day, &k, &n); err != nil {
			return err
		}
		if len(r.ByDay) == 0 || r.ByDay[len(r.ByDay)-1].Day != day {
			r.ByDay = append(r.ByDay, DayCount{Day: day, ByKind: map[classify.Kind]int{}})
		}
		d := &r.ByDay[len(r.ByDay)-1]
		d.ByKind[classify.Kind(k)] = n
		d.Messages += n
	}
	return rows.Err()
}

func reportOutcomes(ctx context.Context, tx *sql.Tx, r *Report, w window, _ int) error {
	o := &r.Outcomes
	o.ByReason, o.ByKind, o.ByPolicy = map[string]int{}, map[string]int{}, map[PolicyAction]int{}
	rows, err := tx.QueryContext(ctx, `SELECT kind, action, reason, hard, policy, sum(n) FROM (
		SELECT kind, action, reason, hard, policy, outcomes AS n FROM stats_outcomes WHERE day >= ?2
		UNION ALL
		SELECT o.kind, o.action, o.reason, o.hard, o.policy, 1
		FROM messages m JOIN outcomes o ON o.message_id = m.id WHERE m.at >= ?1 AND m.at < ?2
	) GROUP BY kind, action, reason, hard, policy HAVING sum(n) > 0`, w.since, w.next)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, action, reason, policy string
		var hard bool
		var n int
		if err := rows.Scan(&kind, &action, &reason, &hard, &policy, &n); err != nil {
			return err
		}
		o.Total += n
		o.ByKind[kind] += n
		o.ByPolicy[PolicyAction(policy)] += n
		if action == string(classify.ActionFailed) {
			o.Failed += n
			o.ByReason[reason] += n
		}
		if hard {
			o.Hard += n
		}
	}
	return rows.Err()
}

func reportDomains(ctx context.Context, tx *sql.Tx, r *Report, w window, top int) error {
	byDomain := map[string]*DomainCount{}
	add := func(query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d DomainCount
			if err := rows.Scan(&d.Domain, &d.Outcomes, &d.Failed, &d.Hard); err != nil {
				return err
			}
			if c, ok := byDomain[d.Domain]; ok {
				c.Outcomes, c.Failed, c.Hard = c.Outcomes+d.Outcomes, c.Failed+d.Failed, c.Hard+d.Hard
			} else {
				byDomain[d.Domain] = &d
			}
		}
		return rows.Err()
	}
	// Two queries merged here: each streams in index order, no sort.
	if err := add(`SELECT domain, sum(outcomes), sum(failed), sum(hard) FROM stats_domains WHERE day >= ?
		GROUP BY domain HAVING sum(outcomes) > 0`, w.next); err != nil {
		return err
	}
	if w.since != "" {
		if err := add(`SELECT o.domain, count(*), sum(o.action = 'failed'), sum(o.hard)
			FROM messages m JOIN outcomes o ON o.message_id = m.id WHERE m.at >= ? AND m.at < ?
			GROUP BY o.domain`, w.since, w.next); err != nil {
			return err
		}
	}
	all := make([]DomainCount, 0, len(byDomain))
	for _, d := range byDomain {
		all = append(all, *d)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Outcomes != all[j].Outcomes {
			return all[i].Outcomes > all[j].Outcomes
		}
		return all[i].Domain < all[j].Domain
	})
	r.ByDomain = append([]DomainCount{}, all[:min(top, len(all))]...)
	sort.Slice(all, func(i, j int) bool {
		if all[i].Failed != all[j].Failed {
			return all[i].Failed > all[j].Failed
		}
		return all[i].Domain < all[j].Domain
	})
	r.TopFailingDomains = []DomainCount{}
	for _, d := range all[:min(top, len(all))] {
		if d.Failed > 0 {
			r.TopFailingDomains = append(r.TopFailingDomains, d)
		}
	}
	return nil
}

func reportSuppressed(ctx context.Context, tx *sql.Tx, r *Report, w window, _ int) error {
	r.SuppressedByReason = map[string]int{}
	rows, err := tx.QueryContext(ctx, `SELECT reason, count(*), sum(since >= ?) FROM recipients WHERE state = 'suppressed' GROUP BY reason`, w.since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n, recent int
		if err := rows.Scan(&reason, &n, &recent); err != nil {
			return err
		}
		r.SuppressedByReason[reason] = n
		r.Suppressed += n
		r.NewlySuppressed += recent
	}
	return rows.Err()
}

func reportAlerts(ctx context.Context, tx *sql.Tx, r *Report, w window, top int) error {
	// last_at of a rollup row may be stale after a reclassify removed the
	// latest alert of that day; the count is exact.
	rows, err := tx.QueryContext(ctx, `SELECT reason, domain, sum(n), max(last) FROM (
		SELECT reason, domain, alerts AS n, last_at AS last FROM stats_alerts WHERE day >= ?2
		UNION ALL
		SELECT a.reason, a.domain, 1, a.at FROM messages m JOIN alerts a ON a.message_id = m.id WHERE m.at >= ?1 AND m.at < ?2
	) GROUP BY reason, domain HAVING sum(n) > 0`, w.since, w.next)
	if err != nil {
		return err
	}
	defer rows.Close()
	var all []AlertCount
	for rows.Next() {
		var a AlertCount
		var last string
		if err := rows.Scan(&a.Reason, &a.Domain, &a.Count, &last); err != nil {
			return err
		}
		a.Last = parseTime(last)
		all = append(all, a)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		if all[i].Reason != all[j].Reason {
			return all[i].Reason < all[j].Reason
		}
		return all[i].Domain < all[j].Domain
	})
	r.Alerts = append([]AlertCount{}, all[:min(top, len(all))]...)
	return nil
}

func reportVerification(ctx context.Context, tx *sql.Tx, r *Report, w window, _ int) error {
	v := &r.Verification
	v.ByFailure = map[string]int{}
	rows, err := tx.QueryContext(ctx, `SELECT v.mode, v.result, v.recipient <> '', v.failure, count(*)
		FROM verifications v JOIN messages m ON m.id = v.message_id
		WHERE m.at >= ?1 AND v.result <> 'none' GROUP BY 1, 2, 3, 4`, w.since)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var mode, result, failure string
		var token bool
		var n int
		if err := rows.Scan(&mode, &result, &token, &failure, &n); err != nil {
			return err
		}
		if result == Verified {
			v.Verified += n
			continue
		}
		v.Unverified += n
		if VerifyMode(mode) == VerifyEnforce {
			v.Held += n
		}
		v.ByFailure[failureCause(failure, token)] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, `SELECT count(DISTINCT o.message_id) FROM outcomes o JOIN messages m ON m.id = o.message_id
		WHERE o.policy = 'capped' AND m.at >= ?1`, w.since).Scan(&r.CappedMails)
}

// failureCause sorts a stored verification failure into a few causes.
func failureCause(failure string, token bool) string {
	switch {
	case token:
		return "other recipient" // a valid token, for another address
	case strings.Contains(failure, "no token"):
		return "no token"
	case strings.Contains(failure, "bad signature"):
		return "bad signature"
	case strings.Contains(failure, "expired"):
		return "expired"
	case strings.Contains(failure, "no recipient"):
		return "no recipient"
	}
	return "malformed"
}
