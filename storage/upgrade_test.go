package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestUpgradeFrom0003: a database written before migrations 0004 and 0005
// keeps its suppressions: each gets the time its mail was recorded as
// suppressed_at (a manual one: its since), and message_id becomes
// stored_id in recipients, recipient_events and the suppression_list view.
func TestUpgradeFrom0003(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:3] {
		if _, err := old.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		old.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, '2026-01-01 00:00:00.000')`, m.version, m.name)
	}
	for _, q := range []string{
		`INSERT INTO messages(id, at, recorded_at, kind) VALUES (7, '2026-01-01 10:00:00.000', '2026-02-01 09:00:00.000', 'bounce')`,
		`INSERT INTO recipients(address, domain, state, reason, since, message_id, updated_at)
			VALUES ('late@example.com', 'example.com', 'suppressed', 'userunknown', '2026-01-01 10:00:00.000', 7, '2026-02-02 00:00:00.000')`,
		`INSERT INTO recipients(address, domain, state, reason, since, manual, updated_at)
			VALUES ('manual@example.com', 'example.com', 'suppressed', 'manual', '2026-01-15 08:00:00.000', 1, '2026-01-15 08:00:00.000')`,
		`INSERT INTO recipients(address, domain, state, since, updated_at)
			VALUES ('ok@example.com', 'example.com', 'active', '2026-01-15 08:00:00.000', '2026-01-15 08:00:00.000')`,
		`INSERT INTO recipient_events(address, at, state, reason, set_by, message_id)
			VALUES ('late@example.com', '2026-01-01 10:00:00.000', 'suppressed', 'userunknown', 'policy', 7)`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	old.Close()

	db, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open (upgrade): %v", err)
	}
	defer db.Close()
	got := map[string]Recipient{}
	if err := db.Suppressions(ctx, time.Time{}, func(r Recipient) error { got[r.Address] = r; return nil }); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { return parseTime(s) }
	if r := got["late@example.com"]; r.StoredID != 7 || !r.SuppressedAt.Equal(at("2026-02-01 09:00:00.000")) || !r.Since.Equal(at("2026-01-01 10:00:00.000")) {
		t.Errorf("late@example.com after the upgrade: %+v, want stored_id 7, suppressed_at its mail's recorded_at", r)
	}
	if r := got["manual@example.com"]; !r.SuppressedAt.Equal(at("2026-01-15 08:00:00.000")) {
		t.Errorf("manual@example.com after the upgrade: suppressed_at %v, want its since", r.SuppressedAt)
	}
	if len(got) != 2 {
		t.Errorf("suppressions after the upgrade: %d, want 2", len(got))
	}
	h, err := db.Recipient(ctx, "late@example.com")
	if err != nil || len(h.Events) != 1 || h.Events[0].StoredID != 7 {
		t.Errorf("history after the upgrade: %+v, %v; want one event with stored_id 7", h.Events, err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM suppression_list WHERE stored_id = 7 AND suppressed_at IS NOT NULL`).Scan(&n); err != nil || n != 1 {
		t.Errorf("suppression_list after the upgrade: %d rows, %v; want 1", n, err)
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM recipients WHERE suppressed_at IS NOT NULL AND state = 'active'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("active recipients with a suppressed_at: %d, %v; want 0", n, err)
	}
}
