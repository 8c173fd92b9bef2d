package storage

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/verp"
)

var (
	testSecret = []byte("storage-test-secret-0123456789")
	oldSecret  = []byte("storage-old-secret-0123456789")
)

func testVerifier(t testing.TB, mode VerifyMode, secrets ...[]byte) *Verifier {
	t.Helper()
	if len(secrets) == 0 {
		secrets = [][]byte{testSecret}
	}
	k, err := verp.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return &Verifier{Mode: mode, Keys: k, MaxAge: 30 * 24 * time.Hour}
}

func returnPath(t testing.TB, secret []byte, rcpt string, at time.Time) string {
	t.Helper()
	k, err := verp.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	rp, err := k.ReturnPath("bounces@sender.example", rcpt, at)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func TestVerifierVerify(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	sent := now.Add(-48 * time.Hour)
	vf := testVerifier(t, VerifyEnforce, testSecret, oldSecret)
	good := returnPath(t, testSecret, "jane@example.com", sent)
	tok := verp.Find(good)
	for _, tc := range []struct {
		name      string
		v         classify.Verdict
		recipient string // want; "" for a failure
		failure   string // a substring of the failure
	}{
		{"delivered-to", classify.Verdict{DeliveredTo: good}, "jane@example.com", ""},
		{"to, with a display name and a second address", classify.Verdict{To: "x@y.example, Bounces <" + good + ">"}, "jane@example.com", ""},
		{"original header", classify.Verdict{To: "bounces@sender.example", Original: classify.Original{Headers: map[string]string{verp.Header: tok}}}, "jane@example.com", ""},
		{"rotated: the old key still verifies", classify.Verdict{DeliveredTo: returnPath(t, oldSecret, "jane@example.com", sent)}, "jane@example.com", ""},
		{"no token", classify.Verdict{To: "bounces@sender.example"}, "", "no token"},
		{"unknown key", classify.Verdict{DeliveredTo: returnPath(t, []byte("an-attackers-guess-0123456789"), "jane@example.com", sent)}, "", "bad signature"},
		{"replayed for another address", classify.Verdict{DeliveredTo: "bounces+" + tok[:21] + "=ceo=bigcustomer.example@sender.example"}, "", "bad signature"},
		{"expired", classify.Verdict{DeliveredTo: returnPath(t, testSecret, "jane@example.com", now.Add(-40*24*time.Hour))}, "", "expired"},
	} {
		ver := vf.Verify(&tc.v, now)
		if ver.Recipient != tc.recipient || (tc.failure == "") != (ver.Failure == "") || !strings.Contains(ver.Failure, tc.failure) {
			t.Errorf("Verify(%s) = %+v, want recipient %q, failure ~%q", tc.name, ver, tc.recipient, tc.failure)
		}
	}
	if ver := (*Verifier)(nil).Verify(&classify.Verdict{}, now); ver.checks() {
		t.Errorf("nil Verifier: %+v, want off", ver)
	}
	if ver := (&Verifier{Mode: VerifyEnforce}).Verify(&classify.Verdict{DeliveredTo: good}, now); ver.Failure == "" {
		t.Errorf("Verifier without keys verified %+v", ver)
	}
}

func manyRecipients(n int, reason classify.Reason) classify.Verdict {
	v := classify.Verdict{Kind: classify.KindBounce}
	for i := range n {
		v.Recipients = append(v.Recipients, classify.Recipient{Address: fmt.Sprintf("r%d@victim.example", i), Action: classify.ActionFailed,
			Status: "5.1.1", Reason: reason, Hard: true})
	}
	return v
}

func TestDecide(t *testing.T) {
	p := DefaultPolicy()
	jane := Verification{Mode: VerifyEnforce, Recipient: "jane@example.com"}
	forged := Verification{Mode: VerifyEnforce, Failure: "no token"}
	twoRcpt := hardBounce("jane@example.com")
	twoRcpt.Recipients = append(twoRcpt.Recipients, hardBounce("ceo@bigcustomer.example").Recipients...)
	complaint := classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse", Recipients: []classify.Recipient{{Address: "ceo@bigcustomer.example"}}}
	vacation := classify.Verdict{Kind: classify.KindAutoreply, Recipients: []classify.Recipient{{Address: "ceo@bigcustomer.example", Reason: classify.ReasonVacation}}}
	blocked := classify.Verdict{Kind: classify.KindBounce, Recipients: []classify.Recipient{{Address: "x@example.com", Action: classify.ActionFailed, Reason: classify.ReasonBlocked}}}
	for _, tc := range []struct {
		name    string
		v       classify.Verdict
		ver     Verification
		actions []PolicyAction
		result  string
	}{
		{"off", twoRcpt, Verification{}, []PolicyAction{ActionSuppress, ActionSuppress}, ""},
		{"enforce: the token's recipient acts, the other is held", twoRcpt, jane, []PolicyAction{ActionSuppress, ActionUnverified}, Unverified},
		{"enforce: verified", hardBounce("Jane@Example.com"), jane, []PolicyAction{ActionSuppress}, Verified},
		{"enforce: forged DSN", hardBounce("ceo@bigcustomer.example"), forged, []PolicyAction{ActionUnverified}, Unverified},
		{"enforce: forged ARF", complaint, forged, []PolicyAction{ActionUnverified}, Unverified},
		{"enforce: a forged alert is held too", blocked, forged, []PolicyAction{ActionUnverified}, Unverified},
		{"enforce: nothing to prove", vacation, forged, []PolicyAction{ActionIgnore}, ""},
		{"record: acts, notes the result", hardBounce("ceo@bigcustomer.example"), Verification{Mode: VerifyRecord, Failure: "no token"}, []PolicyAction{ActionSuppress}, Unverified},
	} {
		md := p.decide(&tc.v, tc.ver)
		var got []PolicyAction
		for _, d := range md.recipients {
			got = append(got, d.action)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.actions) || md.result != tc.result {
			t.Errorf("decide(%s) = %v, %q; want %v, %q", tc.name, got, md.result, tc.actions, tc.result)
		}
	}

	// The cap: 10,000 recipients, 50 act, the rest are capped; an address
	// named twice counts once.
	v := manyRecipients(10000, classify.ReasonUserUnknown)
	v.Recipients = append([]classify.Recipient{v.Recipients[0]}, v.Recipients...)
	md := p.decide(&v, Verification{})
	acting := map[string]bool{}
	for _, d := range md.recipients {
		if d.action == ActionSuppress {
			acting[d.addr] = true
		}
	}
	if len(acting) != DefaultMaxSuppressPerMail || md.capped != 10000-DefaultMaxSuppressPerMail {
		t.Errorf("decide(10,000 recipients): %d act, %d capped; want %d and %d", len(acting), md.capped, DefaultMaxSuppressPerMail, 10000-DefaultMaxSuppressPerMail)
	}
	p.MaxSuppressPerMail = 3
	if md := p.decide(&v, Verification{}); md.capped != 10000-3 {
		t.Errorf("decide with MaxSuppressPerMail 3: %d capped, want %d", md.capped, 10000-3)
	}
}

// TestForgedBouncesInStore records forged and genuine bounces through
// Record: a forged one suppresses nobody, is stored as unverified and is
// pending as unverified; a genuine one suppresses its recipient.
func TestForgedBouncesInStore(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	vf := testVerifier(t, VerifyEnforce)
	now := clk.Now()
	n := 0
	record := func(v classify.Verdict) Result {
		t.Helper()
		n++
		return mustRecord(t, db, Record{Source: imapSource(uint32(n)), Raw: bounceMail(n, "\n"), Verdict: v, ReceivedAt: now, Verification: vf.Verify(&v, now)})[0]
	}

	forged := hardBounce("ceo@bigcustomer.example")
	forged.DeliveredTo = "bounces@sender.example"
	if res := record(forged); len(res.Suppressed) != 0 || !res.Unverified {
		t.Errorf("forged DSN: %+v, want no suppression, unverified", res)
	}
	massForged := manyRecipients(10000, classify.ReasonUserUnknown)
	if res := record(massForged); len(res.Suppressed) != 0 || !res.Unverified {
		t.Errorf("forged DSN with 10,000 recipients: %d suppressed, unverified %v", len(res.Suppressed), res.Unverified)
	}
	arf := classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse", Recipients: []classify.Recipient{{Address: "ceo@bigcustomer.example"}}}
	if res := record(arf); len(res.Suppressed) != 0 || !res.Unverified {
		t.Errorf("forged ARF: %+v", res)
	}
	replay := hardBounce("ceo@bigcustomer.example")
	replay.DeliveredTo = returnPath(t, testSecret, "attacker@evil.example", now) // a token the attacker got for their own address
	if res := record(replay); len(res.Suppressed) != 0 || !res.Unverified {
		t.Errorf("replayed token: %+v", res)
	}
	genuine := hardBounce("jane@example.com")
	genuine.DeliveredTo = returnPath(t, testSecret, "jane@example.com", now.Add(-24*time.Hour))
	if res := record(genuine); len(res.Suppressed) != 1 || res.Unverified {
		t.Errorf("genuine bounce: %+v, want jane suppressed", res)
	}
	var rows int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM recipients WHERE address LIKE '%victim.example' OR address LIKE 'ceo@%'`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("forged mail created %d recipient rows (%v), want none", rows, err)
	}
	ps, err := db.Pending(ctx, "primary", "INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	var unverified int
	for _, p := range ps {
		if p.Unverified {
			unverified++
		}
	}
	if len(ps) != 5 || unverified != 4 {
		t.Errorf("Pending: %d mails, %d unverified; want 5 and 4", len(ps), unverified)
	}
	var stored, failures int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE failure <> '') FROM verifications WHERE result = 'unverified'`).Scan(&stored, &failures); err != nil {
		t.Fatal(err)
	}
	if stored != 4 || failures != 4 {
		t.Errorf("verifications: %d unverified with %d reasons, want 4 and 4", stored, failures)
	}
}

// TestCapInStore: without verification a mail naming 10,000 recipients
// suppresses at most MaxSuppressPerMail of them; the rest are stored as
// capped.
func TestCapInStore(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{Now: newClock().Now})
	v := manyRecipients(10000, classify.ReasonUserUnknown)
	res := mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: v})[0]
	if len(res.Suppressed) != DefaultMaxSuppressPerMail {
		t.Errorf("suppressed %d, want %d", len(res.Suppressed), DefaultMaxSuppressPerMail)
	}
	var capped int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM outcomes WHERE policy = 'capped'`).Scan(&capped); err != nil {
		t.Fatal(err)
	}
	if capped != 10000-DefaultMaxSuppressPerMail {
		t.Errorf("capped outcomes = %d, want %d", capped, 10000-DefaultMaxSuppressPerMail)
	}
}

// TestOpenLockedUpToDate: a database held by another writer opens when no
// migration is pending (before, every open took a write transaction and
// failed with "applying migration 0001_init: database is locked").
func TestOpenLockedUpToDate(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	conn, err := db.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer conn.ExecContext(ctx, `ROLLBACK`)
	db2, err := Open(ctx, path, Options{BusyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open of a locked, up-to-date database: %v", err)
	}
	db2.Close()
}
