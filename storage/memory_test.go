package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMemoryBudget: the page caches, which SQLite allocates outside Go's
// heap and keeps while a connection lives, are bounded: one writer with
// the large cache, a capped number of readers with a small one each.
func TestMemoryBudget(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	if budget := writerCache + maxReaders*readerCache; budget > 32<<10 {
		t.Errorf("page caches: writer %d KiB + %d readers * %d KiB = %d KiB, want at most 32 MiB", writerCache, maxReaders, readerCache, budget)
	}
	var n int
	if err := db.wdb.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil || n != -writerCache {
		t.Errorf("writer cache_size = %d, %v; want %d", n, err, -writerCache)
	}
	if err := db.wdb.QueryRowContext(ctx, `PRAGMA journal_size_limit`).Scan(&n); err != nil || n != 64<<20 {
		t.Errorf("writer journal_size_limit = %d, %v; want %d", n, err, 64<<20)
	}
	if err := db.sql.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil || n != -readerCache {
		t.Errorf("reader cache_size = %d, %v; want %d", n, err, -readerCache)
	}
	if s := db.wdb.Stats(); s.MaxOpenConnections != 1 {
		t.Errorf("writer pool: at most %d connections, want 1", s.MaxOpenConnections)
	}
	if s := db.sql.Stats(); s.MaxOpenConnections != maxReaders {
		t.Errorf("reader pool: at most %d connections, want %d", s.MaxOpenConnections, maxReaders)
	}
	// Every write goes through the writer: a reader refuses to write.
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM cursors`); err == nil {
		t.Error("a reader connection wrote")
	}
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if ro.wdb != nil {
		t.Error("a read-only DB has a writer")
	}
	if err := ro.sql.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&n); err != nil || n != -readerCache {
		t.Errorf("read-only cache_size = %d, %v; want %d", n, err, -readerCache)
	}
}

// BenchmarkRecordMemory records 100,000 generated bounces in batches of
// 200 into a new database, as the poller's long run does, reading the
// cursor and the pending mail between batches, and reports the process's
// peak RSS (VmHWM; Linux). Run it alone (-bench RecordMemory -benchtime
// 1x) so that the peak is its own.
func BenchmarkRecordMemory(b *testing.B) {
	const total, batch = 100_000, 200
	mails := make([][]byte, 2000)
	for i := range mails {
		mails[i] = benchMail(i)
	}
	ctx := context.Background()
	var maxWAL int64
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "mem.db")
		db, err := Open(ctx, path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		recs := make([]Record, 0, batch)
		for n := 0; n < total; {
			recs = recs[:0]
			for j := 0; j < batch; j, n = j+1, n+1 {
				raw := append([]byte(fmt.Sprintf("X-Seq: %d\r\n", n)), mails[n%len(mails)]...)
				recs = append(recs, Record{
					Source:     Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uint32(n + 1)},
					Raw:        raw,
					Verdict:    benchVerdict(n),
					ReceivedAt: start.Add(time.Duration(n) * time.Second),
				})
			}
			res, err := db.Record(ctx, recs)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Cursor(ctx, "primary", "INBOX"); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Pending(ctx, "primary", "INBOX", 1); err != nil {
				b.Fatal(err)
			}
			ids := make([]int64, len(res))
			for k, r := range res {
				ids[k] = r.MessageID
			}
			if err := db.MarkDisposed(ctx, ids, "move:Bounces/Processed", start); err != nil {
				b.Fatal(err)
			}
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL {
				maxWAL = fi.Size()
			}
		}
		if fi, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(fi.Size())/(1<<20), "db_MiB")
		}
		b.ReportMetric(float64(maxWAL)/(1<<20), "max_wal_MiB")
		db.Close()
	}
	if hwm := procStatus("VmHWM"); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak_rss_MiB")
	}
}

// procStatus reads a size in bytes from /proc/self/status (0 when absent).
func procStatus(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
