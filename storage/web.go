package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// The queries of the web report (package web). Each reads a bounded part
// of an index: the front page the rollups of the last days, a page of
// suppressions its rows and no more (TestQueryPlans checks them).

// Overview is what the web report's front page shows of the database,
// read in one transaction (a consistent snapshot while the daemon writes).
type Overview struct {
	From string // the first day covered (YYYY-MM-DD, UTC); the last is today
	// Days: distinct mails per day and kind (stats_messages), oldest first,
	// only days with mail.
	Days []DayCount
	// Reasons: failed recipients per day and reason (stats_outcomes).
	Reasons []ReasonDay
	// FailingDomains: the domains with most failed recipients since From.
	FailingDomains []DomainCount
	// Alerts: the sender-side problems since From, most frequent first.
	Alerts     []AlertCount
	Suppressed int // addresses suppressed now
	Size       Size
}

// ReasonDay counts the failed recipients of one reason on one UTC day.
type ReasonDay struct {
	Day      string `json:"day"`
	Reason   string `json:"reason"`
	Outcomes int    `json:"outcomes"`
}

// Size is how large the database file is, and how much of it is free
// pages that a VACUUM would give back (bounced never vacuums).
type Size struct {
	PageSize  int64 `json:"page_size"`
	Pages     int64 `json:"pages"`
	FreePages int64 `json:"free_pages"`
}

// Bytes is the size of the file: pages times the page size.
func (s Size) Bytes() int64 { return s.Pages * s.PageSize }

// FreeBytes is the size of the free pages.
func (s Size) FreeBytes() int64 { return s.FreePages * s.PageSize }

const (
	qWebDays    = `SELECT day, kind, messages FROM stats_messages WHERE day >= ? AND messages > 0 ORDER BY day, kind`
	qWebReasons = `SELECT day, reason, sum(outcomes) FROM stats_outcomes WHERE day >= ? AND action = 'failed'
		GROUP BY day, reason HAVING sum(outcomes) > 0 ORDER BY day, reason`
	qWebDomains = `SELECT domain, sum(outcomes), sum(failed), sum(hard) FROM stats_domains INDEXED BY stats_domains_day
		WHERE day >= ? GROUP BY domain HAVING sum(failed) > 0 ORDER BY sum(failed) DESC, domain LIMIT ?`
	qWebAlerts = `SELECT reason, domain, sum(alerts), max(last_at) FROM stats_alerts INDEXED BY stats_alerts_day
		WHERE day >= ? GROUP BY reason, domain HAVING sum(alerts) > 0 ORDER BY sum(alerts) DESC, reason, domain LIMIT ?`
	qWebSuppressed = `SELECT count(*) FROM recipients WHERE state = 'suppressed' AND suppressed_at >= ''`
)

// Overview reads the front page of the web report: the rollups of the
// whole UTC days from from on (whole days only: the rollups, never the
// base tables), the top lists cut at top entries.
func (db *DB) Overview(ctx context.Context, from time.Time, top int) (Overview, error) {
	if top <= 0 {
		top = 20
	}
	o := Overview{From: from.UTC().Format(time.DateOnly)}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return o, fmt.Errorf("reading overview: %w", err)
	}
	defer tx.Rollback()
	query := func(what, q string, scan func(*sql.Rows) error, args ...any) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("reading overview: %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("reading overview: %s: %w", what, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading overview: %s: %w", what, err)
		}
		return nil
	}
	err = query("days", qWebDays, func(rows *sql.Rows) error {
		var day, kind string
		var n int
		if err := rows.Scan(&day, &kind, &n); err != nil {
			return err
		}
		if len(o.Days) == 0 || o.Days[len(o.Days)-1].Day != day {
			o.Days = append(o.Days, DayCount{Day: day, ByKind: map[classify.Kind]int{}})
		}
		d := &o.Days[len(o.Days)-1]
		d.ByKind[classify.Kind(kind)] += n
		d.Messages += n
		return nil
	}, o.From)
	if err != nil {
		return o, err
	}
	err = query("reasons", qWebReasons, func(rows *sql.Rows) error {
		var r ReasonDay
		if err := rows.Scan(&r.Day, &r.Reason, &r.Outcomes); err != nil {
			return err
		}
		o.Reasons = append(o.Reasons, r)
		return nil
	}, o.From)
	if err != nil {
		return o, err
	}
	err = query("domains", qWebDomains, func(rows *sql.Rows) error {
		var d DomainCount
		if err := rows.Scan(&d.Domain, &d.Outcomes, &d.Failed, &d.Hard); err != nil {
			return err
		}
		o.FailingDomains = append(o.FailingDomains, d)
		return nil
	}, o.From, top)
	if err != nil {
		return o, err
	}
	err = query("alerts", qWebAlerts, func(rows *sql.Rows) error {
		var a AlertCount
		var last string
		if err := rows.Scan(&a.Reason, &a.Domain, &a.Count, &last); err != nil {
			return err
		}
		a.Last = parseTime(last)
		o.Alerts = append(o.Alerts, a)
		return nil
	}, o.From, top)
	if err != nil {
		return o, err
	}
	if err := tx.QueryRowContext(ctx, qWebSuppressed).Scan(&o.Suppressed); err != nil {
		return o, fmt.Errorf("reading overview: suppressed: %w", err)
	}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"page_size", &o.Size.PageSize}, {"page_count", &o.Size.Pages}, {"freelist_count", &o.Size.FreePages}} {
		if err := tx.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.v); err != nil {
			return o, fmt.Errorf("reading overview: %s: %w", p.name, err)
		}
	}
	return o, nil
}

// SuppressionFilter selects a page of the suppression list.
type SuppressionFilter struct {
	// Query: with an '@', addresses starting with it (the page in address
	// order); without, the suppressions of that domain. Lower-cased.
	Query  string
	Reason string    // only this reason (userunknown, complaint:abuse, manual, score...)
	Since  time.Time // only those recorded at or after (Recipient.SuppressedAt)
	Offset int
	Limit  int // default 50
	// NoTotal leaves the count of all the filter selects out (total is
	// -1): a download needs only its rows.
	NoTotal bool
}

// suppressionWhere returns the keys f selects (a query of the suppressed
// addresses, from an index alone), its arguments, and the order of a page.
func suppressionWhere(f SuppressionFilter) (keys string, args []any, order string) {
	var where []string
	order = ` ORDER BY suppressed_at DESC, address DESC`
	q := strings.ToLower(strings.TrimSpace(f.Query))
	switch {
	case strings.Contains(q, "@"):
		// A prefix as a range of the primary key: LIKE would not use it
		// (case-insensitive by default) and would take % and _ as patterns.
		where = append(where, `address >= ? AND address < ?`)
		args = append(args, q, q+"\U0010FFFF")
		order = ` ORDER BY address`
	case q != "":
		where = append(where, `domain = ?`)
		args = append(args, q)
	}
	if f.Reason != "" {
		where = append(where, `reason = ?`)
		args = append(args, f.Reason)
	}
	if !f.Since.IsZero() {
		where = append(where, `suppressed_at >= ?`)
		args = append(args, fmtTime(f.Since))
	} else if q == "" && f.Reason == "" {
		// Every suppression has a suppressed_at (0004): this bound lets
		// the newest-first walk of recipients_suppressed be a search.
		where = append(where, `suppressed_at >= ''`)
	}
	keys = `SELECT address FROM recipients WHERE state = 'suppressed'`
	for _, w := range where {
		keys += ` AND ` + w
	}
	return keys, args, order
}

// suppressionPage returns the query of a page and its arguments (without
// the LIMIT and OFFSET).
func suppressionPage(f SuppressionFilter) (string, []any) {
	// The page's keys first, from the index alone (an OFFSET skips index
	// entries, not table rows), then their rows.
	keys, args, order := suppressionWhere(f)
	return `SELECT ` + recipientColumns + ` FROM recipients WHERE address IN (` + keys + order + ` LIMIT ? OFFSET ?)` + order, args
}

// suppressionCount returns the query that counts what f selects, from the
// same index as its pages.
func suppressionCount(f SuppressionFilter) (string, []any) {
	keys, args, _ := suppressionWhere(f)
	return `SELECT count(*) FROM (` + keys + `)`, args
}

// SuppressionPage returns one page of the suppression list as f selects
// it, newest suppression first (in address order for an address prefix),
// and how many suppressions f selects in all (-1 with NoTotal). Both are read in one
// transaction, so the count is the page's.
func (db *DB) SuppressionPage(ctx context.Context, f SuppressionFilter) (page []Recipient, total int, err error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	tx, err := db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("listing suppressions: %w", err)
	}
	defer tx.Rollback()
	total = -1
	if !f.NoTotal {
		cq, cargs := suppressionCount(f)
		if err := tx.QueryRowContext(ctx, cq, cargs...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("counting suppressions: %w", err)
		}
	}
	q, args := suppressionPage(f)
	rows, err := tx.QueryContext(ctx, q, append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing suppressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("listing suppressions: %w", err)
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing suppressions: %w", err)
	}
	return page, total, nil
}

// SuppressionReasons lists the reasons of the suppressed addresses, for
// the filter of /suppressions.
func (db *DB) SuppressionReasons(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, qWebReasonList)
	if err != nil {
		return nil, fmt.Errorf("listing suppression reasons: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("listing suppression reasons: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// qWebReasonList skips from one reason to the next along the index (a
// recursive step per distinct reason, not a read of every suppression).
const qWebReasonList = `WITH RECURSIVE r(reason) AS (
	SELECT min(reason) FROM recipients WHERE state = 'suppressed' AND reason >= ''
	UNION ALL
	SELECT (SELECT min(reason) FROM recipients WHERE state = 'suppressed' AND reason > r.reason) FROM r WHERE r.reason IS NOT NULL
) SELECT reason FROM r WHERE reason IS NOT NULL`
