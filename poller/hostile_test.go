package poller

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/hostile"
	"github.com/bounced/bounced/storage"
)

// tryAppend appends raw, returning the server's refusal instead of failing.
func (a *admin) tryAppend(folder string, raw []byte, at time.Time) (imap.UID, error) {
	cmd := a.c.Append(a.ns.wire(folder), int64(len(raw)), &imap.AppendOptions{Time: at})
	if _, err := cmd.Write(raw); err != nil {
		cmd.Close()
		return 0, err
	}
	if err := cmd.Close(); err != nil {
		return 0, err
	}
	data, err := cmd.Wait()
	if err != nil {
		return 0, err
	}
	return data.UID, nil
}

// served is what the server sends for BODY[] of uid: go-imap's memserver
// sends nothing for a mail it cannot parse.
func (a *admin) served(folder string, uid imap.UID) []byte {
	a.t.Helper()
	if _, err := a.c.Select(a.ns.wire(folder), &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		a.t.Fatal(err)
	}
	defer a.unselect()
	msgs, err := a.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		a.t.Fatalf("fetching uid %d: %d mails, %v", uid, len(msgs), err)
	}
	for _, b := range msgs[0].BodySection {
		return b.Bytes
	}
	return nil
}

// TestFaultHostileMail: the hostile set (internal/hostile) in one folder,
// polled with the real classifier in batches of 4: the run succeeds, every
// mail is stored once (those above 10 MiB skipped unread, the binary one
// as no message), disposed as its kind's action says, and the suppression list is
// what classifying and recording each mail directly gives; a second run
// finds nothing to do. A mail the server refuses (Dovecot may refuse NULs)
// is left out and named.
func TestFaultHostileMail(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("hostile")
		oracle := newTestStore(t)
		var mails []genMail
		skipped := 0
		at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		for _, h := range hostile.Mails() {
			uid, err := a.tryAppend(folder, h.Raw, at)
			if err != nil {
				var ie *imap.Error
				if !errors.As(err, &ie) {
					t.Fatalf("appending %s: %v", h.Name, err)
				}
				t.Logf("%s: the server refused it: %v", h.Name, err)
				continue
			}
			// The store keeps what the server serves, which is not always
			// what was appended (Dovecot rewrites NULs and bare line
			// ends; the memserver serves nothing for a mail it cannot
			// parse). Mail above the size limit is never read.
			raw := h.Raw
			if len(raw) <= 10<<20 { // the poller's default MaxMessageSize
				if raw = a.served(folder, uid); !bytes.Equal(raw, h.Raw) {
					t.Logf("%s: the server serves %d bytes, not the %d appended", h.Name, len(raw), len(h.Raw))
				}
			}
			m := genMail{subject: h.Name, raw: raw, kind: classify.KindUnknown}
			if h.NotMessage {
				m.subject = "" // no header, no subject
			}
			rec := storage.Record{Source: storage.Source{Path: h.Name, Index: 1}, Raw: raw, ReceivedAt: at,
				Verdict: classify.Verdict{Kind: classify.KindUnknown}}
			switch v, err := classify.Message(raw); {
			case len(raw) > 10<<20:
				rec.Raw, rec.Size, rec.Skipped = nil, int64(len(raw)), "too large"
				skipped++
			case err != nil:
				rec.Skipped = "not a message"
				skipped++
			default:
				m.kind, rec.Verdict = v.Kind, v
			}
			if _, err := oracle.Record(context.Background(), []storage.Record{rec}); err != nil {
				t.Fatalf("recording %s directly: %v", h.Name, err)
			}
			mails = append(mails, m)
		}
		st := newTestStore(t)
		p := b.realPoller(t, folder, st, func(o *Options) { o.Batch = 4 })
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatalf("run over the hostile set: %+v, %v", sum, err)
		}
		if sum.Fetched != len(mails) || sum.Skipped != skipped {
			t.Errorf("run: %+v, want %d fetched, %d skipped (above 10 MiB, or no mail)", sum, len(mails), skipped)
		}
		gone, extra := checkSeries(t, a, folder, st.DB, mails, suppressions(t, oracle.DB))
		if gone != 0 || extra != 0 {
			t.Errorf("%d marked gone, %d extra copies: want none in an undisturbed run", gone, extra)
		}
		c, err := st.DB.Counts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d hostile mails: %+v; store %+v", len(mails), sum, c)
		if sum, err := p.PollOnce(t.Context()); err != nil || sum.Fetched != 0 || sum.Disposed != 0 {
			t.Errorf("second run: %+v, %v; want nothing to do", sum, err)
		}
	})
}
