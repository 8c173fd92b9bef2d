package poller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// The fault series (fault_test.go, dbfault_test.go, hostile_test.go) run the
// real classifier over real-looking mail they generate, disturb the run, and
// then compare the outcome with an undisturbed run over the same mails.

// faultSeed is the seed of every fault series: BOUNCED_FAULT_SEED, else 1.
func faultSeed(t testing.TB) uint64 {
	t.Helper()
	s := os.Getenv("BOUNCED_FAULT_SEED")
	if s == "" {
		return 1
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("BOUNCED_FAULT_SEED=%q: %v", s, err)
	}
	return n
}

// faultRounds is how many rounds a series runs: BOUNCED_FAULT_ROUNDS, else
// def (what CI runs).
func faultRounds(t testing.TB, def int) int {
	t.Helper()
	s := os.Getenv("BOUNCED_FAULT_ROUNDS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("BOUNCED_FAULT_ROUNDS=%q: want a positive number", s)
	}
	return n
}

// genMail is one generated mail and what it was built to be.
type genMail struct {
	subject string
	raw     []byte
	kind    classify.Kind
	date    time.Time // its Date, and the INTERNALDATE it is appended with
}

// genMails builds n mails of every kind the default actions treat apart:
// hard bounces (user unknown: suppressed at once), soft bounces (mailbox
// full: three on one day suppress, so a soft bounce counted twice would
// change the list), delays, ARF complaints, auto-replies (flagged) and
// ordinary mail (left). The padding varies the size, so that a cut in the
// middle of a FETCH lands inside a literal. tag makes every Message-ID and
// subject unique to the series.
func genMails(rng *rand.Rand, tag string, n int) []genMail {
	softAddrs := max(1, n/12)
	out := make([]genMail, n)
	for i := range out {
		subj := fmt.Sprintf("%s-%d", tag, i)
		at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		date := at.Format(time.RFC1123Z)
		pad := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", rng.IntN(60))
		var m genMail
		switch i % 8 {
		case 0, 1:
			m = genMail{subject: subj, raw: dsnMail(subj, date, fmt.Sprintf("gone%d@%s.example", i, tag), "failed", "5.1.1",
				"550 5.1.1 <user> unknown user: no such mailbox here", pad), kind: classify.KindBounce}
		case 2, 3:
			m = genMail{subject: subj, raw: dsnMail(subj, date, fmt.Sprintf("full%d@%s.example", rng.IntN(softAddrs), tag), "failed", "4.2.2",
				"452 4.2.2 mailbox full, quota exceeded", pad), kind: classify.KindBounce}
		case 4:
			m = genMail{subject: subj, raw: dsnMail(subj, date, fmt.Sprintf("slow%d@%s.example", i, tag), "delayed", "4.4.7",
				"421 4.4.7 connection timed out, will keep trying", pad), kind: classify.KindDelay}
		case 5:
			m = genMail{subject: subj, raw: arfMail(subj, date, fmt.Sprintf("angry%d@%s.example", i, tag), pad), kind: classify.KindComplaint}
		case 6:
			subj = "Automatic reply: " + subj
			m = genMail{subject: subj, raw: fmt.Appendf(nil, "From: Kim <kim%d@%s.example>\r\nTo: news@shop.example\r\nSubject: %s\r\n"+
				"Date: %s\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <%s@corp.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
				"I am out of the office until March 20 with limited access to mail.\r\n%s", i, tag, subj, date, tagID(subj), pad),
				kind: classify.KindAutoreply}
		default:
			m = genMail{subject: subj, raw: fmt.Appendf(nil, "From: Someone <someone%d@%s.example>\r\nTo: news@shop.example\r\nSubject: %s\r\n"+
				"Date: %s\r\nMessage-ID: <%s@home.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
				"Thanks for the newsletter, see you on Tuesday.\r\n%s", i, tag, subj, date, tagID(subj), pad),
				kind: classify.KindNotBounce}
		}
		m.date = at
		out[i] = m
	}
	return out
}

func tagID(subj string) string { return strings.NewReplacer(" ", "-", ":", "").Replace(subj) }

func dsnMail(subj, date, rcpt, action, status, diag, pad string) []byte {
	return fmt.Appendf(nil, "From: Mail Delivery System <MAILER-DAEMON@mx.isp.example>\r\nTo: bounces@shop.example\r\n"+
		"Subject: %s\r\nDate: %s\r\nMessage-ID: <%s@mx.isp.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\nAuto-Submitted: auto-replied\r\n\r\n"+
		"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message to %s could not be delivered.\r\n%s\r\n"+
		"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.isp.example\r\n\r\n"+
		"Final-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s\r\n\r\n"+
		"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <orig-%s@shop.example>\r\nFrom: news@shop.example\r\nTo: %s\r\nSubject: March offers\r\n\r\n"+
		"--b1--\r\n", subj, date, tagID(subj), rcpt, pad, rcpt, action, status, diag, tagID(subj), rcpt)
}

func arfMail(subj, date, rcpt, pad string) []byte {
	return fmt.Appendf(nil, "From: Feedback Loop <fbl@isp.example>\r\nTo: fbl-reports@shop.example\r\nSubject: %s\r\n"+
		"Date: %s\r\nMessage-ID: <%s@fbl.isp.example>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"arf1\"\r\n\r\n"+
		"--arf1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is an email abuse report.\r\n%s\r\n"+
		"--arf1\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n"+
		"Original-Mail-From: <news@shop.example>\r\nOriginal-Rcpt-To: <%s>\r\nArrival-Date: %s\r\n\r\n"+
		"--arf1\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <orig-%s@shop.example>\r\nFrom: Shop News <news@shop.example>\r\n"+
		"To: %s\r\nSubject: March offers\r\n\r\nHello, here are our offers.\r\n\r\n--arf1--\r\n",
		subj, date, tagID(subj), pad, rcpt, date, tagID(subj), rcpt)
}

// checkKinds fails unless the real classifier gives every generated mail
// the kind it was built as: otherwise the series would not cover what it
// claims to.
func checkKinds(t *testing.T, mails []genMail) {
	t.Helper()
	for _, m := range mails {
		v, err := classify.Message(m.raw)
		if err != nil || v.Kind != m.kind {
			t.Fatalf("Message(%s): kind %q, %v; want %q", m.subject, v.Kind, err, m.kind)
		}
	}
}

// realPoller is b.poller with the real classifier.
func (b *backend) realPoller(t testing.TB, folder string, store Store, mod func(*Options)) *Poller {
	t.Helper()
	p := b.poller(t, "primary", folder, store, mod)
	p.classify = classify.Message
	return p
}

// allFolders lists folder and every folder under it.
func (a *admin) allFolders(folder string) []string {
	a.t.Helper()
	out := []string{folder}
	l, err := a.c.List("", a.ns.wire(folder+"/*"), nil).Collect()
	if err != nil {
		a.t.Fatal(err)
	}
	for _, d := range l {
		out = append(out, d.Mailbox)
	}
	slices.Sort(out)
	return out
}

// placed is where each subject is on the server: the folders holding it
// (one entry per copy), and whether a copy in folder itself is flagged.
func (a *admin) placed(folder string) (where map[string][]string, flagged map[string]bool) {
	a.t.Helper()
	where, flagged = map[string][]string{}, map[string]bool{}
	for _, f := range a.allFolders(folder) {
		for _, m := range a.looseList(f) {
			where[m.Subject] = append(where[m.Subject], f)
			if f == folder && m.has(Keyword) {
				flagged[m.Subject] = true
			}
		}
	}
	return where, flagged
}

// looseList is list for hostile headers (NULs, 1 MiB lines, 10,000
// fields): the Subject is the first header line that starts with it.
func (a *admin) looseList(folder string) []msgState {
	a.t.Helper()
	if _, err := a.c.Select(a.ns.wire(folder), &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		a.t.Fatal(err)
	}
	defer a.unselect()
	var set imap.UIDSet
	set.AddRange(1, 0)
	msgs, err := a.c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}}).Collect()
	if err != nil {
		a.t.Fatal(err)
	}
	var out []msgState
	for _, m := range msgs {
		ms := msgState{UID: uint32(m.UID), Flags: m.Flags}
		for _, s := range m.BodySection {
			for line := range strings.SplitSeq(string(s.Bytes), "\n") {
				if v, ok := strings.CutPrefix(line, "Subject: "); ok {
					ms.Subject = strings.TrimRight(v, "\r")
					break
				}
			}
		}
		out = append(out, ms)
	}
	return out
}

// checkMovedCommitted is the safety rule after a disturbed run: a mail that
// left folder, or was flagged there, has its outcome committed.
func checkMovedCommitted(t *testing.T, a *admin, folder string, db *storage.DB, mails []genMail) {
	t.Helper()
	where, flagged := a.placed(folder)
	for _, m := range mails {
		touched := flagged[m.subject]
		for _, f := range where[m.subject] {
			touched = touched || f != folder
		}
		if !touched {
			continue
		}
		known, err := db.Known(context.Background(), storage.Source{}, m.raw)
		if err != nil {
			t.Fatal(err)
		}
		if !known {
			t.Errorf("%s is in %q (flagged %v) but its outcome is not committed", m.subject, where[m.subject], flagged[m.subject])
		}
	}
}

// put appends mails with their own INTERNALDATE: the store dates an
// outcome by it, so the suppression list of two runs over the same mails
// compares whole.
func (a *admin) put(folder string, mails ...genMail) {
	a.t.Helper()
	for _, m := range mails {
		cmd := a.c.Append(a.ns.wire(folder), int64(len(m.raw)), &imap.AppendOptions{Time: m.date})
		if _, err := cmd.Write(m.raw); err != nil {
			a.t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			a.t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			a.t.Fatal(err)
		}
	}
}

// suppression is what must not depend on how a run was disturbed.
type suppression struct {
	Address, Reason string
	Since           time.Time
}

func suppressions(t testing.TB, db *storage.DB) []suppression {
	t.Helper()
	var out []suppression
	err := db.Suppressions(context.Background(), time.Time{}, func(r storage.Recipient) error {
		out = append(out, suppression{r.Address, r.Reason, r.Since.UTC()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(x, y suppression) int { return strings.Compare(x.Address, y.Address) })
	return out
}

// undisturbed polls mails once, undisturbed, in a folder of their own,
// and returns the suppression list.
func undisturbed(t *testing.T, b *backend, a *admin, mails []genMail, mod func(*Options)) []suppression {
	t.Helper()
	folder := a.fresh("calm")
	a.put(folder, mails...)
	st := newTestStore(t)
	if _, err := b.realPoller(t, folder, st, mod).PollOnce(t.Context()); err != nil {
		t.Fatalf("undisturbed run: %v", err)
	}
	return suppressions(t, st.DB)
}

// checkSeries is the assertion after every series: every mail stored
// exactly once and disposed of, in the place its action says and nowhere
// else, and the suppression list that of an undisturbed run. It returns how
// many mails were marked "gone" (moved before a fault, marked by a later
// run) and how many extra copies the target folders hold.
func checkSeries(t *testing.T, a *admin, folder string, db *storage.DB, mails []genMail, want []suppression) (gone, extra int) {
	t.Helper()
	ctx := context.Background()
	c, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Messages != len(mails) || c.Duplicates != 0 {
		t.Errorf("store holds %d mails and %d duplicates, want %d and 0", c.Messages, c.Duplicates, len(mails))
	}
	// Rows are only ever added: their ids run from 1 without a gap. Mail
	// skipped unread has no digest: its size tells it apart.
	byDigest := map[string]storage.StoredMessage{}
	key := func(digest string, size int64) string {
		if digest == "" {
			return fmt.Sprintf("unread, %d bytes", size)
		}
		return digest
	}
	for id := int64(1); id <= int64(c.Messages+c.Duplicates); id++ {
		m, err := db.Message(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		k := key(m.Digest, m.Size)
		if _, ok := byDigest[k]; ok {
			t.Errorf("%s stored twice", k)
		}
		byDigest[k] = m
	}
	actions := testActions(folder)
	where, flagged := a.placed(folder)
	for _, m := range mails {
		sm, ok := byDigest[storage.Digest(m.raw)]
		if !ok {
			sm, ok = byDigest[key("", int64(len(m.raw)))]
		}
		if !ok {
			t.Errorf("%s: not stored", m.subject)
			continue
		}
		act := actions[m.kind]
		if sm.Verdict.Kind != m.kind && sm.Skipped == "" {
			t.Errorf("%s: stored as %s, want %s", m.subject, sm.Verdict.Kind, m.kind)
		}
		if sm.Skipped != "" {
			act = actions[classify.KindUnknown]
		}
		switch {
		case sm.DisposedAt.IsZero():
			t.Errorf("%s: not disposed of", m.subject)
		case sm.DisposedAction == "gone":
			gone++
		case sm.DisposedAction != act.String():
			t.Errorf("%s: disposed as %q, want %q", m.subject, sm.DisposedAction, act)
		}
		wantFolder := folder
		if act.Op == OpMove {
			wantFolder = act.Folder
		}
		got := where[m.subject]
		if len(got) == 0 || slices.ContainsFunc(got, func(f string) bool { return f != wantFolder }) {
			t.Errorf("%s is in %q, want %s only", m.subject, got, wantFolder)
		}
		extra += max(0, len(got)-1)
		if act.Op != OpMove && len(got) > 1 {
			t.Errorf("%s is %d times in %s", m.subject, len(got), folder)
		}
		if (act.Op == OpFlag) != flagged[m.subject] {
			t.Errorf("%s: flagged %v, action %s", m.subject, flagged[m.subject], act)
		}
	}
	if got := suppressions(t, db); !slices.Equal(got, want) {
		t.Errorf("suppression list after the faults:\n%v\nundisturbed:\n%v", got, want)
	}
	if pend, err := db.Pending(ctx, "primary", folder, cursorValidity(t, db, folder)); err != nil || len(pend) != 0 {
		t.Errorf("pending after the series: %d, %v; want none", len(pend), err)
	}
	return gone, extra
}

func cursorValidity(t *testing.T, db *storage.DB, folder string) uint32 {
	t.Helper()
	c, err := db.Cursor(context.Background(), "primary", folder)
	if err != nil {
		t.Fatal(err)
	}
	return c.UIDValidity
}
