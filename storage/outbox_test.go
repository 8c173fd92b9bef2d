package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

// outboxEvents lists every event in the outbox, oldest first.
func outboxEvents(t *testing.T, db *DB) []OutboxEvent {
	t.Helper()
	ctx := context.Background()
	// A target that takes everything, registered before the events it
	// should see (see TestFanoutStartsNow), reads them all.
	ds, err := db.Deliveries(ctx, DeliveryFilter{Target: "all", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []OutboxEvent
	for i := len(ds) - 1; i >= 0; i-- {
		out = append(out, ds[i].Event)
	}
	return out
}

func fanout(t *testing.T, db *DB, target string) int {
	t.Helper()
	n, err := db.Fanout(context.Background(), target, nil)
	if err != nil {
		t.Fatalf("Fanout(%s): %v", target, err)
	}
	return n
}

func eventTypes(evs []OutboxEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Type)+" "+e.Address+" "+e.Reason)
	}
	return out
}

// TestOutboxWrittenWithTheOutcome: Record writes the suppression,
// complaint and sender-side alert events of a batch in its own
// transaction; a duplicate writes none; a manual suppress and unsuppress
// write theirs, and only when the state changes.
func TestOutboxWrittenWithTheOutcome(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	fanout(t, db, "all") // registered: it gets what follows

	hard := hardBounce("Gone@Example.com")
	hard.Original.Headers = map[string]string{"X-Listmonk-Campaign": "9f86b50d-5711-41c8-ab03-bc91c43d711b"}
	hard.Original.MessageID = "<campaign-1@sender.example>"
	complaint := classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse", Decoder: "arf", Rule: "arf",
		Recipients: []classify.Recipient{{Address: "angry@example.org"}}}
	blocked := hardBounce("innocent@example.net")
	blocked.Recipients[0].Reason = classify.ReasonBlocked
	blocked.Recipients[0].Diagnostic = "550 5.7.1 <innocent@example.net> blocked by Spamhaus"
	res := mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hard},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: complaint},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: blocked},
		Record{Source: imapSource(4), Raw: bounceMail(1, "\n"), Verdict: hard}, // the same bytes again: a duplicate
	)
	if !res[3].Duplicate {
		t.Fatalf("the fourth mail is no duplicate: %+v", res[3])
	}
	if n := fanout(t, db, "all"); n != 4 {
		t.Errorf("Fanout after the batch: %d deliveries, want 4", n)
	}
	evs := outboxEvents(t, db)
	want := []string{
		"complaint angry@example.org complaint:abuse",
		"sender_alert innocent@example.net blocked",
		"suppression.added gone@example.com userunknown",
		"suppression.added angry@example.org complaint:abuse",
	}
	if got := eventTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events after Record:\n got %q\nwant %q", got, want)
	}
	ids := map[string]bool{}
	for _, e := range evs {
		if e.ID == "" || ids[e.ID] || e.At.IsZero() || e.Mailbox != "primary" || e.StoredID == 0 {
			t.Errorf("event %+v: want a new id, a time, the mailbox and the stored mail", e)
		}
		ids[e.ID] = true
	}
	sup := evs[2]
	if sup.By != "policy" || sup.Domain != "example.com" || sup.Status != "5.1.1" || sup.OrigMessageID != "<campaign-1@sender.example>" ||
		sup.OrigHeaders["X-Listmonk-Campaign"] != "9f86b50d-5711-41c8-ab03-bc91c43d711b" || sup.Policy != "suppress" {
		t.Errorf("suppression event: %+v", sup)
	}
	if evs[1].Diagnostic != "550 5.7.1 <innocent@example.net> blocked by Spamhaus" || evs[1].Policy != "alert" {
		t.Errorf("alert event: %+v", evs[1])
	}

	// By hand: one event per change of state, none for no change.
	if err := db.Unsuppress(ctx, "gone@example.com", "moved back"); err != nil {
		t.Fatal(err)
	}
	if err := db.Unsuppress(ctx, "gone@example.com", "again"); err != nil {
		t.Fatal(err)
	}
	if err := db.Suppress(ctx, "new@example.com", "asked us"); err != nil {
		t.Fatal(err)
	}
	if err := db.Suppress(ctx, "new@example.com", "asked again"); err != nil {
		t.Fatal(err)
	}
	fanout(t, db, "all")
	evs = outboxEvents(t, db)[4:]
	want = []string{"suppression.removed gone@example.com ", "suppression.added new@example.com manual"}
	if got := eventTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events by hand:\n got %q\nwant %q", got, want)
	}
	if evs[0].By != "manual" || evs[0].Note != "moved back" || evs[1].By != "manual" || evs[1].Note != "asked us" {
		t.Errorf("events by hand: %+v", evs)
	}
}

// TestOutboxRolledBackWithTheBatch: a batch that fails leaves no event:
// the outbox row and the outcome are one transaction.
func TestOutboxRolledBackWithTheBatch(t *testing.T) {
	db, _ := openTest(t, Options{})
	fanout(t, db, "all")
	_, err := db.Record(context.Background(), []Record{
		{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com")},
		{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: classify.Verdict{Kind: "nonsense"}},
	})
	if err == nil {
		t.Fatal("Record of a bad batch: no error")
	}
	if n := fanout(t, db, "all"); n != 0 {
		t.Errorf("events after a failed batch: %d, want 0", n)
	}
	if c := mustCounts(t, db); c.Suppressed != 0 {
		t.Errorf("suppressed after a failed batch: %d", c.Suppressed)
	}
}

// TestFanoutStartsNow: a target seen for the first time gets the events
// from then on, not the history; a filter keeps the types it takes.
func TestFanoutStartsNow(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("old@example.com")})
	if n := fanout(t, db, "late"); n != 0 {
		t.Errorf("a new target got %d old events", n)
	}
	onlyRemoved := func(t EventType) bool { return t == EventSuppressionRemoved }
	if _, err := db.Fanout(ctx, "removals", onlyRemoved); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, db, Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("new@example.com")})
	if err := db.Unsuppress(ctx, "old@example.com", "ok"); err != nil {
		t.Fatal(err)
	}
	if n := fanout(t, db, "late"); n != 2 {
		t.Errorf("late: %d new deliveries, want 2", n)
	}
	if n, err := db.Fanout(ctx, "removals", onlyRemoved); err != nil || n != 1 {
		t.Errorf("removals: %d new deliveries, %v; want 1", n, err)
	}
	if n := fanout(t, db, "late"); n != 0 {
		t.Errorf("late again: %d, want 0", n)
	}
}

// TestDeliveryStates: due deliveries in event order; delivered, failed
// (pending again later), dead; retry re-queues the dead, or named events
// in any state; counts; pruning keeps what is not delivered.
func TestDeliveryStates(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	fanout(t, db, "t")
	for i := 1; i <= 3; i++ {
		addr := fmt.Sprintf("x%d@example.com", i)
		mustRecord(t, db, Record{Source: imapSource(uint32(i)), Raw: bounceMail(i, "\n"), Verdict: hardBounce(addr)})
		if err := db.Unsuppress(ctx, addr, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	fanout(t, db, "t")
	now := clk.Now()
	due, err := db.DueDeliveries(ctx, "t", now, 10)
	if err != nil || len(due) != 6 {
		t.Fatalf("DueDeliveries: %d, %v; want 6", len(due), err)
	}
	for i := 1; i < len(due); i++ {
		if due[i].ID < due[i-1].ID {
			t.Errorf("due deliveries out of order: %d after %d", due[i].ID, due[i-1].ID)
		}
	}
	if err := db.MarkDelivered(ctx, due[0].ID, now, 200); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	if err := db.MarkFailed(ctx, due[1].ID, now, 503, "503 Service Unavailable", later, false); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkFailed(ctx, due[2].ID, now, 400, "400 Bad Request", now, true); err != nil {
		t.Fatal(err)
	}
	if d, _ := db.DueDeliveries(ctx, "t", now, 10); len(d) != 3 {
		t.Errorf("due after one delivered, one failed, one dead: %d, want 3", len(d))
	}
	if next, err := db.NextDue(ctx, "t"); err != nil || !next.Equal(now) {
		t.Errorf("NextDue = %v, %v; want %v", next, err, now)
	}
	if p, d, err := db.QueueCounts(ctx, "t"); p != 4 || d != 1 || err != nil {
		t.Errorf("QueueCounts = %d pending, %d dead, %v; want 4, 1", p, d, err)
	}
	qs, err := db.OutboxQueues(ctx, []string{"t", "idle"})
	if err != nil || len(qs) != 2 || qs[1].Target != "t" || qs[1].Pending != 4 || qs[1].Dead != 1 || qs[0].Pending != 0 {
		t.Errorf("OutboxQueues = %+v, %v", qs, err)
	}
	list, err := db.Deliveries(ctx, DeliveryFilter{States: []DeliveryState{DeliveryDead}})
	if err != nil || len(list) != 1 || list[0].LastStatus != 400 || list[0].Attempts != 1 || list[0].LastError != "400 Bad Request" {
		t.Fatalf("dead deliveries: %+v, %v", list, err)
	}

	// Retry: the dead one; then a delivered one by its event id (a replay).
	if n, err := db.RetryDeliveries(ctx, "t", nil); n != 1 || err != nil {
		t.Errorf("RetryDeliveries(dead) = %d, %v; want 1", n, err)
	}
	if n, err := db.RetryDeliveries(ctx, "", []string{due[0].Event.ID}); n != 1 || err != nil {
		t.Errorf("RetryDeliveries(delivered event) = %d, %v; want 1", n, err)
	}
	if _, err := db.RetryDeliveries(ctx, "", []string{"no-such-event"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("RetryDeliveries(unknown) = %v, want ErrNotFound", err)
	}
	if p, d, _ := db.QueueCounts(ctx, "t"); p != 6 || d != 0 {
		t.Errorf("after retry: %d pending, %d dead; want 6, 0", p, d)
	}

	// Pruning: only events delivered to every target, and old enough.
	for _, d := range due[:5] {
		if err := db.MarkDelivered(ctx, d.ID, now, 204); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.PruneOutbox(ctx, now, []string{"t"}); n != 0 || err != nil {
		t.Errorf("PruneOutbox(before now) = %d, %v; want 0 (too recent)", n, err)
	}
	if n, err := db.PruneOutbox(ctx, now.Add(time.Hour), []string{"t"}); n != 5 || err != nil {
		t.Errorf("PruneOutbox = %d, %v; want the 5 delivered", n, err)
	}
	left, _ := db.Deliveries(ctx, DeliveryFilter{})
	if len(left) != 1 || left[0].ID != due[5].ID || left[0].State != DeliveryPending {
		t.Errorf("left after pruning: %+v", left)
	}
}

// TestNoteHealth: a change of the failing checks is one event; the same
// checks again (with other counts) are none; a first judgement that is
// fine is none.
func TestNoteHealth(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	fanout(t, db, "all")
	failed := func(n int) Health {
		return Health{Mailbox: "primary", FailedRuns: n, Problems: []Problem{{Check: CheckFailedRuns, Message: "failed"}}}
	}
	steps := []struct {
		h    Health
		want bool
	}{
		{Health{Mailbox: "primary", Problems: []Problem{}}, false},
		{failed(1), true},
		{failed(2), false},
		{Health{Mailbox: "primary", Problems: []Problem{{Check: CheckNoBounce}, {Check: CheckFailedRuns}}}, true},
		{Health{Mailbox: "primary"}, true},
		{Health{Mailbox: "other", Problems: []Problem{{Check: CheckNoBounce}}}, true},
	}
	for i, s := range steps {
		if got, err := db.NoteHealth(ctx, s.h); got != s.want || err != nil {
			t.Errorf("step %d: NoteHealth = %v, %v; want %v", i, got, err, s.want)
		}
	}
	fanout(t, db, "all")
	evs := outboxEvents(t, db)
	if len(evs) != 4 {
		t.Fatalf("health events: %q, want 4", eventTypes(evs))
	}
	if evs[0].Reason != "failed_runs" || len(evs[0].Previous) != 0 || len(evs[0].Problems) != 1 {
		t.Errorf("first health event: %+v", evs[0])
	}
	if evs[1].Reason != "failed_runs,no_bounce" || !reflect.DeepEqual(evs[1].Previous, []string{"failed_runs"}) {
		t.Errorf("second health event: %+v", evs[1])
	}
	if evs[2].Reason != "ok" || !reflect.DeepEqual(evs[2].Previous, []string{"failed_runs", "no_bounce"}) || len(evs[2].Problems) != 0 {
		t.Errorf("third health event: %+v", evs[2])
	}
	if evs[3].Mailbox != "other" || evs[3].Type != EventMailboxHealth {
		t.Errorf("fourth health event: %+v", evs[3])
	}
}

// TestOutboxReclassify: the suppressions reclassify adds and lifts are
// events too, by reclassify, with the mailbox and the original's headers
// of the mail that caused them.
func TestOutboxReclassify(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{Archive: true})
	missed := bounceMail(1, "\n")
	wrong := bounceMail(2, "\n")
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: missed, Verdict: classify.Verdict{Kind: classify.KindNotBounce}},
		Record{Source: imapSource(2), Raw: wrong, Verdict: hardBounce("blocked@example.com")})
	fanout(t, db, "all")
	now := hardBounce("missed@example.com")
	now.Original.Headers = map[string]string{"X-Listmonk-Campaign": "9f86b50d-5711-41c8-ab03-bc91c43d711b"}
	blocked := hardBounce("blocked@example.com")
	blocked.Recipients[0].Reason = classify.ReasonBlocked
	_, err := db.Reclassify(ctx, time.Time{}, func(raw []byte) (classify.Verdict, error) {
		if string(raw) == string(missed) {
			return now, nil
		}
		return blocked, nil
	}, "2")
	if err != nil {
		t.Fatal(err)
	}
	fanout(t, db, "all")
	evs := outboxEvents(t, db)
	want := []string{"suppression.removed blocked@example.com ", "suppression.added missed@example.com userunknown"}
	if got := eventTypes(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events of reclassify:\n got %q\nwant %q", got, want)
	}
	for _, e := range evs {
		if e.By != "reclassify" {
			t.Errorf("event %+v: by %q, want reclassify", e, e.By)
		}
	}
	if e := evs[1]; e.Mailbox != "primary" || e.StoredID == 0 || e.OrigHeaders["X-Listmonk-Campaign"] == "" || e.Kind != classify.KindBounce {
		t.Errorf("the suppression of reclassify: %+v", e)
	}
}
