package poller

import (
	"fmt"
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
