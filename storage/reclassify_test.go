package storage

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

func TestReclassify(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now, Archive: true})
	t0 := clk.Now().Add(-48 * time.Hour)
	mails := map[string][]byte{
		"wrongly-hard": bounceMail(1, "\n"),
		"missed":       bounceMail(2, "\n"),
		"same":         bounceMail(3, "\n"),
		"manual":       bounceMail(4, "\n"),
		"garbage":      bounceMail(5, "\n"),
	}
	old := map[string]classify.Verdict{
		"wrongly-hard": hardBounce("blocked@example.com"),
		"missed":       {Kind: classify.KindNotBounce},
		"same":         hardBounce("gone@example.com"),
		"manual":       hardBounce("kept@example.com"),
		"garbage":      {Kind: classify.KindUnknown},
	}
	var recs []Record
	uid := uint32(0)
	for _, name := range []string{"wrongly-hard", "missed", "same", "manual", "garbage"} {
		uid++
		recs = append(recs, Record{Source: imapSource(uid), Raw: mails[name], Verdict: old[name], ReceivedAt: t0.Add(time.Duration(uid) * time.Minute)})
	}
	// One mail without archive: skipped, so reclassify cannot read it.
	recs = append(recs, Record{Source: imapSource(99), Size: 1 << 30, Skipped: "too large"})
	// A second delivery of "missed": its kind follows the first one's.
	recs = append(recs, Record{Source: imapSource(100), Raw: mails["missed"], Verdict: old["missed"], ReceivedAt: t0})
	mustRecord(t, db, recs...)
	if err := db.Unsuppress(ctx, "kept@example.com", "a person says it works"); err != nil {
		t.Fatal(err)
	}
	if err := db.Suppress(ctx, "kept@example.com", "and then changed their mind"); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db); c.Suppressed != 3 || c.Archived != 5 {
		t.Fatalf("before: %+v", c)
	}

	// The newer classifier: the first hard bounce was really a block, the
	// ordinary mail was a bounce, the manual one is now a mailbox-full.
	blocked := softBounce("blocked@example.com", classify.ReasonBlocked)
	blocked.Recipients[0].ReplyCode, blocked.Recipients[0].Status = "554", "5.7.1"
	newer := map[string]classify.Verdict{
		"wrongly-hard": blocked,
		"missed":       hardBounce("missed@example.com"),
		"same":         hardBounce("gone@example.com"),
		"manual":       softBounce("kept@example.com", classify.ReasonMailboxFull),
	}
	classifier := func(raw []byte) (classify.Verdict, error) {
		for name, m := range mails {
			if string(m) == string(raw) {
				if v, ok := newer[name]; ok {
					return v, nil
				}
			}
		}
		return classify.Verdict{}, classify.ErrNotMessage
	}
	clk.Add(time.Hour)
	st, err := db.Reclassify(ctx, time.Time{}, classifier, "2")
	if err != nil {
		t.Fatal(err)
	}
	want := ReclassifyStats{Archived: 5, Changed: 3, Unchanged: 1, Failed: 1, NotArchived: 1,
		Suppressed: []string{"missed@example.com"}, Unsuppressed: []string{"blocked@example.com"}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Reclassify = %+v\nwant %+v", st, want)
	}
	h, err := db.Recipient(ctx, "blocked@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r := h.Recipient; r.State != StateActive || r.Bounces != 0 {
		t.Errorf("blocked@ after reclassify: %+v", r)
	}
	if n := len(h.Events); n != 2 || h.Events[1].By != "reclassify" || h.Events[1].State != StateActive {
		t.Errorf("blocked@ history: %+v", h.Events)
	}
	if len(h.Outcomes) != 1 || h.Outcomes[0].Policy != ActionAlert || h.Outcomes[0].ClassifierVersion != "2" {
		t.Errorf("blocked@ outcomes: %+v", h.Outcomes)
	}
	h, _ = db.Recipient(ctx, "missed@example.com")
	if r := h.Recipient; r.State != StateSuppressed || r.Reason != "userunknown" || r.Bounces != 1 || !r.Since.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("missed@ after reclassify: %+v", r)
	}
	h, _ = db.Recipient(ctx, "kept@example.com")
	if r := h.Recipient; r.State != StateSuppressed || !r.Manual || r.Reason != "manual" {
		t.Errorf("kept@ (manual) after reclassify: %+v", r)
	}
	if c := mustCounts(t, db); c.Suppressed != 3 || c.Alerts != 1 || c.Messages != 6 || c.Duplicates != 1 {
		t.Errorf("after: %+v", c)
	}
	if p, _ := db.Pending(ctx, "primary", "INBOX", 7); p[len(p)-1].UID != 100 || p[len(p)-1].Kind != classify.KindBounce {
		t.Errorf("the duplicate delivery after reclassify: %+v, want kind bounce", p[len(p)-1])
	}
	var versions []string
	rows, _ := db.sql.QueryContext(ctx, `SELECT classifier_version FROM messages ORDER BY id`)
	for rows.Next() {
		var v string
		rows.Scan(&v)
		versions = append(versions, v)
	}
	rows.Close()
	if !slices.Equal(versions, []string{"2", "2", "2", "2", classify.Version, classify.Version, "2"}) {
		t.Errorf("versions = %v", versions)
	}
	checkRollups(t, db)
	r, err := db.Report(ctx, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages.ByKind[classify.KindNotBounce] != 0 || r.Messages.ByKind[classify.KindBounce] != 4 || r.Outcomes.ByReason["blocked"] != 1 {
		t.Errorf("report after reclassify: %+v %+v", r.Messages, r.Outcomes)
	}

	// Idempotent: a second run changes nothing.
	before := mustCounts(t, db)
	st, err = db.Reclassify(ctx, time.Time{}, classifier, "2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Changed != 0 || st.Unchanged != 4 || len(st.Suppressed)+len(st.Unsuppressed) != 0 {
		t.Errorf("second Reclassify = %+v", st)
	}
	if after := mustCounts(t, db); after != before {
		t.Errorf("second run changed counts: %+v -> %+v", before, after)
	}
	// --since: only the newest mails.
	st, err = db.Reclassify(ctx, t0.Add(4*time.Minute), classifier, "3")
	if err != nil || st.Archived != 2 || st.NotArchived != 1 { // the skipped mail arrived "now"
		t.Errorf("Reclassify since = %+v, %v", st, err)
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Reclassify(ctxDone, time.Time{}, classifier, "4"); !errors.Is(err, context.Canceled) {
		t.Errorf("Reclassify on a canceled context = %v", err)
	}
}

func TestArchivePrune(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, path := openTest(t, Options{Now: clk.Now, Archive: true, ArchiveDays: 10})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")})
	clk.Add(5 * 24 * time.Hour)
	mustRecord(t, db, Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@example.com")})
	clk.Add(6 * 24 * time.Hour)
	if n, err := db.PruneArchive(ctx); err != nil || n != 1 {
		t.Errorf("PruneArchive = %d, %v; want 1", n, err)
	}
	if c := mustCounts(t, db); c.Archived != 1 || c.Messages != 2 || c.Outcomes != 2 {
		t.Errorf("after prune: %+v", c)
	}
	clk.Add(5 * 24 * time.Hour) // b's archive is 11 days old: a finished run prunes it
	id, _ := db.StartRun(ctx, "primary", clk.Now())
	if err := db.FinishRun(ctx, id, clk.Now(), RunStats{}); err != nil {
		t.Fatal(err)
	}
	if c := mustCounts(t, db); c.Archived != 0 {
		t.Errorf("after a run: %+v", c)
	}
	mustRecord(t, db, Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: hardBounce("c@example.com")})
	db.Close()
	// Open prunes too.
	clk.Add(11 * 24 * time.Hour)
	db, err := Open(ctx, path, Options{Now: clk.Now, Archive: true, ArchiveDays: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if c := mustCounts(t, db); c.Archived != 0 {
		t.Errorf("after reopen: %+v", c)
	}
}
