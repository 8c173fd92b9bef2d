package poller

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/bounced/bounced/classify"
)

// manyBatches fills a fresh folder with 7 mails of three kinds: with Batch 2
// a run fetches and commits four batches.
func manyBatches(a *admin) (folder string, processed, complaints, left []string) {
	folder = a.fresh("many")
	for i := range 7 {
		var kind classify.Kind
		var subj string
		switch i % 3 {
		case 0:
			kind, subj = classify.KindBounce, fmt.Sprintf("b%d", i)
			processed = append(processed, subj)
		case 1:
			kind, subj = classify.KindComplaint, fmt.Sprintf("c%d", i)
			complaints = append(complaints, subj)
		default:
			kind, subj = classify.KindNotBounce, fmt.Sprintf("n%d", i)
			left = append(left, subj)
		}
		a.append(folder, mail(subj, kind))
	}
	return folder, processed, complaints, left
}

func TestPollManyBatchesDisposesOnSecondConnection(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder, processed, complaints, left := manyBatches(a)
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, func(o *Options) { o.Batch = 2 })
		var before int64
		if b.logins != nil {
			before = b.logins.Load()
		}
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fetched != 7 || sum.Recorded != 7 || sum.Disposed != 7 || sum.Duplicates != 0 {
			t.Errorf("summary %+v, want 7 fetched, recorded and disposed", sum)
		}
		if b.logins != nil {
			if n := b.logins.Load() - before; n != 2 {
				t.Errorf("%d logins in a run of four batches, want 2 (fetching and disposing)", n)
			}
		}
		wantSubjects(t, a, folder+"/Processed", processed...)
		wantSubjects(t, a, folder+"/Complaints", complaints...)
		wantSubjects(t, a, folder, left...)
		if _, total, undisposed := st.counts(); total != 7 || undisposed != 0 {
			t.Errorf("store: %d outcomes, %d undisposed; want 7, 0", total, undisposed)
		}
		sum, err = p.PollOnce(t.Context())
		if err != nil || sum.Fetched != 0 || sum.Disposed != 0 {
			t.Errorf("rerun: %+v, %v; want nothing", sum, err)
		}
	})
}

func TestPollSecondConnectionFails(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder, processed, complaints, left := manyBatches(a)
		st := newTestStore(t)
		var dials atomic.Int64
		p := b.poller(t, "primary", folder, st, func(o *Options) {
			o.Batch = 2
			o.DisposeBatch = 3
			// The first login works, the disposer's is refused: it falls
			// back to the fetching connection.
			o.Secret = func() (string, error) {
				if dials.Add(1) == 1 {
					return b.pass, nil
				}
				return "not-" + b.pass, nil
			}
		})
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if dials.Load() != 2 {
			t.Errorf("%d dials, want 2", dials.Load())
		}
		if sum.Fetched != 7 || sum.Recorded != 7 || sum.Disposed != 7 {
			t.Errorf("summary %+v, want 7 fetched, recorded and disposed", sum)
		}
		wantSubjects(t, a, folder+"/Processed", processed...)
		wantSubjects(t, a, folder+"/Complaints", complaints...)
		wantSubjects(t, a, folder, left...)
		if _, total, undisposed := st.counts(); total != 7 || undisposed != 0 {
			t.Errorf("store: %d outcomes, %d undisposed; want 7, 0", total, undisposed)
		}
	})
}

func TestBuffersRecycle(t *testing.T) {
	bufs := newBuffers()
	a := bufs.get(100)
	if len(a) != 100 {
		t.Fatalf("get(100): len %d", len(a))
	}
	bufs.put(a)
	if b := bufs.get(60); len(b) != 60 || &b[0] != &a[0] {
		t.Errorf("get(60) after put of 100 bytes: not the recycled buffer")
	}
	bufs.put(a)
	if b := bufs.get(200); len(b) != 200 || &b[0] == &a[0] {
		t.Errorf("get(200) after put of 100 bytes: len %d, recycled %v", len(b), &b[0] == &a[0])
	}
	if b := bufs.get(0); len(b) != 0 {
		t.Errorf("get(0): len %d", len(b))
	}
}

func TestFetchSize(t *testing.T) {
	batch := []msgInfo{{UID: 1, Size: 10}, {UID: 2, Size: 500}, {UID: 3, Size: 30}}
	if n := fetchSize(batch, 100); n != 40 {
		t.Errorf("fetchSize = %d, want 40 (the 500-byte mail is skipped unread)", n)
	}
}

func TestPollReplacesDisposerConnection(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder, processed, complaints, left := manyBatches(a)
		st := newTestStore(t)
		var dials atomic.Int64
		p := b.poller(t, "primary", folder, st, func(o *Options) {
			o.Batch = 1
			o.DisposeBatch = 1 // the disposer acts on every mail committed
			o.Secret = func() (string, error) { dials.Add(1); return b.pass, nil }
		})
		p.disposerConnMails = 2
		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// One mail per command, a fresh connection every two: 7 mails
		// take 4 disposer connections besides the fetching one.
		if dials.Load() != 5 {
			t.Errorf("%d dials, want 5", dials.Load())
		}
		if sum.Fetched != 7 || sum.Recorded != 7 || sum.Disposed != 7 {
			t.Errorf("summary %+v, want 7 fetched, recorded and disposed", sum)
		}
		wantSubjects(t, a, folder+"/Processed", processed...)
		wantSubjects(t, a, folder+"/Complaints", complaints...)
		wantSubjects(t, a, folder, left...)
		if _, total, undisposed := st.counts(); total != 7 || undisposed != 0 {
			t.Errorf("store: %d outcomes, %d undisposed; want 7, 0", total, undisposed)
		}
	})
}

func TestUIDRanges(t *testing.T) {
	for _, tc := range []struct {
		last, next, n uint32
		want          [][2]uint32
	}{
		{0, 1, 5, nil}, // an empty folder
		{0, 0, 5, nil}, // no UIDNEXT: the caller asks "last+1:*" instead
		{7, 8, 5, nil}, // nothing above the cursor
		{9, 8, 5, nil}, // a cursor past UIDNEXT
		{0, 2, 5, [][2]uint32{{1, 1}}},
		{0, 11, 5, [][2]uint32{{1, 5}, {6, 10}}},
		{3, 15, 5, [][2]uint32{{4, 8}, {9, 13}, {14, 14}}},
		{0, 3, 0, [][2]uint32{{1, 1}, {2, 2}}}, // a zero size lists one UID at a time
		{math.MaxUint32 - 5, math.MaxUint32, 3, [][2]uint32{{math.MaxUint32 - 4, math.MaxUint32 - 2}, {math.MaxUint32 - 1, math.MaxUint32 - 1}}},
	} {
		if got := uidRanges(tc.last, tc.next, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("uidRanges(%d, %d, %d) = %v, want %v", tc.last, tc.next, tc.n, got, tc.want)
		}
	}
}

// TestPollListsInRanges: the UIDs above the cursor are listed in commands
// of at most listUIDs UIDs up to the UIDNEXT of SELECT, across gaps (mail
// another client expunged, one gap wider than a range); every mail is
// found once, and mail that arrives after the SELECT waits for the next
// run.
func TestPollListsInRanges(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		a := b.admin(t)
		folder := a.fresh("ranges")
		var subjects, gone []string
		for i := range 40 {
			s := fmt.Sprintf("b%02d", i)
			a.append(folder, mail(s, classify.KindBounce))
			if (i >= 8 && i < 16) || i == 25 {
				gone = append(gone, s)
			} else {
				subjects = append(subjects, s)
			}
		}
		a.expunge(folder, gone...)
		mod := func(o *Options) { o.Batch = 7 }
		st := newTestStore(t)
		p := b.poller(t, "primary", folder, st, mod)
		p.listUIDs = 5

		// The listing itself, on a connection of its own.
		s, done, err := p.connect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fs, err := s.open(folder, true)
		if err != nil {
			t.Fatal(err)
		}
		a.append(folder, mail("late", classify.KindBounce))
		var uids []uint32
		for _, m := range a.list(folder) {
			if m.Subject != "late" {
				uids = append(uids, m.UID)
			}
		}
		var lists0 int64
		if b.lists != nil {
			lists0 = b.lists.Load()
		}
		infos, err := s.above(0, fs.UIDNext)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint32
		for _, mi := range infos {
			got = append(got, mi.UID)
			if mi.Size <= 0 {
				t.Errorf("uid %d listed with size %d", mi.UID, mi.Size)
			}
		}
		if !slices.Equal(got, uids) {
			t.Errorf("above(0, %d) = %v, want the %d mails there at SELECT: %v", fs.UIDNext, got, len(uids), uids)
		}
		if b.lists != nil {
			if n, want := b.lists.Load()-lists0, len(uidRanges(0, fs.UIDNext, 5)); n != int64(want) {
				t.Errorf("%d listing commands, want %d of at most 5 UIDs", n, want)
			}
		}
		mid := uids[len(uids)/2]
		if infos, err := s.above(mid, fs.UIDNext); err != nil || len(infos) != len(uids)-len(uids)/2-1 || infos[0].UID <= mid {
			t.Errorf("above(%d, %d) = %v, %v; want the %d mails above it", mid, fs.UIDNext, infos, err, len(uids)-len(uids)/2-1)
		}
		done()

		sum, err := p.PollOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Fetched != len(subjects)+1 || sum.Recorded != len(subjects)+1 || sum.Duplicates != 0 {
			t.Errorf("run: %+v, want %d fetched and recorded once", sum, len(subjects)+1)
		}
		wantSubjects(t, a, folder+"/Processed", append(subjects, "late")...)
		wantSubjects(t, a, folder)
		if _, total, undisposed := st.counts(); total != len(subjects)+1 || undisposed != 0 {
			t.Errorf("store: %d mails, %d undisposed; want %d, 0", total, undisposed, len(subjects)+1)
		}
		if sum, err := p.PollOnce(t.Context()); err != nil || sum.Fetched != 0 {
			t.Errorf("rerun: %+v, %v; want nothing", sum, err)
		}
	})
}
