package poller

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// memStore is an in-memory Store with the semantics storage promises:
// Record is one transaction that dedupes by digest (and by source) and
// advances the cursor; Pending lists what is recorded but not disposed.
type memStore struct {
	mu       sync.Mutex
	msgs     []*memMsg
	cursors  map[string]storage.Cursor
	runs     map[int64]storage.RunStats
	finished chan int64 // receives the id of every finished run, if set
}

type memMsg struct {
	id       int64
	src      storage.Source
	digest   string
	kind     classify.Kind
	skipped  string
	dup      bool
	disposed string
}

func newMemStore() *memStore {
	return &memStore{cursors: map[string]storage.Cursor{}, runs: map[int64]storage.RunStats{}}
}

func (m *memStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.Result
	for _, r := range recs {
		var prev *memMsg
		for _, x := range m.msgs {
			if (r.Digest != "" && x.digest == r.Digest && !x.dup) || x.src == r.Source {
				prev = x
				break
			}
		}
		msg := &memMsg{id: int64(len(m.msgs) + 1), src: r.Source, digest: r.Digest, kind: r.Verdict.Kind, skipped: r.Skipped}
		if prev != nil {
			msg.dup = true
			msg.kind = prev.kind
		}
		m.msgs = append(m.msgs, msg)
		out = append(out, storage.Result{MessageID: msg.id, Duplicate: msg.dup, Kind: msg.kind})
		key := r.Source.Account + "\x00" + r.Source.Folder
		c := m.cursors[key]
		if c.UIDValidity == r.Source.UIDValidity && r.Source.UID > c.LastUID {
			c.LastUID = r.Source.UID
			m.cursors[key] = c
		}
	}
	return out, nil
}

func (m *memStore) Cursor(ctx context.Context, account, folder string) (storage.Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[account+"\x00"+folder], nil
}

func (m *memStore) ResetCursor(ctx context.Context, account, folder string, uv uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[account+"\x00"+folder] = storage.Cursor{UIDValidity: uv}
	return nil
}

func (m *memStore) Pending(ctx context.Context, account, folder string, uv uint32) ([]storage.Pending, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.Pending
	for _, x := range m.msgs {
		if x.disposed == "" && x.src.Account == account && x.src.Folder == folder && x.src.UIDValidity == uv {
			out = append(out, storage.Pending{MessageID: x.id, UID: x.src.UID, Kind: x.kind, Skipped: x.skipped})
		}
	}
	return out, nil
}

func (m *memStore) MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.msgs {
		if slices.Contains(ids, x.id) {
			x.disposed = action
		}
	}
	return nil
}

func (m *memStore) StartRun(ctx context.Context, account string, at time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := int64(len(m.runs) + 1)
	m.runs[id] = storage.RunStats{}
	return id, nil
}

func (m *memStore) FinishRun(ctx context.Context, id int64, at time.Time, st storage.RunStats) error {
	m.mu.Lock()
	m.runs[id] = st
	ch := m.finished
	m.mu.Unlock()
	if ch != nil {
		ch <- id
	}
	return nil
}

func (m *memStore) Preview(ctx context.Context, v classify.Verdict) ([]string, []string, error) {
	var sup []string
	for _, r := range v.Recipients {
		if r.Hard {
			sup = append(sup, r.Address)
		}
	}
	return sup, nil, nil
}

// counts returns how many distinct (non-duplicate) outcomes are stored per
// kind, and how many records are not disposed.
func (m *memStore) counts() (byKind map[classify.Kind]int, total, undisposed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	byKind = map[classify.Kind]int{}
	for _, x := range m.msgs {
		if !x.dup {
			byKind[x.kind]++
			total++
		}
		if x.disposed == "" {
			undisposed++
		}
	}
	return byKind, total, undisposed
}
