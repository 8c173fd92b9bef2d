package storage

import (
	"context"
	"strings"
	"testing"
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
		{`DELETE FROM outcomes WHERE message_id = ?`, 1, "USING COVERING INDEX outcomes_message"},
		{`DELETE FROM archive WHERE stored_at < ?`, 1, "USING COVERING INDEX archive_stored_at"},
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
		if !strings.Contains(got, tc.want) || strings.Contains(got, "SCAN") {
			t.Errorf("plan of %s\n = %s, want %q and no SCAN", strings.Join(strings.Fields(tc.query), " "), got, tc.want)
		}
	}
}
