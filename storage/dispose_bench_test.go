package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/cputime"
)

// BenchmarkMarkDisposal records 10,000 mails, then marks them as the
// poller does for a move: MarkDisposing before each command of 1,250 mails
// and MarkDisposed after it. cpu-µs/msg is the CPU of both marks a mail.
func BenchmarkMarkDisposal(b *testing.B) {
	const total, batch, command = 10_000, 200, 1250
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), "mark.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		var ids []int64
		for n := 0; n < total; {
			recs := make([]Record, 0, batch)
			for j := 0; j < batch; j, n = j+1, n+1 {
				recs = append(recs, Record{
					Source:     Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uint32(n + 1)},
					Raw:        append([]byte(fmt.Sprintf("X-Seq: %d\r\n", n)), benchMail(n)...),
					Verdict:    benchVerdict(n),
					ReceivedAt: start.Add(time.Duration(n) * time.Second),
				})
			}
			res, err := db.Record(ctx, recs)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				ids = append(ids, r.MessageID)
			}
		}
		b.StartTimer()
		c0 := cputime.Process()
		for k := 0; k < len(ids); k += command {
			cmd := ids[k:min(k+command, len(ids))]
			if err := db.MarkDisposing(ctx, cmd, "move:Bounces/Processed", start); err != nil {
				b.Fatal(err)
			}
			if err := db.MarkDisposed(ctx, cmd, "move:Bounces/Processed", start); err != nil {
				b.Fatal(err)
			}
		}
		cpu += cputime.Process() - c0
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*total), "cpu-µs/msg")
}
