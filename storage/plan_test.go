package storage

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestQueryPlans checks with EXPLAIN QUERY PLAN that the queries run per
// mail, per batch or per poll search an index, so that no index they need
// is dropped unnoticed and none of them reads a whole table.
func TestQueryPlans(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		query string
		args  int
		want  string // in the plan
	}{
		{qMaxMessageID, 0, "SEARCH messages"},
		{qBySourceIMAP, 4, "USING INDEX messages_imap"},
		{qBySourceFile, 2, "USING INDEX messages_file"},
		{qByDigest, 1, "USING INDEX messages_digest"},
		{db.inSQL(hStates, 8), 8, "USING PRIMARY KEY (address=?)"},
		{db.inSQL(hSoft, 8), 10, "USING COVERING INDEX outcomes_address (address=? AND policy=? AND at>? AND at<?)"},
		{qSoftEvents, 3, "USING COVERING INDEX outcomes_address (address=? AND policy=? AND at>? AND at<?)"},
		{qSetState, 9, "USING PRIMARY KEY (address=?)"},
		{qPending, 3, "USING INDEX messages_pending"},
		{qFlagged, 3, "USING INDEX messages_flagged"},
		{qLastBounce, 1, "USING COVERING INDEX messages_account_kind_at (account=? AND kind=?)"},
		{`SELECT ` + recipientColumns + ` FROM recipients WHERE state = 'suppressed' AND suppressed_at >= ? ORDER BY suppressed_at, address`, 1,
			"USING INDEX recipients_suppressed (suppressed_at>?)"},
		{qDue, 3, "SEARCH d USING INDEX webhook_deliveries_pending (target=?)"},
		{qNextDue, 1, "USING INDEX webhook_deliveries_pending (target=?)"},
		{qCountPending, 1, "USING COVERING INDEX webhook_deliveries_pending (target=?)"},
		{qCountDead, 1, "USING COVERING INDEX webhook_deliveries_dead (target=?)"},
		{qTargetLast, 1, "USING PRIMARY KEY (name=?)"},
		{qEventsAfter, 2, "USING INTEGER PRIMARY KEY (rowid>?)"},
		{qEventMail, 1, "USING INTEGER PRIMARY KEY (rowid=?)"},
		{qPruneOutbox, 2, "USING COVERING INDEX webhook_deliveries_event (event_id=?)"},
		{`SELECT checks FROM health_state WHERE mailbox = ?`, 1, "USING PRIMARY KEY (mailbox=?)"},
		{`DELETE FROM outcomes WHERE message_id = ?`, 1, "USING COVERING INDEX outcomes_message"},
		{`DELETE FROM archive WHERE stored_at < ?`, 1, "USING COVERING INDEX archive_stored_at"},
		// The web report (web.go).
		{qWebDays, 1, "SEARCH stats_messages USING PRIMARY KEY (day>?)"},
		{qWebReasons, 1, "SEARCH stats_outcomes USING PRIMARY KEY (day>?)"},
		{qWebDomains, 2, "SEARCH stats_domains USING COVERING INDEX stats_domains_day (day>?)"},
		{qWebAlerts, 2, "SEARCH stats_alerts USING COVERING INDEX stats_alerts_day (day>?)"},
		{qWebSuppressed, 0, "USING COVERING INDEX recipients_suppressed (suppressed_at>?)"},
		{qWebReasonList, 0, "SEARCH recipients USING COVERING INDEX recipients_suppressed_reason (reason>?)"},
		{qSenderWindow, 3, "SEARCH a USING INDEX alerts_at (at>? AND at<?)"},
		{qSenderBefore, 3, "SEARCH a USING INDEX alerts_at (at>? AND at<?)"},
		{webPage(SuppressionFilter{}), 2, "SEARCH recipients USING COVERING INDEX recipients_suppressed (suppressed_at>?)"},
		{webPage(SuppressionFilter{Query: "a@"}), 4, "SEARCH recipients USING PRIMARY KEY (address>? AND address<?)"},
		{webPage(SuppressionFilter{Query: "a@", Since: time.Now()}), 5, "SEARCH recipients USING PRIMARY KEY (address>? AND address<?)"},
		{webPage(SuppressionFilter{Query: "example.org"}), 3, "SEARCH recipients USING COVERING INDEX recipients_suppressed_domain (domain=?)"},
		{webPage(SuppressionFilter{Query: "example.org", Since: time.Now()}), 4,
			"SEARCH recipients USING COVERING INDEX recipients_suppressed_domain (domain=? AND suppressed_at>?)"},
		{webPage(SuppressionFilter{Reason: "userunknown"}), 3, "SEARCH recipients USING COVERING INDEX recipients_suppressed_reason (reason=?)"},
		{webPage(SuppressionFilter{Reason: "userunknown", Since: time.Now()}), 4,
			"SEARCH recipients USING COVERING INDEX recipients_suppressed_reason (reason=? AND suppressed_at>?)"},
		{webPage(SuppressionFilter{Since: time.Now()}), 3, "SEARCH recipients USING COVERING INDEX recipients_suppressed (suppressed_at>?)"},
		// Its count reads the same index as the page.
		{webCount(SuppressionFilter{}), 0, "SEARCH recipients USING COVERING INDEX recipients_suppressed (suppressed_at>?)"},
		{webCount(SuppressionFilter{Query: "a@"}), 2, "SEARCH recipients USING PRIMARY KEY (address>? AND address<?)"},
		{webCount(SuppressionFilter{Query: "example.org", Since: time.Now()}), 2,
			"SEARCH recipients USING COVERING INDEX recipients_suppressed_domain (domain=? AND suppressed_at>?)"},
		{webCount(SuppressionFilter{Reason: "userunknown"}), 1, "SEARCH recipients USING COVERING INDEX recipients_suppressed_reason (reason=?)"},
		{`DELETE FROM archive_blocks WHERE stored_at < ? AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.block = archive_blocks.id)`, 1,
			"USING COVERING INDEX archive_block (block=?)"},
	} {
		rows, err := db.sql.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.query, make([]any, tc.args)...)
		if err != nil {
			t.Fatalf("EXPLAIN QUERY PLAN %s: %v", tc.query, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, " | ")
		scan := false
		for _, p := range plan {
			// "SCAN r" reads the one row of a recursive step (qWebReasonList), no table.
			scan = scan || strings.Contains(p, "SCAN") && p != "SCAN r"
		}
		if !strings.Contains(got, tc.want) || scan {
			t.Errorf("plan of %s\n = %s, want %q and no SCAN", strings.Join(strings.Fields(tc.query), " "), got, tc.want)
		}
	}
}

// webCount is the query that counts what a SuppressionPage filter selects.
func webCount(f SuppressionFilter) string {
	q, _ := suppressionCount(f)
	return q
}

// webPage is the query of a page of SuppressionPage.
func webPage(f SuppressionFilter) string {
	q, _ := suppressionPage(f)
	return q
}
