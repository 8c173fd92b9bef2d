package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

func TestParsePolicyAction(t *testing.T) {
	for _, s := range []string{"suppress", "score", "alert", "ignore", " Suppress "} {
		if _, err := ParsePolicyAction(s); err != nil {
			t.Errorf("ParsePolicyAction(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"", "block", "hard"} {
		if a, err := ParsePolicyAction(s); err == nil {
			t.Errorf("ParsePolicyAction(%q) = %q, want an error", s, a)
		}
	}
}

func TestPolicyDecide(t *testing.T) {
	failed := func(r classify.Reason, code string) classify.Recipient {
		return classify.Recipient{Address: "x@example.com", Action: classify.ActionFailed, Reason: r, ReplyCode: code}
	}
	custom := DefaultPolicy()
	custom.Reasons[classify.ReasonMailboxFull] = ActionSuppress
	custom.Reasons[classify.ReasonBlocked] = ActionIgnore
	custom.Complaints["other"] = ActionSuppress
	sparse := Policy{Reasons: map[classify.Reason]PolicyAction{classify.ReasonUserUnknown: ActionScore}}

	cases := []struct {
		name string
		p    Policy
		kind classify.Kind
		ft   string
		r    classify.Recipient
		want PolicyAction
	}{
		{"userunknown", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonUserUnknown, "550"), ActionSuppress},
		{"hostunknown", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonHostUnknown, ""), ActionSuppress},
		{"hasmoved", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonHasMoved, "551"), ActionSuppress},
		{"notaccept 5xx", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonNotAccept, "556"), ActionSuppress},
		{"notaccept 4xx", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonNotAccept, "421"), ActionScore},
		{"notaccept status 4", DefaultPolicy(), classify.KindBounce, "", classify.Recipient{Action: classify.ActionFailed, Reason: classify.ReasonNotAccept, Status: "4.4.0"}, ActionScore},
		{"mailboxfull", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonMailboxFull, "552"), ActionScore},
		{"suspend", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonSuspend, "550"), ActionScore},
		{"expired", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonExpired, ""), ActionScore},
		{"systemfull", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonSystemFull, "452"), ActionScore},
		{"networkerror", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonNetworkError, ""), ActionScore},
		{"systemerror", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonSystemError, "451"), ActionScore},
		{"undefined", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonUndefined, ""), ActionScore},
		{"empty reason", DefaultPolicy(), classify.KindBounce, "", failed("", ""), ActionScore},
		{"unknown new reason", DefaultPolicy(), classify.KindBounce, "", failed("somethingnew", ""), ActionScore},
		{"blocked", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonBlocked, "554"), ActionAlert},
		{"spamdetected", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonSpamDetected, "550"), ActionAlert},
		{"policyviolation", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonPolicyViolation, "550"), ActionAlert},
		{"authfailure", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonAuthFailure, "550"), ActionAlert},
		{"badreputation", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonBadReputation, "554"), ActionAlert},
		{"requireptr", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonRequirePTR, "550"), ActionAlert},
		{"ratelimited", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonRateLimited, "421"), ActionAlert},
		{"norelaying", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonNoRelaying, "554"), ActionAlert},
		{"failedstarttls", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonFailedSTARTTLS, "530"), ActionAlert},
		{"securityerror", DefaultPolicy(), classify.KindBounce, "", failed(classify.ReasonSecurityError, "550"), ActionAlert},
		{"delayed recipient of a bounce", DefaultPolicy(), classify.KindBounce, "", classify.Recipient{Action: classify.ActionDelayed, Reason: classify.ReasonMailboxFull}, ActionIgnore},
		{"delivered recipient of a bounce", DefaultPolicy(), classify.KindBounce, "", classify.Recipient{Action: classify.ActionDelivered, Reason: classify.ReasonDelivered}, ActionIgnore},
		{"delay", DefaultPolicy(), classify.KindDelay, "", failed(classify.ReasonExpired, ""), ActionIgnore},
		{"autoreply", DefaultPolicy(), classify.KindAutoreply, "", classify.Recipient{Reason: classify.ReasonVacation}, ActionIgnore},
		{"delivered", DefaultPolicy(), classify.KindDelivered, "", classify.Recipient{Action: classify.ActionDelivered}, ActionIgnore},
		{"report not-spam", DefaultPolicy(), classify.KindReport, "not-spam", classify.Recipient{Reason: classify.ReasonFeedback}, ActionIgnore},
		{"complaint abuse", DefaultPolicy(), classify.KindComplaint, "abuse", classify.Recipient{Reason: classify.ReasonFeedback}, ActionSuppress},
		{"complaint fraud", DefaultPolicy(), classify.KindComplaint, "Fraud", classify.Recipient{Reason: classify.ReasonFeedback}, ActionSuppress},
		{"complaint without type", DefaultPolicy(), classify.KindComplaint, "", classify.Recipient{Reason: classify.ReasonFeedback}, ActionSuppress},
		{"complaint virus", DefaultPolicy(), classify.KindComplaint, "virus", classify.Recipient{}, ActionAlert},
		{"complaint other", DefaultPolicy(), classify.KindComplaint, "other", classify.Recipient{}, ActionIgnore},
		{"complaint unknown type", DefaultPolicy(), classify.KindComplaint, "opt-out", classify.Recipient{}, ActionIgnore},
		{"override mailboxfull", custom, classify.KindBounce, "", failed(classify.ReasonMailboxFull, "552"), ActionSuppress},
		{"override blocked", custom, classify.KindBounce, "", failed(classify.ReasonBlocked, "554"), ActionIgnore},
		{"override complaint other", custom, classify.KindComplaint, "other", classify.Recipient{}, ActionSuppress},
		{"sparse override", sparse, classify.KindBounce, "", failed(classify.ReasonUserUnknown, "550"), ActionScore},
		{"sparse keeps defaults", sparse, classify.KindBounce, "", failed(classify.ReasonBlocked, "554"), ActionAlert},
		{"sparse keeps complaints", sparse, classify.KindComplaint, "abuse", classify.Recipient{}, ActionSuppress},
	}
	for _, tc := range cases {
		if got := tc.p.Decide(tc.kind, tc.ft, tc.r); got != tc.want {
			t.Errorf("%s: Decide(%s, %q, %s %s %s) = %q, want %q", tc.name, tc.kind, tc.ft, tc.r.Action, tc.r.Reason, tc.r.ReplyCode, got, tc.want)
		}
	}
	// Every sender-side reason of the classifier is an alert by default.
	for r := range defaultReasons {
		if r.SenderSide() {
			if got := DefaultPolicy().Decide(classify.KindBounce, "", failed(r, "550")); got != ActionAlert {
				t.Errorf("sender-side %s: Decide = %q, want alert", r, got)
			}
		}
	}
}

func TestPolicyScore(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	ago := func(ds ...float64) []time.Time {
		var ts []time.Time
		for _, d := range ds {
			ts = append(ts, now.Add(-time.Duration(d*float64(day))))
		}
		return ts
	}
	p := DefaultPolicy() // threshold 3, window 30d, half-life 30d, quiet reset 14d
	cases := []struct {
		name   string
		events []time.Time
		since  time.Time
		want   float64
	}{
		{"none", nil, time.Time{}, 0},
		{"one now", ago(0), time.Time{}, 1},
		{"three the same day", ago(0, 0.2, 0.9), time.Time{}, 3},
		{"order does not matter", ago(0.9, 0, 0.2), time.Time{}, 3},
		{"half-life", ago(30, 0), time.Time{}, 1}, // 30 days ago is outside the 30-day window
		{"one week decays", ago(7, 0), time.Time{}, 1 + math.Exp2(-7.0/30)},
		{"weekly for a month", ago(0, 7, 14, 21), time.Time{}, 1 + math.Exp2(-7.0/30) + math.Exp2(-14.0/30) + math.Exp2(-21.0/30)},
		{"outside the window", ago(31, 40), time.Time{}, 0},
		{"quiet reset since the last event", ago(15), time.Time{}, 0},
		{"quiet gap resets older events", ago(0, 1, 16, 17, 18), time.Time{}, 1 + math.Exp2(-1.0/30)},
		{"future events ignored", ago(-1, 0), time.Time{}, 1},
		{"fresh start after a manual unsuppress", ago(0, 1, 2), now.Add(-36 * time.Hour), 1 + math.Exp2(-1.0/30)},
	}
	for _, tc := range cases {
		if got := p.Score(tc.events, tc.since, now); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: Score = %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
	fast := Policy{SoftHalfLife: day, SoftWindow: 10 * day, QuietReset: 5 * day, SoftThreshold: 2}
	if got := fast.Score(ago(0, 1, 2), time.Time{}, now); math.Abs(got-1.75) > 1e-9 {
		t.Errorf("one-day half-life: Score = %.4f, want 1.75", got)
	}
}

// TestPolicyInStore runs policy scenarios through Record: immediate
// suppression, scoring to the threshold with decay, alerts that leave the
// recipient alone, and manual overrides kept in the history.
func TestPolicyInStore(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	day := 24 * time.Hour
	n := 0
	record := func(v classify.Verdict, at time.Time) Result {
		t.Helper()
		n++
		return mustRecord(t, db, Record{Source: imapSource(uint32(n)), Raw: bounceMail(n, "\n"), Verdict: v, ReceivedAt: at})[0]
	}
	state := func(addr string) Recipient {
		t.Helper()
		h, err := db.Recipient(ctx, addr)
		if err != nil {
			t.Fatalf("Recipient(%s): %v", addr, err)
		}
		return h.Recipient
	}
	t0 := clk.Now()

	// Hard: suppressed at once.
	if res := record(hardBounce("Hard@Example.com"), t0); !slices.Equal(res.Suppressed, []string{"hard@example.com"}) {
		t.Errorf("hard bounce suppressed %v", res.Suppressed)
	}
	if r := state("hard@example.com"); r.State != StateSuppressed || r.Reason != "userunknown" || r.Manual || !r.Since.Equal(t0) || r.Bounces != 1 {
		t.Errorf("hard: %+v", r)
	}

	// Soft: mailbox full on days 0, 1 and 2 does not suppress (decay), the
	// fourth on day 2 does.
	soft := "soft@example.com"
	for i, d := range []time.Duration{0, day, 2 * day} {
		if res := record(softBounce(soft, classify.ReasonMailboxFull), t0.Add(d)); len(res.Suppressed) != 0 {
			t.Errorf("soft event %d suppressed", i)
		}
	}
	if r := state(soft); r.State != StateActive || math.Abs(r.Score-(1+math.Exp2(-1.0/30)+math.Exp2(-2.0/30))) > 1e-9 {
		t.Errorf("soft after 3: %+v", r)
	}
	if res := record(softBounce(soft, classify.ReasonMailboxFull), t0.Add(2*day+time.Hour)); !slices.Equal(res.Suppressed, []string{soft}) {
		t.Errorf("fourth soft event suppressed %v, want %s", res.Suppressed, soft)
	}
	r := state(soft)
	if r.State != StateSuppressed || r.Reason != "mailboxfull" || r.Score < 3 || r.Bounces != 4 {
		t.Errorf("soft after 4: %+v", r)
	}

	// Sender-side: an alert, the recipient is not touched.
	res := record(softBounce("victim@example.com", classify.ReasonBlocked), t0)
	if len(res.Suppressed) != 0 {
		t.Errorf("blocked suppressed %v", res.Suppressed)
	}
	h, err := db.Recipient(ctx, "victim@example.com")
	if err != nil || h.Recipient.State != StateActive || h.Recipient.Bounces != 0 || len(h.Outcomes) != 1 || h.Outcomes[0].Policy != ActionAlert {
		t.Errorf("blocked: %+v, %v", h, err)
	}
	if c := mustCounts(t, db); c.Alerts != 1 {
		t.Errorf("alerts = %d, want 1", c.Alerts)
	}

	// Delays and auto-replies are counted, never suppress.
	for i := 0; i < 5; i++ {
		record(classify.Verdict{Kind: classify.KindDelay, Recipients: []classify.Recipient{{Address: "slow@example.com", Action: classify.ActionDelayed, Reason: classify.ReasonExpired}}}, t0)
		record(classify.Verdict{Kind: classify.KindAutoreply, Recipients: []classify.Recipient{{Address: "slow@example.com", Reason: classify.ReasonVacation}}}, t0)
	}
	if r := state("slow@example.com"); r.State != StateActive || r.Delays != 5 || r.Autoreplies != 5 || r.Score != 0 || !r.FirstBounce.IsZero() {
		t.Errorf("delays: %+v", r)
	}

	// Manual unsuppress of the soft address: a fresh start. A fifth soft
	// event does not re-suppress it; an old hard bounce (imported late)
	// does not either; a new hard bounce does only when it is verified.
	clk.Add(3 * day)
	if err := db.Unsuppress(ctx, soft, "customer says the mailbox is fixed"); err != nil {
		t.Fatal(err)
	}
	r = state(soft)
	if r.State != StateActive || !r.Manual || r.Score != 0 || r.Note != "customer says the mailbox is fixed" {
		t.Errorf("after unsuppress: %+v", r)
	}
	if res := record(softBounce(soft, classify.ReasonMailboxFull), clk.Now().Add(time.Hour)); len(res.Suppressed) != 0 {
		t.Errorf("soft event after a manual unsuppress suppressed %v", res.Suppressed)
	}
	if res := record(hardBounce(soft), t0); len(res.Suppressed) != 0 {
		t.Errorf("an old hard bounce after a manual unsuppress suppressed %v", res.Suppressed)
	}
	// Only a bounce that proves it answers mail sent to the address undoes
	// the person's decision: an unproven one (verify off, or a token for
	// someone else) is held.
	if res := record(hardBounce(soft), clk.Now().Add(2*time.Hour)); len(res.Suppressed) != 0 {
		t.Errorf("a new unverified hard bounce after a manual unsuppress suppressed %v", res.Suppressed)
	}
	recordVerified := func(v classify.Verdict, at time.Time, ver Verification) Result {
		t.Helper()
		n++
		return mustRecord(t, db, Record{Source: imapSource(uint32(n)), Raw: bounceMail(n, "\n"), Verdict: v, ReceivedAt: at, Verification: ver})[0]
	}
	if res := recordVerified(hardBounce(soft), clk.Now().Add(2*time.Hour), Verification{Mode: VerifyRecord, Recipient: "other@example.com"}); len(res.Suppressed) != 0 {
		t.Errorf("a hard bounce with another address's token after a manual unsuppress suppressed %v", res.Suppressed)
	}
	if res := recordVerified(hardBounce(soft), clk.Now().Add(2*time.Hour), Verification{Mode: VerifyRecord, Recipient: soft}); !slices.Equal(res.Suppressed, []string{soft}) {
		t.Errorf("a new verified hard bounce after a manual unsuppress suppressed %v", res.Suppressed)
	}

	// Manual suppress: never lifted by the policy, kept in the history.
	if err := db.Suppress(ctx, "Person@Example.net", "asked to be removed"); err != nil {
		t.Fatal(err)
	}
	record(hardBounce("person@example.net"), clk.Now().Add(time.Hour))
	if r := state("person@example.net"); r.State != StateSuppressed || !r.Manual || r.Reason != "manual" || r.Note != "asked to be removed" {
		t.Errorf("manual suppress: %+v", r)
	}
	h, _ = db.Recipient(ctx, soft)
	var hist []string
	for _, e := range h.Events {
		hist = append(hist, fmt.Sprintf("%s/%s/%s", e.State, e.By, e.Reason))
	}
	want := []string{"suppressed/policy/mailboxfull", "active/manual/", "suppressed/policy/userunknown"}
	if !slices.Equal(hist, want) {
		t.Errorf("history of %s = %v, want %v", soft, hist, want)
	}
	if len(h.Outcomes) != 9 {
		t.Errorf("outcomes of %s = %d, want 9", soft, len(h.Outcomes))
	}
	if err := db.Unsuppress(ctx, "nobody@example.com", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unsuppress(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := db.Recipient(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Recipient(unknown) = %v, want ErrNotFound", err)
	}
	var listed []string
	if err := db.Suppressions(ctx, time.Time{}, func(r Recipient) error { listed = append(listed, r.Address); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	if want := []string{"hard@example.com", "person@example.net", soft}; !slices.Equal(listed, want) {
		t.Errorf("Suppressions = %v, want %v", listed, want)
	}
	listed = nil
	db.Suppressions(ctx, clk.Now(), func(r Recipient) error { listed = append(listed, r.Address); return nil })
	slices.Sort(listed)
	if want := []string{"person@example.net", soft}; !slices.Equal(listed, want) {
		t.Errorf("Suppressions since now = %v, want %v", listed, want)
	}
}

func TestPreview(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: softBounce("soft@example.com", classify.ReasonMailboxFull)},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: softBounce("soft@example.com", classify.ReasonMailboxFull)},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: hardBounce("gone@example.com")},
	)
	before := mustCounts(t, db)
	v := classify.Verdict{Kind: classify.KindBounce, Recipients: []classify.Recipient{
		{Address: "soft@example.com", Action: classify.ActionFailed, Reason: classify.ReasonMailboxFull},
		{Address: "new@example.com", Action: classify.ActionFailed, Reason: classify.ReasonUserUnknown},
		{Address: "gone@example.com", Action: classify.ActionFailed, Reason: classify.ReasonUserUnknown},
		{Address: "other@example.com", Action: classify.ActionFailed, Reason: classify.ReasonMailboxFull},
		{Address: "rcpt@example.com", Action: classify.ActionFailed, Reason: classify.ReasonSpamDetected},
	}}
	sup, alerts, _, err := db.Preview(ctx, Record{Verdict: v}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"soft@example.com", "new@example.com"}; !slices.Equal(sup, want) {
		t.Errorf("Preview suppress = %v, want %v", sup, want)
	}
	if want := []string{"spamdetected: rcpt@example.com"}; !slices.Equal(alerts, want) {
		t.Errorf("Preview alerts = %v, want %v", alerts, want)
	}
	if after := mustCounts(t, db); after != before {
		t.Errorf("Preview wrote: %+v, want %+v", after, before)
	}
}

// TestSuppressionsSinceRecorded: suppressions --since filters on the time
// bounced recorded the suppression, not on the time of the bounce, so that
// an hourly feed of the last hour misses no suppression caused by an old
// mail seen late (a backfill, a daemon that was down).
func TestSuppressionsSinceRecorded(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	lastPull := clk.Now()
	clk.Add(30 * time.Minute)
	old := clk.Now().Add(-72 * time.Hour) // the bounce arrived three days ago
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("late@example.com"), ReceivedAt: old})
	if err := db.Suppress(ctx, "manual@example.com", "asked"); err != nil {
		t.Fatal(err)
	}
	var got []Recipient
	if err := db.Suppressions(ctx, lastPull, func(r Recipient) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Address != "late@example.com" || got[1].Address != "manual@example.com" {
		t.Fatalf("Suppressions(since last pull) = %+v, want late@example.com and manual@example.com", got)
	}
	if r := got[0]; !r.Since.Equal(old) || !r.SuppressedAt.Equal(clk.Now()) {
		t.Errorf("late@example.com: since %v, suppressed_at %v, want %v and %v", r.Since, r.SuppressedAt, old, clk.Now())
	}
	got = nil
	db.Suppressions(ctx, clk.Now().Add(time.Second), func(r Recipient) error { got = append(got, r); return nil })
	if len(got) != 0 {
		t.Errorf("Suppressions(after the last suppression) = %+v, want none", got)
	}
	// Unsuppressed: no longer listed, and no suppression time.
	if err := db.Unsuppress(ctx, "late@example.com", "fixed"); err != nil {
		t.Fatal(err)
	}
	h, err := db.Recipient(ctx, "late@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Recipient.SuppressedAt.IsZero() {
		t.Errorf("unsuppressed: suppressed_at = %v, want zero", h.Recipient.SuppressedAt)
	}
}
