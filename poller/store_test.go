package poller

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// testStore is a real SQLite store in t.TempDir() that remembers the ids
// it recorded and can signal finished runs.
type testStore struct {
	*storage.DB
	t        testing.TB
	mu       sync.Mutex
	ids      []int64 // first deliveries, in order
	finished chan int64
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	return newTestStoreOpts(t, storage.Options{})
}

func newTestStoreOpts(t testing.TB, o storage.Options) *testStore {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "bounced.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testStore{DB: db, t: t}
}

func (s *testStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	res, err := s.DB.Record(ctx, recs)
	s.mu.Lock()
	for _, r := range res {
		if !r.Duplicate {
			s.ids = append(s.ids, r.MessageID)
		}
	}
	s.mu.Unlock()
	return res, err
}

func (s *testStore) FinishRun(ctx context.Context, id int64, at time.Time, st storage.RunStats) error {
	err := s.DB.FinishRun(ctx, id, at, st)
	if s.finished != nil {
		s.finished <- id
	}
	return err
}

// counts returns the stored first deliveries per kind, their total, and how
// many of them are not disposed of.
func (s *testStore) counts() (byKind map[classify.Kind]int, total, undisposed int) {
	s.t.Helper()
	s.mu.Lock()
	ids := append([]int64(nil), s.ids...)
	s.mu.Unlock()
	byKind = map[classify.Kind]int{}
	for _, id := range ids {
		m := s.message(id)
		byKind[m.Verdict.Kind]++
		if m.DisposedAt.IsZero() {
			undisposed++
		}
	}
	c, err := s.DB.Counts(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return byKind, c.Messages, undisposed
}

func (s *testStore) message(id int64) storage.StoredMessage {
	s.t.Helper()
	m, err := s.DB.Message(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// runErrs returns the error text of the last run of each account.
func (s *testStore) runErrs() map[string]string {
	s.t.Helper()
	runs, err := s.DB.LastRuns(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range runs {
		out[r.Account] = r.Stats.Err
	}
	return out
}
