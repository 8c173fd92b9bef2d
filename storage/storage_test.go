package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/clock/clocktest"
)

// newClock is the fake time of the storage tests.
func newClock() *clocktest.Fake { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// openTest opens a new database in a temp dir, without fsync (NoSync) to
// keep the tests fast; TestOpenAppliesMigrationsOnce checks the default.
func openTest(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	opts.NoSync = true
	path := filepath.Join(t.TempDir(), "bounced.db")
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func mustRecord(t testing.TB, db *DB, recs ...Record) []Result {
	t.Helper()
	res, err := db.Record(context.Background(), recs)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Record: %d results for %d records", len(res), len(recs))
	}
	return res
}

func mustCounts(t testing.TB, db *DB) Counts {
	t.Helper()
	c, err := db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// bounceMail is a small raw mail whose bytes differ by n.
func bounceMail(n int, eol string) []byte {
	s := fmt.Sprintf("From: MAILER-DAEMON@mx.example.net\nTo: bounces+%d@sender.example\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <b%d@mx.example.net>\n\nThe mail to user%d@example.com could not be delivered.\n", n, n, n)
	return []byte(strings.ReplaceAll(s, "\n", eol))
}

func hardBounce(addr string) classify.Verdict {
	return classify.Verdict{
		Kind:    classify.KindBounce,
		Decoder: "rfc3464",
		Rule:    "dsn",
		Recipients: []classify.Recipient{{
			Address: addr, Action: classify.ActionFailed, Status: "5.1.1", ReplyCode: "550",
			Reason: classify.ReasonUserUnknown, Hard: true, Diagnostic: "550 5.1.1 no such user", Rule: "status-5.1.1",
		}},
	}
}

func softBounce(addr string, reason classify.Reason) classify.Verdict {
	return classify.Verdict{
		Kind: classify.KindBounce, Decoder: "rfc3464", Rule: "dsn",
		Recipients: []classify.Recipient{{
			Address: addr, Action: classify.ActionFailed, Status: "4.2.2", ReplyCode: "452", Reason: reason,
		}},
	}
}

func imapSource(uid uint32) Source {
	return Source{Account: "primary", Folder: "INBOX", UIDValidity: 7, UID: uid, Index: 1}
}

func TestOpenAppliesMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	db.Close()
	for i := 0; i < 2; i++ {
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		names, err := db.Migrations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ms, _ := migrations()
		if len(names) != len(ms) || names[0] != "0001_init" {
			t.Errorf("Migrations = %v, want one per file (%d) starting with 0001_init", names, len(ms))
		}
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
			t.Errorf("schema_migrations rows = %d (%v), want %d", n, err, len(ms))
		}
		if c := mustCounts(t, db); c.Messages != 1 {
			t.Errorf("after reopen: messages = %d, want 1", c.Messages)
		}
		var mode string
		if err := db.sql.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q (%v), want wal", mode, err)
		}
		var fk, sync, busy int
		if err := db.sql.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d (%v), want 1", fk, err)
		}
		if err := db.sql.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous = %d (%v), want 2 (FULL)", sync, err)
		}
		if err := db.sql.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 5000 {
			t.Errorf("busy_timeout = %d (%v), want 5000", busy, err)
		}
		db.Close()
	}
}

func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, Archive: true})
	date := time.Date(2026, 2, 27, 9, 30, 1, 0, time.FixedZone("JST", 9*3600))
	v := classify.Verdict{
		Kind:         classify.KindBounce,
		FeedbackType: "",
		Recipients: []classify.Recipient{
			{
				Address: "User.One@Example.COM", Action: classify.ActionFailed, Status: "5.1.1", ReplyCode: "550",
				Reason: classify.ReasonUserUnknown, Hard: true, Diagnostic: "550 5.1.1 <user.one@example.com>: Recipient address rejected",
				RemoteMTA: "mx1.example.com", Command: "RCPT", LastAttempt: time.Date(2026, 2, 27, 0, 29, 59, 0, time.UTC), Rule: "status",
			},
			{
				Address: "two@example.org", Action: classify.ActionDelayed, Status: "4.4.1", Reason: classify.ReasonNetworkError,
				Diagnostic: "connection timed out", RemoteMTA: "mx.example.org", Rule: "delayed",
			},
		},
		Original: classify.Original{
			MessageID: "orig-1@sender.example", From: "news@sender.example", To: "user.one@example.com",
			Subject: "March news", Date: "Thu, 26 Feb 2026 10:00:00 +0000",
			Headers: map[string]string{"X-Campaign-Id": "spring-26", "X-Mailer": "m 1.0"},
		},
		MessageID: "bounce-1@mx.example.net", From: "MAILER-DAEMON@mx.example.net", Subject: "Undelivered Mail",
		Date: date, To: "bounces+user.one=example.com@sender.example", DeliveredTo: "bounces@sender.example",
		ReportingMTA: "mx.example.net", ArrivalDate: time.Date(2026, 2, 27, 0, 29, 0, 0, time.UTC),
		Decoder: "postfix", Rule: "dsn-failed", Notes: []string{"closing boundary missing"},
	}
	raw := bounceMail(1, "\r\n")
	received := time.Date(2026, 2, 27, 0, 31, 2, 0, time.UTC)
	res := mustRecord(t, db, Record{Source: imapSource(42), Raw: raw, Verdict: v, ReceivedAt: received})
	if res[0].Duplicate || res[0].Kind != classify.KindBounce || !slices.Equal(res[0].Suppressed, []string{"user.one@example.com"}) {
		t.Fatalf("Record = %+v, want a new bounce suppressing user.one@example.com", res[0])
	}
	m, err := db.Message(ctx, res[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != imapSource(42) {
		t.Errorf("Source = %+v, want %+v", m.Source, imapSource(42))
	}
	if m.Digest != Digest(raw) || m.Size != int64(len(raw)) || !m.ReceivedAt.Equal(received) || !m.At.Equal(received) {
		t.Errorf("digest/size/received/at = %s %d %v %v", m.Digest, m.Size, m.ReceivedAt, m.At)
	}
	if !m.RecordedAt.Equal(clk.Now()) || m.ClassifierVersion != classify.Version || !m.Archived || m.DuplicateOf != 0 {
		t.Errorf("recorded %v version %q archived %v dup %d", m.RecordedAt, m.ClassifierVersion, m.Archived, m.DuplicateOf)
	}
	want := v
	want.Recipients = slices.Clone(v.Recipients)
	want.Recipients[0].Address = "user.one@example.com"
	if !m.Verdict.Date.Equal(v.Date) {
		t.Errorf("Date = %v, want %v", m.Verdict.Date, v.Date)
	}
	m.Verdict.Date = want.Date // same instant, stored in UTC
	if !reflect.DeepEqual(m.Verdict, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", m.Verdict, want)
	}
	if !slices.Equal(m.Policies, []PolicyAction{ActionSuppress, ActionIgnore}) {
		t.Errorf("Policies = %v, want [suppress ignore]", m.Policies)
	}
	back, ok, err := db.Raw(ctx, m.ID)
	if err != nil || !ok || string(back) != string(raw) {
		t.Errorf("Raw = %q, %v, %v; want the recorded bytes", back, ok, err)
	}
	if err := db.MarkDisposed(ctx, []int64{m.ID}, "move:Bounces/Processed", clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	m, _ = db.Message(ctx, m.ID)
	if m.DisposedAction != "move:Bounces/Processed" || !m.DisposedAt.Equal(clk.Now().Add(time.Second)) {
		t.Errorf("disposed = %q at %v", m.DisposedAction, m.DisposedAt)
	}
}

func TestRecordIdempotent(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	first := mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\r\n"), Verdict: hardBounce("a@example.com")},
		Record{Source: Source{Path: "old/archive.mbox", Index: 3}, Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")},
	)
	before := mustCounts(t, db)
	want := Counts{Messages: 2, Outcomes: 2, Recipients: 2, Suppressed: 2}
	if before != want {
		t.Fatalf("counts = %+v, want %+v", before, want)
	}
	cases := []struct {
		name    string
		rec     Record
		newRow  bool
		firstID int64
	}{
		{"same imap source", Record{Source: imapSource(1), Raw: bounceMail(1, "\r\n"), Verdict: hardBounce("a@example.com")}, false, first[0].MessageID},
		{"same file source", Record{Source: Source{Path: "old/archive.mbox", Index: 3}, Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")}, false, first[1].MessageID},
		{"same bytes, LF instead of CRLF, new uid", Record{Source: imapSource(9), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")}, true, first[0].MessageID},
		{"same bytes, CR line ends, other file", Record{Source: Source{Path: "cur/1:2,S"}, Raw: bounceMail(2, "\r"), Verdict: hardBounce("b@example.com")}, true, first[1].MessageID},
		{"same bytes from stdin", Record{Raw: append(bounceMail(2, "\n"), '\n'), Verdict: hardBounce("b@example.com")}, true, first[1].MessageID},
	}
	dups := 0
	for _, tc := range cases {
		res := mustRecord(t, db, tc.rec)
		if !res[0].Duplicate || res[0].Kind != classify.KindBounce || len(res[0].Suppressed) != 0 {
			t.Errorf("%s: Record = %+v, want a duplicate bounce suppressing nobody", tc.name, res[0])
		}
		if tc.newRow {
			dups++
			m, err := db.Message(ctx, res[0].MessageID)
			if err != nil || m.DuplicateOf != tc.firstID || len(m.Verdict.Recipients) != 0 {
				t.Errorf("%s: duplicate row = %+v (%v), want duplicate_of %d and no outcomes", tc.name, m, err, tc.firstID)
			}
		} else if res[0].MessageID != tc.firstID {
			t.Errorf("%s: MessageID = %d, want the first row %d", tc.name, res[0].MessageID, tc.firstID)
		}
		want.Duplicates = dups
		if c := mustCounts(t, db); c != want {
			t.Errorf("%s: counts = %+v, want %+v", tc.name, c, want)
		}
	}
}

func TestDigestNormalisesLineEnds(t *testing.T) {
	base := Digest([]byte("a\nb\n\nc"))
	for _, in := range []string{"a\r\nb\r\n\r\nc", "a\rb\r\rc", "a\nb\n\nc\n", "a\r\nb\r\n\r\nc\r\n\r\n", "a\r\r\nb\r\r\n\r\r\nc\r\r\n"} {
		if got := Digest([]byte(in)); got != base {
			t.Errorf("Digest(%q) = %s, want %s", in, got, base)
		}
	}
	if Digest([]byte("a\nb\nc")) == base {
		t.Error("Digest ignores a removed blank line")
	}
}

func TestRecordBatchRolledBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	before := mustCounts(t, db)
	cur, _ := db.Cursor(ctx, "primary", "INBOX")
	// A failure inside the transaction, after earlier records of the
	// batch were written: a trigger refuses one outcome.
	if _, err := db.wdb.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON outcomes
		WHEN NEW.address = 'refused@example.com' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
		t.Fatal(err)
	}
	batch := []Record{
		{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")},
		{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: softBounce("c@example.com", classify.ReasonMailboxFull)},
		{Source: imapSource(4), Raw: bounceMail(4, "\n"), Verdict: hardBounce("refused@example.com")},
	}
	_, err := db.Record(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "refused by test") || !strings.Contains(err.Error(), "uid 4") {
		t.Fatalf("Record = %v, want the trigger's error naming uid 4", err)
	}
	if after := mustCounts(t, db); after != before {
		t.Errorf("after a failed batch: counts = %+v, want %+v", after, before)
	}
	if c, _ := db.Cursor(ctx, "primary", "INBOX"); c != cur {
		t.Errorf("cursor moved by a failed batch: %+v, want %+v", c, cur)
	}
	// An invalid record fails the batch before anything is written.
	bad := append(batch[:2:2], Record{Source: imapSource(5), Raw: []byte("x"), Verdict: classify.Verdict{Kind: "nonsense"}})
	if _, err := db.Record(ctx, bad); err == nil || !strings.Contains(err.Error(), `unknown kind "nonsense"`) {
		t.Errorf("Record(bad kind) = %v, want unknown kind", err)
	}
	if after := mustCounts(t, db); after != before {
		t.Errorf("after an invalid batch: counts = %+v, want %+v", after, before)
	}
}

func TestRecordFullDiskRolledBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{Archive: true})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	before := mustCounts(t, db)
	// One connection, so that the page limit applies to the writer.
	db.wdb.SetMaxOpenConns(1)
	var pages int
	if err := db.wdb.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.wdb.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	var batch []Record
	for i := 2; i < 400; i++ {
		raw := []byte(strings.Repeat(string(bounceMail(i, "\n")), 20))
		batch = append(batch, Record{Source: imapSource(uint32(i)), Raw: raw, Verdict: hardBounce(fmt.Sprintf("u%d@example.com", i))})
	}
	_, err := db.Record(ctx, batch)
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Record on a full disk = %v, want a 'full' error", err)
	}
	if after := mustCounts(t, db); after != before {
		t.Errorf("after a full disk: counts = %+v, want %+v", after, before)
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	db.Close()

	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer ro.Close()
	_, err = ro.Record(ctx, []Record{{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")}})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("Record on read-only = %v, want ErrReadOnly", err)
	}
	if err := ro.ResetCursor(ctx, "primary", "INBOX", 9); !errors.Is(err, ErrReadOnly) {
		t.Errorf("ResetCursor on read-only = %v, want ErrReadOnly", err)
	}
	// Even a statement that bypasses the check cannot write.
	if _, err := ro.sql.ExecContext(ctx, `DELETE FROM messages`); err == nil {
		t.Error("DELETE on a read-only connection succeeded")
	}
	if c := mustCounts(t, ro); c.Messages != 1 || c.Suppressed != 1 {
		t.Errorf("read-only counts = %+v, want the one message", c)
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "missing.db"), Options{ReadOnly: true}); err == nil {
		t.Error("Open read-only of a missing file succeeded")
	}
}

// TestReadOnlyFile opens a file the process may not write (as any user but
// root, who may write anything).
func TestReadOnlyFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes read-only files; TestReadOnly covers the read-only mode")
	}
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	db.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		os.Chmod(p, 0o444)
	}
	defer os.Chmod(path, 0o644)
	db, err := Open(ctx, path, Options{})
	if err != nil {
		if !strings.Contains(err.Error(), "readonly") && !strings.Contains(err.Error(), "read-only") && !strings.Contains(err.Error(), "unable to open") {
			t.Errorf("Open of a read-only file = %v, want a clear read-only error", err)
		}
		return
	}
	defer db.Close()
	_, err = db.Record(ctx, []Record{{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")}})
	if err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("Record on a read-only file = %v, want a readonly error", err)
	}
}

func TestRecordLockedFile(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	before := mustCounts(t, db)
	other, err := Open(ctx, path, Options{BusyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// db holds the write lock in an open transaction.
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	_, err = other.Record(ctx, []Record{{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")}})
	if err == nil || !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
		t.Errorf("Record on a locked file = %v, want a locked/busy error", err)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if after := mustCounts(t, other); after != before {
		t.Errorf("after a locked file: counts = %+v, want %+v", after, before)
	}
	mustRecord(t, other, Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")})
}

func TestCursorsAndPending(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	if c, err := db.Cursor(ctx, "primary", "INBOX"); err != nil || c != (Cursor{}) {
		t.Fatalf("Cursor of a new folder = %+v, %v; want zero", c, err)
	}
	other := Source{Account: "second", Folder: "Bounces", UIDValidity: 3, UID: 50}
	res := mustRecord(t, db,
		Record{Source: imapSource(5), Raw: bounceMail(5, "\n"), Verdict: hardBounce("a@example.com")},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: classify.Verdict{Kind: classify.KindNotBounce}},
		Record{Source: imapSource(8), Size: 31457280, Digest: strings.Repeat("ab", 32), Skipped: "too large: 31457280 bytes"},
		Record{Source: other, Raw: bounceMail(50, "\n"), Verdict: classify.Verdict{Kind: classify.KindAutoreply}},
		Record{Source: Source{Path: "x.eml"}, Raw: bounceMail(60, "\n"), Verdict: classify.Verdict{Kind: classify.KindDelay}},
	)
	if res[2].Kind != classify.KindUnknown || res[2].Duplicate {
		t.Errorf("skipped mail: %+v, want kind unknown", res[2])
	}
	if m, err := db.Message(ctx, res[2].MessageID); err != nil || m.Skipped != "too large: 31457280 bytes" || m.Size != 31457280 ||
		m.Digest != strings.Repeat("ab", 32) || m.Archived || len(m.Verdict.Recipients) != 0 {
		t.Errorf("skipped mail stored as %+v, %v", m, err)
	}
	if c, _ := db.Cursor(ctx, "primary", "INBOX"); c != (Cursor{UIDValidity: 7, LastUID: 8}) {
		t.Errorf("Cursor = %+v, want {7 8}", c)
	}
	if c, _ := db.Cursor(ctx, "second", "Bounces"); c != (Cursor{UIDValidity: 3, LastUID: 50}) {
		t.Errorf("Cursor(second) = %+v, want {3 50}", c)
	}
	// A later batch with lower UIDs does not move the cursor back.
	mustRecord(t, db, Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: classify.Verdict{Kind: classify.KindNotBounce}})
	if c, _ := db.Cursor(ctx, "primary", "INBOX"); c.LastUID != 8 {
		t.Errorf("Cursor after a lower uid = %+v, want LastUID 8", c)
	}
	p, err := db.Pending(ctx, "primary", "INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pending{
		{MessageID: 6, UID: 2, Kind: classify.KindNotBounce},
		{MessageID: res[1].MessageID, UID: 3, Kind: classify.KindNotBounce},
		{MessageID: res[0].MessageID, UID: 5, Kind: classify.KindBounce},
		{MessageID: res[2].MessageID, UID: 8, Kind: classify.KindUnknown, Skipped: true},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Pending = %+v\nwant %+v", p, want)
	}
	if err := db.MarkDisposed(ctx, []int64{res[0].MessageID, res[2].MessageID}, "move:Bounces/Processed", clk.Now()); err != nil {
		t.Fatal(err)
	}
	p, _ = db.Pending(ctx, "primary", "INBOX", 7)
	if len(p) != 2 || p[0].UID != 2 || p[1].UID != 3 {
		t.Errorf("Pending after MarkDisposed = %+v, want uids 2 and 3", p)
	}
	if p, _ := db.Pending(ctx, "primary", "INBOX", 8); len(p) != 0 {
		t.Errorf("Pending of another validity = %+v, want none", p)
	}

	// UIDVALIDITY change: reset, then a rescan finds the same mails at new
	// UIDs; they are duplicates, still pending until disposed.
	if err := db.ResetCursor(ctx, "primary", "INBOX", 99); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Cursor(ctx, "primary", "INBOX"); c != (Cursor{UIDValidity: 99}) {
		t.Errorf("Cursor after reset = %+v, want {99 0}", c)
	}
	before := mustCounts(t, db)
	res = mustRecord(t, db, Record{Source: Source{Account: "primary", Folder: "INBOX", UIDValidity: 99, UID: 1}, Raw: bounceMail(5, "\r\n"), Verdict: hardBounce("a@example.com")})
	if !res[0].Duplicate || res[0].Kind != classify.KindBounce {
		t.Errorf("rescan after reset: %+v, want a duplicate bounce", res[0])
	}
	if c, _ := db.Cursor(ctx, "primary", "INBOX"); c != (Cursor{UIDValidity: 99, LastUID: 1}) {
		t.Errorf("Cursor after rescan = %+v, want {99 1}", c)
	}
	after := mustCounts(t, db)
	before.Duplicates++
	if after != before {
		t.Errorf("rescan counts = %+v, want %+v", after, before)
	}
	if p, _ := db.Pending(ctx, "primary", "INBOX", 99); len(p) != 1 || p[0].MessageID != res[0].MessageID || p[0].Kind != classify.KindBounce {
		t.Errorf("Pending after rescan = %+v, want the duplicate", p)
	}
	if err := db.MarkDisposed(ctx, nil, "flag", clk.Now()); err != nil {
		t.Errorf("MarkDisposed(nil) = %v", err)
	}
}

// TestMarkDisposing: the action the poller is about to take is stored in a
// transaction of its own and read back by Pending until the mail is marked
// disposed; it stays on the row as the last intention, beside what was
// done.
func TestMarkDisposing(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	res := mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: classify.Verdict{Kind: classify.KindNotBounce}},
	)
	at := clk.Now().Add(time.Second)
	if err := db.MarkDisposing(ctx, []int64{res[0].MessageID, res[1].MessageID}, "move:Bounces/Processed", at); err != nil {
		t.Fatal(err)
	}
	p, err := db.Pending(ctx, "primary", "INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pending{
		{MessageID: res[0].MessageID, UID: 1, Kind: classify.KindBounce, Disposing: "move:Bounces/Processed"},
		{MessageID: res[1].MessageID, UID: 2, Kind: classify.KindBounce, Disposing: "move:Bounces/Processed"},
		{MessageID: res[2].MessageID, UID: 3, Kind: classify.KindNotBounce},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Pending = %+v\nwant %+v", p, want)
	}
	m, err := db.Message(ctx, res[0].MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.DisposingAction != "move:Bounces/Processed" || !m.DisposingAt.Equal(at) || m.DisposedAction != "" || !m.DisposedAt.IsZero() {
		t.Errorf("message after MarkDisposing: disposing %q at %v, disposed %q at %v; want only the intention", m.DisposingAction, m.DisposingAt, m.DisposedAction, m.DisposedAt)
	}
	// A second intention replaces the first (the mail is disposed again).
	if err := db.MarkDisposing(ctx, []int64{res[0].MessageID}, "flag", at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDisposed(ctx, []int64{res[0].MessageID}, "flag", at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	m, _ = db.Message(ctx, res[0].MessageID)
	if m.DisposingAction != "flag" || m.DisposedAction != "flag" || !m.DisposedAt.Equal(at.Add(2*time.Second)) {
		t.Errorf("message after MarkDisposed: disposing %q, disposed %q at %v; want flag, flag", m.DisposingAction, m.DisposedAction, m.DisposedAt)
	}
	if p, _ := db.Pending(ctx, "primary", "INBOX", 7); len(p) != 2 || p[0].UID != 2 {
		t.Errorf("Pending after MarkDisposed = %+v, want uids 2 and 3", p)
	}
	if err := db.MarkDisposing(ctx, nil, "flag", at); err != nil {
		t.Errorf("MarkDisposing(nil) = %v", err)
	}
}

func TestRuns(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	if runs, err := db.LastRuns(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("LastRuns of a new db = %v, %v", runs, err)
	}
	t0 := clk.Now()
	id1, err := db.StartRun(ctx, "primary", t0)
	if err != nil {
		t.Fatal(err)
	}
	st := RunStats{Fetched: 10, Recorded: 9, Duplicates: 1, Skipped: 1, Disposed: 10, Errors: 0,
		ByKind: map[classify.Kind]int{classify.KindBounce: 7, classify.KindAutoreply: 2}}
	if err := db.FinishRun(ctx, id1, t0.Add(3*time.Second), st); err != nil {
		t.Fatal(err)
	}
	idB, _ := db.StartRun(ctx, "backup", t0.Add(time.Minute))
	if err := db.FinishRun(ctx, idB, t0.Add(2*time.Minute), RunStats{Errors: 1, Err: "login failed"}); err != nil {
		t.Fatal(err)
	}
	id2, _ := db.StartRun(ctx, "primary", t0.Add(5*time.Minute)) // still running
	runs, err := db.LastRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Run{
		{ID: idB, Account: "backup", Started: t0.Add(time.Minute), Ended: t0.Add(2 * time.Minute), Stats: RunStats{Errors: 1, Err: "login failed"}},
		{ID: id2, Account: "primary", Started: t0.Add(5 * time.Minute)},
	}
	if !reflect.DeepEqual(runs, want) {
		t.Errorf("LastRuns = %+v\nwant %+v", runs, want)
	}
	if err := db.FinishRun(ctx, id2, t0.Add(6*time.Minute), st); err != nil {
		t.Fatal(err)
	}
	runs, _ = db.LastRuns(ctx)
	if !reflect.DeepEqual(runs[1].Stats, st) || !runs[1].Ended.Equal(t0.Add(6*time.Minute)) {
		t.Errorf("finished run = %+v, want stats %+v", runs[1], st)
	}
	if err := db.FinishRun(ctx, 999, t0, st); err == nil {
		t.Error("FinishRun of a missing run succeeded")
	}
}

func TestConcurrentWriterAndReader(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	reader, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	const batches, size = 20, 25
	done := make(chan error, 1)
	go func() {
		for b := 0; b < batches; b++ {
			var recs []Record
			for i := 0; i < size; i++ {
				n := b*size + i + 1
				recs = append(recs, Record{Source: imapSource(uint32(n)), Raw: bounceMail(n, "\n"), Verdict: hardBounce(fmt.Sprintf("u%d@example.com", n))})
			}
			if _, err := db.Record(ctx, recs); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	last := -1
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("writer: %v", err)
			}
			finished = true
		default:
		}
		c, err := reader.Counts(ctx)
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		// Whole batches only: a reader never sees half a transaction.
		if c.Messages%size != 0 || c.Outcomes != c.Messages || c.Suppressed != c.Messages || c.Messages < last {
			t.Fatalf("reader saw %+v (last %d): not a whole number of batches", c, last)
		}
		last = c.Messages
	}
	if c := mustCounts(t, reader); c.Messages != batches*size {
		t.Errorf("final messages = %d, want %d", c.Messages, batches*size)
	}
}

// TestStoredID: message_id is a mail's Message-ID wherever people read it
// (STYLE's log key); the stored row that caused a suppression is stored_id,
// in the log line, the recipient and the suppression_list view.
func TestStoredID(t *testing.T) {
	ctx := context.Background()
	var logged strings.Builder
	db, _ := openTest(t, Options{Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	v := hardBounce("gone@example.com")
	v.MessageID = "<b1@mx.example.net>"
	res := mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: v})
	var line struct {
		Msg       string `json:"msg"`
		MessageID any    `json:"message_id"`
		StoredID  int64  `json:"stored_id"`
	}
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if line.Msg == "suppressed recipient" {
			break
		}
	}
	if line.Msg != "suppressed recipient" || line.MessageID != v.MessageID || line.StoredID != res[0].MessageID {
		t.Errorf("log: %+v, want message_id %q and stored_id %d\n%s", line, v.MessageID, res[0].MessageID, logged.String())
	}
	h, err := db.Recipient(ctx, "gone@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if h.Recipient.StoredID != res[0].MessageID || len(h.Events) != 1 || h.Events[0].StoredID != res[0].MessageID ||
		len(h.Outcomes) != 1 || h.Outcomes[0].StoredID != res[0].MessageID {
		t.Errorf("Recipient: stored ids %d, %+v, %+v; want %d", h.Recipient.StoredID, h.Events, h.Outcomes, res[0].MessageID)
	}
	b, _ := json.Marshal(h)
	if strings.Contains(string(b), `"message_id"`) || !strings.Contains(string(b), `"stored_id"`) {
		t.Errorf("Recipient JSON: %s, want stored_id and no message_id", b)
	}
	var stored int64
	var suppressedAt string
	if err := db.sql.QueryRowContext(ctx, `SELECT stored_id, suppressed_at FROM suppression_list WHERE address = ?`, "gone@example.com").
		Scan(&stored, &suppressedAt); err != nil || stored != res[0].MessageID || suppressedAt == "" {
		t.Errorf("suppression_list: stored_id %d, suppressed_at %q, %v; want %d", stored, suppressedAt, err, res[0].MessageID)
	}
}

// TestAlertsLogged: sender-side outcomes give one warning per batch and
// (reason, domain), with a count; recipient-side ones and duplicates none.
// TestAlertsLogged: the sender-side alerts of several batches are summed
// by SenderAlerts into one warning per reason and domain (once per run,
// not per batch or per mail); a rerun adds nothing.
func TestAlertsLogged(t *testing.T) {
	var logged strings.Builder
	db, _ := openTest(t, Options{})
	blocked := func(addr string) classify.Verdict {
		v := hardBounce(addr)
		v.Recipients[0].Reason = classify.ReasonBlocked
		v.Recipients[0].Hard = false
		v.Recipients[0].Diagnostic = "550 5.7.1 client host blocked using a DNSBL"
		return v
	}
	var run SenderAlerts
	run.Add(mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: blocked("a@gmail.example")},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: blocked("b@gmail.example")},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: hardBounce("c@gmail.example")},
	))
	run.Add(mustRecord(t, db, Record{Source: imapSource(4), Raw: bounceMail(4, "\n"), Verdict: blocked("d@gmail.example")}))
	run.Add(mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: blocked("a@gmail.example")})) // a rerun
	run.Log(slog.New(slog.NewJSONHandler(&logged, nil)), "mailbox", "primary")
	var warnings []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["level"] == "WARN" {
			warnings = append(warnings, m)
		}
	}
	if len(warnings) != 1 || warnings[0]["reason"] != "blocked" || warnings[0]["domain"] != "gmail.example" || warnings[0]["count"] != float64(3) ||
		warnings[0]["mailbox"] != "primary" || warnings[0]["diagnostic"] != "550 5.7.1 client host blocked using a DNSBL" {
		t.Errorf("warnings %v, want one for blocked at gmail.example with count 3", warnings)
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"ééé", 3, "é…"}, // never cuts inside a rune
	} {
		if got := clip(tt.in, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestFlagged: mail flagged instead of moved is listed by folder and
// validity until it is marked with another action; a plain flag is not.
func TestFlagged(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	res := mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: hardBounce("c@example.com")},
	)
	at := time.Now()
	if err := db.MarkDisposed(ctx, []int64{res[0].MessageID, res[2].MessageID}, "flag instead of move:Bounces/Processed", at); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkDisposed(ctx, []int64{res[1].MessageID}, "flag", at); err != nil {
		t.Fatal(err)
	}
	f, err := db.Flagged(ctx, "primary", "INBOX", 7)
	if err != nil || len(f) != 2 || f[0].UID != 1 || f[1].UID != 3 || f[0].Kind != classify.KindBounce {
		t.Fatalf("Flagged = %+v, %v; want uids 1 and 3", f, err)
	}
	if other, _ := db.Flagged(ctx, "primary", "INBOX", 8); len(other) != 0 {
		t.Errorf("Flagged of another uidvalidity = %+v", other)
	}
	if err := db.MarkDisposed(ctx, []int64{res[0].MessageID}, "move:Bounces/Processed", at); err != nil {
		t.Fatal(err)
	}
	if f, _ := db.Flagged(ctx, "primary", "INBOX", 7); len(f) != 1 || f[0].UID != 3 {
		t.Errorf("Flagged after moving uid 1 = %+v, want uid 3", f)
	}
}
