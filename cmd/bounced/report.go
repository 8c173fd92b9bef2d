package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/web"
)

func reportCommand() command {
	return command{
		name:    "report",
		args:    "[--db PATH] [--config FILE] [--since DURATION] [--format text|json|csv] [--top N]",
		summary: "totals per kind, reason, domain and day; sender-side alerts; last runs",
		help: `Summarises the database: mails per kind (distinct mails; further deliveries of
the same mail are counted apart as duplicates), outcomes per reason and
policy action, the recipient domains with most outcomes and most failures,
mails per day, the suppression list's size per reason, sender-side alerts
(blocked, spamdetected, ...: your sending has a problem, the recipients are
not blamed) and the last run of each mailbox.

--since 7d (or 36h) counts only mail that arrived in that period; the
suppression total is always the current one. --top sets the length of the
domain and alert lists (default 20).

--format json prints one object; it has at least
  {"messages": {"total": N, "by_kind": {...}}, "outcomes": {"by_reason": {...}},
   "suppressed": N}
--format csv prints rows of section,key,value; a cell that starts with =, +, -,
@, a tab, a CR or ' gets a leading ' so that a spreadsheet does not run it.
The database is opened read-only: a running daemon is not disturbed.`,
		run: runReport,
	}
}

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("report")
	dbf := addDBFlags(fs)
	sinceFlag := fs.String("since", "", "only mail of the last `DURATION` (36h, 7d)")
	format := fs.String("format", "text", "output format: text, json or csv")
	top := fs.Int("top", 20, "length of the domain and alert lists")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	if err := oneOf(fs, "format", *format, "text", "json", "csv"); err != nil {
		return err
	}
	since, err := parseSince("report", *sinceFlag, time.Now())
	if err != nil {
		return err
	}
	if *top < 1 {
		return usagef("report: --top %d: want at least 1", *top)
	}
	db, release, _, err := dbf.open(ctx, e, dbRead, false)
	if err != nil {
		return err
	}
	defer release()
	r, err := db.Report(ctx, storage.ReportOptions{Since: since, Top: *top})
	if err != nil {
		return err
	}
	return writeReport(e.stdout, r, *format)
}

// writeReport prints a report in one of the formats text, json, csv.
func writeReport(w io.Writer, r *storage.Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "csv":
		return writeReportCSV(w, r)
	}
	return writeReportText(w, r)
}

func sortedCounts[K ~string](m map[K]int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}

func writeReportText(w io.Writer, r *storage.Report) error {
	b := bufio.NewWriter(w)
	period := "all time"
	if !r.Since.IsZero() {
		period = "since " + r.Since.UTC().Format("2006-01-02 15:04 UTC")
	}
	fmt.Fprintf(b, "bounced report, %s\n\n", period)
	m := r.Messages
	fmt.Fprintf(b, "Mails: %d (plus %d duplicate deliveries, %d skipped: too large, or no mail)\n", m.Total, m.Duplicates, m.Skipped)
	for _, k := range classify.Kinds {
		if n := m.ByKind[k]; n > 0 {
			fmt.Fprintf(b, "  %-12s %8d\n", k, n)
		}
	}
	o := r.Outcomes
	fmt.Fprintf(b, "\nRecipients reported: %d (%d failed, %d hard)\n", o.Total, o.Failed, o.Hard)
	if len(o.ByReason) > 0 {
		fmt.Fprintf(b, "Failures per reason:\n")
		for _, k := range sortedCounts(o.ByReason) {
			fmt.Fprintf(b, "  %-16s %8d\n", k, o.ByReason[k])
		}
	}
	if len(o.ByPolicy) > 0 {
		fmt.Fprintf(b, "Policy actions:")
		for _, k := range sortedCounts(o.ByPolicy) {
			fmt.Fprintf(b, " %s %d;", k, o.ByPolicy[k])
		}
		fmt.Fprintln(b)
	}
	if len(r.TopFailingDomains) > 0 {
		fmt.Fprintf(b, "\nTop failing domains:          failed     hard  outcomes\n")
		for _, d := range r.TopFailingDomains {
			fmt.Fprintf(b, "  %-26s %8d %8d %9d\n", d.Domain, d.Failed, d.Hard, d.Outcomes)
		}
	}
	if len(r.ByDomain) > 0 {
		fmt.Fprintf(b, "\nDomains with most outcomes:  outcomes   failed     hard\n")
		for _, d := range r.ByDomain {
			fmt.Fprintf(b, "  %-26s %8d %8d %8d\n", d.Domain, d.Outcomes, d.Failed, d.Hard)
		}
	}
	if len(r.ByDay) > 0 {
		fmt.Fprintf(b, "\nPer day:\n")
		for _, d := range r.ByDay {
			fmt.Fprintf(b, "  %s %8d ", d.Day, d.Messages)
			for _, k := range classify.Kinds {
				if n := d.ByKind[k]; n > 0 {
					fmt.Fprintf(b, " %s %d", k, n)
				}
			}
			fmt.Fprintln(b)
		}
	}
	fmt.Fprintf(b, "\nSuppressed addresses: %d", r.Suppressed)
	if !r.Since.IsZero() {
		fmt.Fprintf(b, " (%d in the period)", r.NewlySuppressed)
	}
	fmt.Fprintln(b)
	for _, k := range sortedCounts(r.SuppressedByReason) {
		fmt.Fprintf(b, "  %-16s %8d\n", k, r.SuppressedByReason[k])
	}
	if v := r.Verification; v.Verified+v.Unverified > 0 {
		fmt.Fprintf(b, "\nVerification (verify = record or enforce): %d verified, %d unverified (%d held: they changed nobody)\n",
			v.Verified, v.Unverified, v.Held)
		for _, k := range sortedCounts(v.ByFailure) {
			fmt.Fprintf(b, "  %-16s %8d\n", k, v.ByFailure[k])
		}
	}
	if r.CappedMails > 0 {
		fmt.Fprintf(b, "\nCapped: %d mails named more addresses than max_suppress_per_mail; %d outcomes changed nobody (forged or list-wide?)\n",
			r.CappedMails, r.Outcomes.ByPolicy[storage.ActionCapped])
	}
	if len(r.Alerts) > 0 {
		fmt.Fprintf(b, "\nSender-side alerts (your sending has a problem; recipients are not blamed):\n")
		for _, a := range r.Alerts {
			fmt.Fprintf(b, "  %-16s %-26s %6d  last %s\n", a.Reason, a.Domain, a.Count, a.Last.UTC().Format("2006-01-02 15:04"))
		}
	}
	if len(r.Runs) > 0 {
		fmt.Fprintf(b, "\nLast run per mailbox:\n")
		for _, run := range r.Runs {
			state := "running or interrupted"
			if !run.Ended.IsZero() {
				state = fmt.Sprintf("took %s", run.Ended.Sub(run.Started).Round(time.Millisecond))
			}
			fmt.Fprintf(b, "  %-16s %s, %s: fetched %d, recorded %d, duplicates %d, skipped %d, disposed %d, errors %d",
				run.Account, run.Started.UTC().Format("2006-01-02 15:04:05 UTC"), state, run.Stats.Fetched, run.Stats.Recorded,
				run.Stats.Duplicates, run.Stats.Skipped, run.Stats.Disposed, run.Stats.Errors)
			if run.Stats.Err != "" {
				fmt.Fprintf(b, " (%s)", run.Stats.Err)
			}
			fmt.Fprintln(b)
		}
	}
	return b.Flush()
}

func writeReportCSV(w io.Writer, r *storage.Report) error {
	cw := web.NewCSVWriter(w)
	row := func(section, key string, v int) { cw.Write([]string{section, key, strconv.Itoa(v)}) }
	cw.Write([]string{"section", "key", "value"})
	row("messages", "total", r.Messages.Total)
	row("messages", "duplicates", r.Messages.Duplicates)
	row("messages", "skipped", r.Messages.Skipped)
	for _, k := range classify.Kinds {
		if n := r.Messages.ByKind[k]; n > 0 {
			row("kind", string(k), n)
		}
	}
	row("outcomes", "total", r.Outcomes.Total)
	row("outcomes", "failed", r.Outcomes.Failed)
	row("outcomes", "hard", r.Outcomes.Hard)
	for _, k := range sortedCounts(r.Outcomes.ByReason) {
		row("reason", k, r.Outcomes.ByReason[k])
	}
	for _, k := range sortedCounts(r.Outcomes.ByPolicy) {
		row("policy", string(k), r.Outcomes.ByPolicy[k])
	}
	for _, d := range r.ByDomain {
		row("domain", d.Domain, d.Outcomes)
	}
	for _, d := range r.TopFailingDomains {
		row("failing_domain", d.Domain, d.Failed)
	}
	for _, d := range r.ByDay {
		row("day", d.Day, d.Messages)
	}
	row("suppressed", "total", r.Suppressed)
	for _, k := range sortedCounts(r.SuppressedByReason) {
		row("suppressed_reason", k, r.SuppressedByReason[k])
	}
	row("verification", "verified", r.Verification.Verified)
	row("verification", "unverified", r.Verification.Unverified)
	row("verification", "held", r.Verification.Held)
	for _, k := range sortedCounts(r.Verification.ByFailure) {
		row("unverified_cause", k, r.Verification.ByFailure[k])
	}
	row("capped", "mails", r.CappedMails)
	for _, a := range r.Alerts {
		row("alert", a.Reason+" "+a.Domain, a.Count)
	}
	for _, run := range r.Runs {
		row("run_recorded", run.Account, run.Stats.Recorded)
	}
	cw.Flush()
	return cw.Error()
}
