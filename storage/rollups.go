package storage

import (
	"fmt"
	"strings"
)

// rollups are the daily counts (stats_* tables) a write transaction adds,
// gathered in Go and written at its end with one upsert per changed row:
// a batch of 200 mails of one day touches a handful of rows instead of
// four upserts per mail.
type rollups struct {
	messages map[msgDay]*msgCounts
	outcomes map[outcomeDay]int
	domains  map[domainDay]*domainCounts
	alerts   map[alertDay]*alertCounts
}

type msgDay struct{ day, kind string }

type msgCounts struct{ messages, duplicates, skipped int }

type outcomeDay struct {
	day, kind, action, reason string
	hard                      bool
	policy                    string
}

type domainDay struct{ domain, day string }

type domainCounts struct{ outcomes, failed, hard int }

type alertDay struct{ reason, domain, day string }

type alertCounts struct {
	alerts int
	last   string
}

// day is the rollup day of a stored time (fmtTime): its YYYY-MM-DD prefix.
func day(at string) string { return at[:10] }

func (r *rollups) message(at string, kind string, duplicate, skipped bool) {
	if r.messages == nil {
		r.messages = map[msgDay]*msgCounts{}
	}
	k := msgDay{day(at), kind}
	c := r.messages[k]
	if c == nil {
		c = &msgCounts{}
		r.messages[k] = c
	}
	switch {
	case duplicate:
		c.duplicates++
	case skipped:
		c.messages++
		c.skipped++
	default:
		c.messages++
	}
}

func (r *rollups) outcome(at string, kind, domain, action, reason string, hard bool, policy string) {
	if r.outcomes == nil {
		r.outcomes = map[outcomeDay]int{}
		r.domains = map[domainDay]*domainCounts{}
	}
	d := day(at)
	r.outcomes[outcomeDay{d, kind, action, reason, hard, policy}]++
	k := domainDay{domain, d}
	c := r.domains[k]
	if c == nil {
		c = &domainCounts{}
		r.domains[k] = c
	}
	c.outcomes++
	if action == "failed" {
		c.failed++
	}
	if hard {
		c.hard++
	}
}

func (r *rollups) alert(at string, reason, domain string) {
	if r.alerts == nil {
		r.alerts = map[alertDay]*alertCounts{}
	}
	k := alertDay{reason, domain, day(at)}
	c := r.alerts[k]
	if c == nil {
		c = &alertCounts{}
		r.alerts[k] = c
	}
	c.alerts++
	if at > c.last {
		c.last = at
	}
}

const (
	qRollMessages = `INSERT INTO stats_messages(day, kind, messages, duplicates, skipped)`
	tRollMessages = ` ON CONFLICT(day, kind) DO UPDATE SET messages = messages + excluded.messages,
		duplicates = duplicates + excluded.duplicates, skipped = skipped + excluded.skipped`
	qRollOutcomes = `INSERT INTO stats_outcomes(day, kind, action, reason, hard, policy, outcomes)`
	tRollOutcomes = ` ON CONFLICT(day, kind, action, reason, hard, policy) DO UPDATE SET outcomes = outcomes + excluded.outcomes`
	qRollDomains  = `INSERT INTO stats_domains(domain, day, outcomes, failed, hard)`
	tRollDomains  = ` ON CONFLICT(domain, day) DO UPDATE SET outcomes = outcomes + excluded.outcomes,
		failed = failed + excluded.failed, hard = hard + excluded.hard`
	qRollAlerts = `INSERT INTO stats_alerts(reason, domain, day, alerts, last_at)`
	tRollAlerts = ` ON CONFLICT(reason, domain, day) DO UPDATE SET alerts = alerts + excluded.alerts,
		last_at = max(last_at, excluded.last_at)`
)

// flush writes the gathered counts and forgets them.
func (w *writer) flushRollups() error {
	r := &w.roll
	var args []any
	for k, c := range r.messages {
		args = append(args, k.day, k.kind, c.messages, c.duplicates, c.skipped)
	}
	if _, err := w.rows(qRollMessages, 5, tRollMessages, args, nil); err != nil {
		return fmt.Errorf("updating stats_messages: %w", err)
	}
	args = args[:0]
	for k, n := range r.outcomes {
		args = append(args, k.day, k.kind, k.action, k.reason, k.hard, k.policy, n)
	}
	if _, err := w.rows(qRollOutcomes, 7, tRollOutcomes, args, nil); err != nil {
		return fmt.Errorf("updating stats_outcomes: %w", err)
	}
	args = args[:0]
	for k, c := range r.domains {
		args = append(args, k.domain, k.day, c.outcomes, c.failed, c.hard)
	}
	if _, err := w.rows(qRollDomains, 5, tRollDomains, args, nil); err != nil {
		return fmt.Errorf("updating stats_domains: %w", err)
	}
	args = args[:0]
	for k, c := range r.alerts {
		args = append(args, k.reason, k.domain, k.day, c.alerts, c.last)
	}
	if _, err := w.rows(qRollAlerts, 5, tRollAlerts, args, nil); err != nil {
		return fmt.Errorf("updating stats_alerts: %w", err)
	}
	*r = rollups{}
	return nil
}

// maxRowsPerStatement bounds a multi-row statement (SQLite allows 32766
// variables; the widest row has 33).
const maxRowsPerStatement = 64

// rowsSQL returns head + " VALUES (?,...),(?,...)" + tail for n rows of
// width placeholders: each row is rowOf(head, width).
func rowsSQL(head string, width, n int, tail string) string {
	row := rowOf(head, width)
	var b strings.Builder
	b.Grow(len(head) + len(tail) + n*(len(row)+1) + 8)
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// rowOf is one row of the VALUES of head: the table's own row template
// (rMessages, rOutcomes, rAlerts), else width plain placeholders.
func rowOf(head string, width int) string {
	switch head {
	case hMessages:
		return rMessages
	case hOutcomes:
		return rOutcomes
	case hAlerts:
		return rAlerts
	}
	return "(?" + strings.Repeat(",?", width-1) + ")"
}
