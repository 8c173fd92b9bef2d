package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

// TestRecordBatchMatchesOneByOne records the same mails in one batch and
// one mail per batch, in two databases, and compares every table: the
// batch path (multi-row statements, policy in Go over states read once)
// must store exactly what recording each mail alone stores.
func TestRecordBatchMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2026, 2, 10, 8, 0, 0, 0, time.UTC)
	rec := func(src Source, n int, at time.Duration, v classify.Verdict) Record {
		return Record{Source: src, Raw: bounceMail(n, "\r\n"), Verdict: v, ReceivedAt: day.Add(at)}
	}
	file := func(path string, idx int) Source { return Source{Path: path, Index: idx} }
	twoRcpts := hardBounce("pair@example.com")
	twoRcpts.Recipients = append(twoRcpts.Recipients, softBounce("Pair@Example.com", classify.ReasonMailboxFull).Recipients[0],
		classify.Recipient{Action: classify.ActionFailed, Reason: classify.ReasonUserUnknown}) // no address
	complaint := classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse",
		Recipients: []classify.Recipient{{Address: "angry@example.com", Reason: classify.ReasonFeedback}}}
	delay := classify.Verdict{Kind: classify.KindDelay,
		Recipients: []classify.Recipient{{Address: "soft@example.com", Action: classify.ActionDelayed, Status: "4.4.7", Reason: classify.ReasonExpired}}}
	auto := classify.Verdict{Kind: classify.KindAutoreply, Recipients: []classify.Recipient{{Address: "away@example.com", Reason: classify.ReasonVacation}}}
	blocked := softBounce("blocked@example.com", classify.ReasonBlocked)
	blocked.Recipients[0].Status, blocked.Recipients[0].ReplyCode = "5.7.1", "554"
	skipped := Record{Source: imapSource(90), Size: 40 << 20, Skipped: "too large: 41943040 bytes", Verdict: classify.Verdict{Kind: classify.KindUnknown}, ReceivedAt: day}

	// Before: a stored hard bounce (rerun below), soft events of
	// soft@example.com, a person's decisions on two addresses.
	before := []Record{
		rec(imapSource(1), 1, 0, hardBounce("gone@example.com")),
		rec(imapSource(2), 2, time.Hour, softBounce("soft@example.com", classify.ReasonMailboxFull)),
		rec(imapSource(3), 3, 2*time.Hour, softBounce("soft@example.com", classify.ReasonSystemError)),
		rec(imapSource(4), 4, 3*time.Hour, softBounce("fresh@example.com", classify.ReasonMailboxFull)),
		rec(imapSource(5), 5, 3*time.Hour, softBounce("fresh@example.com", classify.ReasonMailboxFull)),
	}
	batch := []Record{
		rec(imapSource(1), 1, 0, hardBounce("gone@example.com")),                                         // rerun of a stored mail
		rec(imapSource(10), 10, 5*time.Hour, softBounce("soft@example.com", classify.ReasonMailboxFull)), // third soft event: suppressed by score
		rec(imapSource(11), 11, 4*time.Hour, softBounce("soft@example.com", classify.ReasonSuspend)),     // older, after the suppression
		rec(imapSource(12), 12, 6*time.Hour, twoRcpts),
		rec(imapSource(13), 13, 6*time.Hour, complaint),
		rec(imapSource(14), 14, 7*time.Hour, delay),
		rec(imapSource(15), 15, 7*time.Hour, auto),
		rec(imapSource(16), 16, 8*time.Hour, blocked),
		rec(imapSource(17), 12, 9*time.Hour, twoRcpts),                                                             // the bytes of uid 12 again: a duplicate delivery
		rec(imapSource(13), 13, 6*time.Hour, complaint),                                                            // uid 13 twice in the batch
		rec(imapSource(30), 1, 9*time.Hour, hardBounce("gone@example.com")),                                        // the bytes of uid 1 (stored before) at uid 30
		rec(imapSource(30), 31, 9*time.Hour, hardBounce("other@example.com")),                                      // then other bytes at uid 30: a rerun
		rec(file("/tmp/a.mbox", 2), 18, 10*time.Hour, hardBounce("held@example.com")),                              // manually suppressed: stays manual
		rec(file("/tmp/a.mbox", 3), 19, 10*time.Hour, softBounce("fresh@example.com", classify.ReasonMailboxFull)), // unsuppressed by hand: fresh start
		rec(Source{}, 20, 11*time.Hour, hardBounce("stdin@example.com")),
		rec(Source{}, 20, 11*time.Hour, hardBounce("stdin@example.com")), // the same stdin mail again
		skipped,
		rec(Source{Account: "other", Folder: "INBOX", UIDValidity: 3, UID: 5}, 21, 12*time.Hour, hardBounce("GONE@example.com")),
	}
	for i := 0; i < 70; i++ { // more than one statement of 64 rows
		batch = append(batch, rec(imapSource(uint32(100+i)), 100+i, time.Duration(13*60+i)*time.Minute,
			softBounce(fmt.Sprintf("many%d@example.com", i%20), classify.ReasonMailboxFull)))
	}

	setup := func() *DB {
		db, _ := openTest(t, Options{Archive: true})
		mustRecord(t, db, before...)
		if err := db.Suppress(ctx, "held@example.com", "asked by phone"); err != nil {
			t.Fatal(err)
		}
		if err := db.Suppress(ctx, "fresh@example.com", "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.Unsuppress(ctx, "fresh@example.com", "checked"); err != nil {
			t.Fatal(err)
		}
		return db
	}
	batched, single := setup(), setup()
	gotRes := mustRecord(t, batched, batch...)
	var wantRes []Result
	for _, r := range batch {
		wantRes = append(wantRes, mustRecord(t, single, r)...)
	}

	for i := range batch {
		g, w := gotRes[i], wantRes[i]
		if g.Duplicate != w.Duplicate || g.Kind != w.Kind || !slices.Equal(g.Suppressed, w.Suppressed) {
			t.Errorf("record %d (%s): batch result %+v, one by one %+v", i, batch[i].Source, g, w)
		}
		if gl, wl := messageLabel(t, batched, g.MessageID), messageLabel(t, single, w.MessageID); gl != wl {
			t.Errorf("record %d (%s): batch message %q, one by one %q", i, batch[i].Source, gl, wl)
		}
		graw, gok, gerr := batched.Raw(ctx, g.MessageID)
		wraw, wok, werr := single.Raw(ctx, w.MessageID)
		if gok != wok || gerr != nil || werr != nil || !bytes.Equal(graw, wraw) {
			t.Errorf("record %d (%s): archived %d bytes (%v, %v), one by one %d bytes (%v, %v)", i, batch[i].Source, len(graw), gok, gerr, len(wraw), wok, werr)
		}
	}
	got, want := dumpTables(t, batched), dumpTables(t, single)
	for _, table := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		if !reflect.DeepEqual(got[table], want[table]) {
			t.Errorf("%s differs:\nbatch      %q\none by one %q", table, got[table], want[table])
		}
	}
	for _, addr := range []string{"soft@example.com", "gone@example.com", "angry@example.com", "many3@example.com"} {
		if r, err := batched.Recipient(ctx, addr); err != nil || r.Recipient.State != StateSuppressed {
			t.Errorf("Recipient(%s) = %+v, %v: want suppressed", addr, r.Recipient, err)
		}
	}
	checkRollups(t, batched)
}

// label is a message's source and digest, the same in two databases.
const label = `(SELECT account || '/' || folder || '/' || uidvalidity || '/' || uid || '|' || path || '#' || idx || '|' || coalesce(digest, '')
	FROM messages WHERE id = %s)`

func messageLabel(t *testing.T, db *DB, id int64) string {
	t.Helper()
	var s string
	if err := db.sql.QueryRow(fmt.Sprintf(`SELECT `+label, "?"), id).Scan(&s); err != nil {
		t.Fatalf("message %d: %v", id, err)
	}
	return s
}

// dumpTables reads every table with message ids replaced by labels, rows
// sorted.
func dumpTables(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	queries := map[string]string{
		"messages": `SELECT ` + fmt.Sprintf(label, "m.id") + `, coalesce(` + fmt.Sprintf(label, "m.duplicate_of") + `, ''),
			m.size, m.at, m.received_at, m.recorded_at, m.kind, m.skipped, m.feedback_type, m.message_id, m.from_addr, m.subject,
			m.date, m.to_addr, m.delivered_to, m.reporting_mta, m.arrival_date, m.decoder, m.rule, m.notes, m.orig_message_id,
			m.orig_from, m.orig_to, m.orig_subject, m.orig_date, m.orig_headers, m.classifier_version, m.disposed_action, m.disposed_at
			FROM messages m`,
		"outcomes": `SELECT ` + fmt.Sprintf(label, "o.message_id") + `, o.at, o.kind, o.feedback_type, o.address, o.domain, o.action,
			o.status, o.reply_code, o.reason, o.hard, o.diagnostic, o.remote_mta, o.command, o.last_attempt, o.rule,
			o.orig_message_id, o.orig_headers, o.policy FROM outcomes o`,
		"recipients": `SELECT r.address, r.domain, r.state, r.reason, r.since, r.manual, r.note,
			coalesce(` + fmt.Sprintf(label, "r.stored_id") + `, ''), r.score, r.score_at, r.bounces, r.delays, r.complaints,
			r.reports, r.autoreplies, r.delivered, r.first_bounce, r.last_bounce, r.updated_at FROM recipients r`,
		"recipient_events": `SELECT e.address, e.at, e.state, e.reason, e.set_by, e.note, e.score,
			coalesce(` + fmt.Sprintf(label, "e.stored_id") + `, '') FROM recipient_events e`,
		"alerts": `SELECT ` + fmt.Sprintf(label, "a.message_id") + `, a.at, a.reason, a.address, a.domain, a.status, a.reply_code,
			a.remote_mta, a.diagnostic FROM alerts a`,
		"archive":        `SELECT ` + fmt.Sprintf(label, "a.message_id") + `, a.stored_at, a.encoding, hex(a.data) FROM archive a`,
		"cursors":        `SELECT * FROM cursors`,
		"stats_messages": `SELECT * FROM stats_messages`,
		"stats_outcomes": `SELECT * FROM stats_outcomes`,
		"stats_domains":  `SELECT * FROM stats_domains`,
		"stats_alerts":   `SELECT * FROM stats_alerts`,
	}
	out := map[string][]string{}
	for table, q := range queries {
		rows, err := db.sql.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}

// TestDigestBuffered compares Digest, which hashes through a buffer, with
// the plain definition, on mails whose lines and line ends straddle the
// buffer's edge.
// crRunLF is a line end of CRs and an LF (CR CR LF is Courier's).
var crRunLF = regexp.MustCompile("\r+\n")

func TestDigestBuffered(t *testing.T) {
	plain := func(raw []byte) string {
		s := crRunLF.ReplaceAllString(string(raw), "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
		sum := sha256.Sum256([]byte(strings.TrimRight(s, "\n")))
		return hex.EncodeToString(sum[:])
	}
	var cases [][]byte
	for _, eol := range []string{"\n", "\r\n", "\r", "\r\r\n"} {
		for _, line := range []int{0, 1, 77, digestBuffer - 2, digestBuffer - 1, digestBuffer, digestBuffer + 1, 3 * digestBuffer} {
			var b strings.Builder
			for b.Len() < 3*digestBuffer {
				b.WriteString(strings.Repeat("x", line))
				b.WriteString(eol)
			}
			cases = append(cases, []byte(b.String()), []byte(b.String()+"tail"))
		}
	}
	cases = append(cases, nil, []byte("\r\n\r\n"), []byte("a\r"), []byte("\ra\r\r\nb"), []byte("a\r\r\r\n\r\rb\r"))
	for _, raw := range cases {
		if got, want := Digest(raw), plain(raw); got != want {
			t.Errorf("Digest(%d bytes, %q...) = %s, want %s", len(raw), raw[:min(len(raw), 12)], got, want)
		}
	}
}

// TestArchiveBlocks stores a batch whose mails fill more than one archive
// block, with a large mail compressed alone in between, and reads every
// mail back, by Raw and by Reclassify; a rerun stores no block, and the
// blocks are pruned with their mails.
func TestArchiveBlocks(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, Archive: true, ArchiveDays: 10})
	var batch []Record
	for i := 0; i < 40; i++ {
		raw := bounceMail(i, "\r\n")
		switch {
		case i == 7:
			raw = append(raw, strings.Repeat("large attachment line\r\n", blockMailMax/20)...) // alone
		case i%2 == 0:
			raw = append(raw, strings.Repeat(fmt.Sprintf("filler %d\r\n", i), blockMailMax/12)...) // ~240 KB: 20 fill two blocks
		}
		batch = append(batch, Record{Source: imapSource(uint32(i + 1)), Raw: raw, Verdict: hardBounce(fmt.Sprintf("u%d@example.com", i))})
	}
	batch = append(batch, Record{Source: imapSource(99), Raw: batch[3].Raw, Verdict: batch[3].Verdict}) // a duplicate delivery: no archive row
	res := mustRecord(t, db, batch...)
	blocks := func() (n int) {
		t.Helper()
		if err := db.sql.QueryRow(`SELECT count(*) FROM archive_blocks`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := blocks(); n < 2 {
		t.Errorf("%d archive blocks, want at least 2 (%d bytes of mail)", n, 20*blockMailMax)
	}
	for i, r := range res {
		raw, ok, err := db.Raw(ctx, r.MessageID)
		if i == len(batch)-1 {
			if ok || err != nil {
				t.Errorf("Raw(duplicate delivery) = ok %v, %v; want none", ok, err)
			}
			continue
		}
		if err != nil || !ok || !bytes.Equal(raw, batch[i].Raw) {
			t.Errorf("Raw(mail %d) = %d bytes, ok %v, %v; want its %d bytes", i, len(raw), ok, err, len(batch[i].Raw))
		}
	}
	var alone int
	if err := db.sql.QueryRow(`SELECT count(*) FROM archive WHERE encoding = 'gzip'`).Scan(&alone); err != nil || alone != 1 {
		t.Errorf("%d mails compressed alone (%v), want 1", alone, err)
	}
	before := blocks()
	mustRecord(t, db, batch...)
	if n := blocks(); n != before {
		t.Errorf("a rerun stored %d blocks more", n-before)
	}
	read := 0
	st, err := db.Reclassify(ctx, time.Time{}, func(raw []byte) (classify.Verdict, error) {
		read++
		for i := range batch {
			if bytes.Equal(raw, batch[i].Raw) {
				return batch[i].Verdict, nil
			}
		}
		return classify.Verdict{}, fmt.Errorf("mail of %d bytes not in the batch", len(raw))
	}, "2")
	if err != nil || st.Archived != len(batch)-1 || st.Failed != 0 || st.Changed != 0 {
		t.Errorf("Reclassify = %+v, %v; want every mail read back unchanged", st, err)
	}
	clk.Add(11 * 24 * time.Hour)
	if n, err := db.PruneArchive(ctx); err != nil || n != int64(len(batch)-1) {
		t.Errorf("PruneArchive = %d, %v; want %d", n, err, len(batch)-1)
	}
	if n := blocks(); n != 0 {
		t.Errorf("%d blocks left after pruning", n)
	}
}

// TestRecordOneConnection records through a pool of one connection: the
// write path prepares its statements outside the transaction, never
// waiting inside it for a second connection.
func TestRecordOneConnection(t *testing.T) {
	db, _ := openTest(t, Options{Archive: true})
	db.sql.SetMaxOpenConns(1)
	db.wdb.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var batch []Record
	for i := 0; i < 70; i++ {
		batch = append(batch, Record{Source: imapSource(uint32(i + 1)), Raw: bounceMail(i, "\n"), Verdict: hardBounce(fmt.Sprintf("u%d@example.com", i))})
	}
	if _, err := db.Record(ctx, batch); err != nil {
		t.Fatalf("Record with one connection: %v", err)
	}
	if _, err := db.Record(ctx, batch[:3]); err != nil {
		t.Fatalf("Record again with one connection: %v", err)
	}
}

// TestRowTemplates checks that each row template has as many placeholders
// as the values written per row, and that the classifier's version is a
// plain SQL literal.
func TestRowTemplates(t *testing.T) {
	for _, tc := range []struct {
		head  string
		width int
	}{{hMessages, wMessages}, {hOutcomes, wOutcomes}, {hAlerts, wAlerts}, {hArchive, wArchive}, {hEvents, wEvents}} {
		row := rowOf(tc.head, tc.width)
		if n := strings.Count(row, "?"); n != tc.width {
			t.Errorf("%s: row %s has %d placeholders, want %d", tc.head, row, n, tc.width)
		}
		cols := strings.Count(tc.head[strings.Index(tc.head, "("):], ",") + 1
		if n := strings.Count(strings.ReplaceAll(row, e, "?"), ",") + 1; n != cols {
			t.Errorf("%s: row %s has %d values, want %d", tc.head, row, n, cols)
		}
	}
	if strings.ContainsAny(classify.Version, `'\`) {
		t.Errorf("classify.Version %q needs quoting in SQL", classify.Version)
	}
}

// TestInsertColumns: the inserts built from the column lists are the
// statements written out by hand before (white space aside), so the
// column lists changed no binding.
func TestInsertColumns(t *testing.T) {
	norm := func(s string) string { return strings.Join(strings.Fields(s), "") }
	const e = `coalesce(?,'')`
	for _, tc := range []struct {
		head, row string
		width     int
		wantHead  string
		wantRow   string
		wantWidth int
	}{
		{hMessages, rMessages, wMessages, `INSERT INTO messages(id, account, folder, uidvalidity, uid, path, idx, digest, size, duplicate_of,
		at, received_at, recorded_at, kind, skipped, feedback_type, message_id, from_addr, subject, date, to_addr,
		delivered_to, reporting_mta, arrival_date, decoder, rule, notes, orig_message_id, orig_from, orig_to,
		orig_subject, orig_date, orig_headers, classifier_version)`,
			`(?,` + e + `,` + e + `,?,?,` + e + `,?,?,?,?,?,?,?,?,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,?,` + e + `,` +
				e + `,` + e + `,?,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + classifierVersion + `)`, 33},
		{hOutcomes, rOutcomes, wOutcomes, `INSERT INTO outcomes(message_id, at, kind, feedback_type, address, domain, action, status,
		reply_code, reason, hard, diagnostic, remote_mta, command, last_attempt, rule, orig_message_id, orig_headers, policy)`,
			`(?,?,?,` + e + `,?,?,` + e + `,` + e + `,` + e + `,` + e + `,?,` + e + `,` + e + `,` + e + `,?,` + e + `,` + e + `,` + e + `,?)`, 19},
		{hAlerts, rAlerts, wAlerts, `INSERT INTO alerts(message_id, at, reason, address, domain, status, reply_code, remote_mta, diagnostic)`,
			`(?,?,?,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `,` + e + `)`, 9},
	} {
		if norm(tc.head) != norm(tc.wantHead) || norm(tc.row) != norm(tc.wantRow) || tc.width != tc.wantWidth {
			t.Errorf("insert %s\n%s %d\nwant\n%s\n%s %d", tc.head, tc.row, tc.width, tc.wantHead, tc.wantRow, tc.wantWidth)
		}
	}
}
