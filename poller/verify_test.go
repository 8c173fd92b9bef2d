package poller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/verp"
)

// verpDSN is an RFC 3464 report, as a forger or a real MTA writes it:
// recipient failed with 5.1.1, delivered to deliveredTo.
func verpDSN(subject, deliveredTo, rcpt string) []byte {
	n := mailSeq.Add(1)
	return fmt.Appendf(nil, "Delivered-To: %s\r\nFrom: MAILER-DAEMON@mx.example\r\nTo: %s\r\nSubject: %s\r\n"+
		"Message-Id: <%d.%d@mx.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"+
		"--b\r\nContent-Type: text/plain\r\n\r\nDelivery to %s failed.\r\n"+
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"+
		"Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b--\r\n",
		deliveredTo, deliveredTo, subject, time.Now().UnixNano(), n, rcpt, rcpt)
}

// TestPollForgedBounces: with verify = enforce, forged bounces (no token,
// a token moved to another address, a token of an unknown key) are
// recorded as unverified, suppress nobody and land in the unverified
// folder; the genuine one, signed with the old key of a rotation,
// suppresses its recipient and is moved as a bounce.
func TestPollForgedBounces(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("verify")
		now := time.Now()
		oldKey, _ := verp.New([]byte("the-old-secret-0123456789"))
		attacker, _ := verp.New([]byte("an-attackers-guess-0123456789"))
		sign := func(k *verp.Keys, rcpt string) string {
			rp, err := k.ReturnPath("bounces@sender.example", rcpt, now.Add(-24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return rp
		}
		own := sign(oldKey, "attacker@evil.example") // a real token, for the attacker's own address
		a.append(folder,
			verpDSN("forged", "bounces@sender.example", "ceo@bigcustomer.example"),
			verpDSN("replayed", own, "ceo@bigcustomer.example"),
			verpDSN("minted", sign(attacker, "ceo@bigcustomer.example"), "ceo@bigcustomer.example"),
			verpDSN("genuine", sign(oldKey, "jane@example.com"), "jane@example.com"),
			mail("n1", classify.KindNotBounce))
		st := newTestStore(t)
		keys, err := verp.New([]byte("the-new-secret-0123456789"), []byte("the-old-secret-0123456789"))
		if err != nil {
			t.Fatal(err)
		}
		p := b.poller(t, "primary", folder, st, func(o *Options) {
			o.Verifier = &storage.Verifier{Mode: storage.VerifyEnforce, Keys: keys}
			o.Unverified = Action{OpMove, folder + "/Unverified"}
		})
		p.classify = classify.Message

		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Recorded != 5 || sum.Unverified != 3 || sum.Suppressed != 1 {
			t.Errorf("run: %+v, want 5 recorded, 3 unverified, 1 suppressed", sum)
		}
		wantSubjects(t, a, folder+"/Unverified", "forged", "replayed", "minted")
		wantSubjects(t, a, folder+"/Processed", "genuine")
		wantSubjects(t, a, folder, "n1")
		var suppressed []string
		if err := st.Suppressions(t.Context(), time.Time{}, func(r storage.Recipient) error {
			suppressed = append(suppressed, r.Address)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(suppressed, []string{"jane@example.com"}) {
			t.Errorf("suppressed %v, want only jane@example.com", suppressed)
		}
	})
}

// TestPollUnverifiedPendingAfterCrash: mail held as unverified whose
// disposal was cut off by a crash goes to the unverified folder on the
// next run, not to the folder of its kind.
func TestPollUnverifiedPendingAfterCrash(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("verifycrash")
		a.append(folder, verpDSN("forged", "bounces@sender.example", "ceo@bigcustomer.example"))
		st := newTestStore(t)
		keys, _ := verp.New([]byte("the-new-secret-0123456789"))
		mod := func(o *Options) {
			o.Verifier = &storage.Verifier{Mode: storage.VerifyEnforce, Keys: keys}
			o.Unverified = Action{OpMove, folder + "/Unverified"}
		}
		p := b.poller(t, "primary", folder, &crashStore{Store: st}, mod)
		p.classify = classify.Message
		if _, err := p.PollOnce(t.Context()); err == nil {
			t.Fatal("the crashing run succeeded")
		}
		p = b.poller(t, "primary", folder, st, mod)
		p.classify = classify.Message
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Pending != 1 || sum.Disposed != 1 {
			t.Errorf("recovery run: %+v, want 1 pending disposed", sum)
		}
		wantSubjects(t, a, folder+"/Unverified", "forged")
		wantSubjects(t, a, folder+"/Processed")
	})
}

// TestDryRunCountsAsTheRun: mails naming one address several times are
// counted once by a dry run, as the run that follows suppresses it once.
func TestDryRunCountsAsTheRun(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("drycount")
		same := func(subject, addr string) []byte {
			n := mailSeq.Add(1)
			return fmt.Appendf(nil, "From: MAILER-DAEMON@example.test\r\nTo: bounces@example.test\r\nSubject: %s\r\n"+
				"Message-Id: <%d.%d@example.test>\r\nX-Test-Kind: bounce\r\n\r\nThe mail to %s failed.\r\n",
				subject, time.Now().UnixNano(), n, addr)
		}
		a.append(folder, same("a1", "twice@example.org"), same("a2", "twice@example.org"), same("a3", "Twice@Example.org"),
			same("b1", "once@example.org"))
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, nil)
		dry, err := p.DryRun(t.Context(), func(Planned) {})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if dry.Suppressed != 2 || sum.Suppressed != dry.Suppressed {
			t.Errorf("dry run would suppress %d, the run suppressed %d; want 2 and 2", dry.Suppressed, sum.Suppressed)
		}
	})
}
