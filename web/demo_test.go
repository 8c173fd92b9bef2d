package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// demoNow is the clock of the demo database: its mails are the 30 days
// before.
var demoNow = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

// Hostile values: everything shown comes from mail, which anyone writes.
var (
	// An address that closes an attribute and opens a script.
	hostileAddr = `"><script>alert(1)</script>@evil.example`
	// An address whose U+202E turns "moc.knab" into "bank.com" on screen.
	rtlAddr = "admin\u202emoc.knab@rtl.example"
	// A diagnostic with markup, quotes, a bidi override and a line of
	// 5,000 characters.
	hostileDiag = `550 <img src=x onerror="alert('d')"> </td></tr></table><script>alert("diag")</script> ` + "\u202e" +
		strings.Repeat("A", 5000)
	hostileNote = `<b onmouseover='x'>"note"</b> & ` + "\u202e"
)

// demoDB fills a database in t's temp dir: 30 days of mail of every kind
// over a few domains, runs of two mailboxes, and the hostile values: a
// bounce for hostileAddr and rtlAddr with hostileDiag, a manual
// suppression with hostileNote.
func demoDB(t testing.TB) *storage.DB {
	t.Helper()
	ctx := context.Background()
	// The suppressions are recorded two hours before demoNow, the hostile
	// ones at demoNow.
	clock := demoNow.Add(-2 * time.Hour)
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), storage.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reasons := []classify.Reason{classify.ReasonUserUnknown, classify.ReasonMailboxFull, classify.ReasonHostUnknown,
		classify.ReasonBlocked, classify.ReasonExpired, classify.ReasonSpamDetected}
	var recs []storage.Record
	uid := uint32(0)
	add := func(at time.Time, v classify.Verdict) {
		uid++
		recs = append(recs, storage.Record{
			Source:     storage.Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uid},
			Raw:        []byte(fmt.Sprintf("Message-ID: <%d@demo>\r\n\r\ndemo %d\r\n", uid, uid)),
			Verdict:    v,
			ReceivedAt: at,
		})
	}
	for d := 29; d >= 0; d-- {
		day := demoNow.AddDate(0, 0, -d).Truncate(24 * time.Hour)
		// A few more every day, with a bump a week ago.
		n := 4 + (29-d)/3
		if d == 7 {
			n += 12
		}
		for i := 0; i < n; i++ {
			at := day.Add(time.Duration(i) * 17 * time.Minute)
			r := reasons[(i+d)%len(reasons)]
			addr := fmt.Sprintf("user%d@d%d.example", (i*31+d)%97, i%5)
			hard := classify.IsHard(r, "", "5.0.0")
			status := "5.1.1"
			if !hard {
				status = "4.2.2"
			}
			add(at, classify.Verdict{Kind: classify.KindBounce, Rule: "dsn", Recipients: []classify.Recipient{{
				Address: addr, Action: classify.ActionFailed, Status: status, Reason: r, Hard: hard,
				Diagnostic: "smtp; 550 " + status + " mailbox unavailable", RemoteMTA: "mx.d.example", Rule: "dsn"}}})
		}
		add(day.Add(5*time.Hour), classify.Verdict{Kind: classify.KindAutoreply, Rule: "autoreply"})
		if d%3 == 0 {
			add(day.Add(6*time.Hour), classify.Verdict{Kind: classify.KindDelay, Recipients: []classify.Recipient{{
				Address: fmt.Sprintf("slow%d@d1.example", d), Action: classify.ActionDelayed, Status: "4.4.7", Reason: classify.ReasonExpired, Rule: "dsn"}}})
		}
		if d%5 == 0 {
			add(day.Add(7*time.Hour), classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse", Recipients: []classify.Recipient{{
				Address: fmt.Sprintf("angry%d@d2.example", d), Action: classify.ActionFailed, Reason: classify.ReasonFeedback, Rule: "arf"}}})
		}
	}
	for len(recs) > 0 {
		n := min(len(recs), 200)
		if _, err := db.Record(ctx, recs[:n]); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
	clock = demoNow
	for _, a := range []string{hostileAddr, rtlAddr} {
		add(demoNow.Add(-time.Hour), classify.Verdict{Kind: classify.KindBounce, Rule: "dsn", Recipients: []classify.Recipient{{
			Address: a, Action: classify.ActionFailed, Status: "5.1.1", ReplyCode: "550", Reason: classify.ReasonUserUnknown, Hard: true,
			Diagnostic: hostileDiag, RemoteMTA: `mx"<i>.evil.example`, Rule: "dsn <rule>"}}})
	}
	for len(recs) > 0 {
		n := min(len(recs), 200)
		if _, err := db.Record(ctx, recs[:n]); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
	if err := db.Suppress(ctx, "manual@evil.example", hostileNote); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"primary", "secondary"} {
		id, err := db.StartRun(ctx, name, demoNow.Add(-10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		st := storage.RunStats{Fetched: 40, Recorded: 40}
		if i == 1 {
			st = storage.RunStats{Err: `login: <b>NO</b> [AUTHENTICATIONFAILED] "bad"`}
		}
		if err := db.FinishRun(ctx, id, demoNow.Add(-9*time.Minute), st); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// demoOptions serves db with the two mailboxes of demoDB, every five
// minutes, at demoNow.
func demoOptions(db *storage.DB) Options {
	every5 := func(t time.Time) time.Time { return t.Truncate(5 * time.Minute).Add(5 * time.Minute) }
	return Options{
		DB:  func(context.Context) (*storage.DB, error) { return db, nil },
		Now: func() time.Time { return demoNow },
		Mailboxes: func() []Mailbox {
			return []Mailbox{{Name: "primary", Next: every5}, {Name: "secondary", Next: every5}, {Name: "never-run", Next: every5}}
		},
	}
}

// demoServer serves the demo database on 127.0.0.1.
func demoServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(New(demoOptions(demoDB(t))))
	t.Cleanup(srv.Close)
	return srv
}
