package storage

import (
	"context"
	"testing"
)

// TestKnown: Known says beforehand what Record will say of a mail
// (Duplicate), without writing, also on a read-only DB (poll --dry-run).
func TestKnown(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\r\n"), Verdict: hardBounce("a@example.com")},
		Record{Source: Source{Path: "old/archive.mbox", Index: 3}, Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")},
		Record{Source: imapSource(5), Size: 40 << 20, Skipped: "too large: 41943040 bytes"},
	)
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, tc := range []struct {
		name string
		rec  Record
		want bool
	}{
		{"same imap source", Record{Source: imapSource(1), Raw: bounceMail(9, "\n")}, true},
		{"same imap source, not read (too large)", Record{Source: imapSource(5), Size: 40 << 20}, true},
		{"same file source", Record{Source: Source{Path: "old/archive.mbox", Index: 3}, Raw: bounceMail(8, "\n")}, true},
		{"same bytes, LF instead of CRLF, new uid", Record{Source: imapSource(2), Raw: bounceMail(1, "\n")}, true},
		{"same bytes from stdin", Record{Raw: bounceMail(2, "\r\n")}, true},
		{"same bytes, other uidvalidity", Record{Source: Source{Account: "primary", Folder: "INBOX", UIDValidity: 8, UID: 1}, Raw: bounceMail(2, "\r")}, true},
		{"new mail at a new uid", Record{Source: imapSource(3), Raw: bounceMail(3, "\n")}, false},
		{"new mail, other mbox position", Record{Source: Source{Path: "old/archive.mbox", Index: 4}, Raw: bounceMail(4, "\n")}, false},
		{"new uid, not read", Record{Source: imapSource(6), Size: 40 << 20}, false},
		{"other account, same uid, new bytes", Record{Source: Source{Account: "second", Folder: "INBOX", UIDValidity: 7, UID: 1}, Raw: bounceMail(5, "\n")}, false},
	} {
		for name, d := range map[string]*DB{"read-write": db, "read-only": ro} {
			got, err := d.Known(ctx, tc.rec.Source, tc.rec.Raw)
			if err != nil || got != tc.want {
				t.Errorf("%s: Known(%s) = %v, %v; want %v", name, tc.name, got, err, tc.want)
			}
		}
		// Record agrees.
		rec := tc.rec
		rec.Verdict = hardBounce("x@example.com")
		if rec.Raw == nil {
			rec.Skipped = "too large"
		}
		before := mustCounts(t, db)
		if res := mustRecord(t, db, rec); res[0].Duplicate != tc.want {
			t.Errorf("Record(%s).Duplicate = %v, Known said %v", tc.name, res[0].Duplicate, tc.want)
		}
		if !tc.want {
			continue
		}
		if after := mustCounts(t, db); after.Messages != before.Messages {
			t.Errorf("%s: messages %d -> %d, want unchanged", tc.name, before.Messages, after.Messages)
		}
	}
}
