package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// benchNow is the clock of the benchmark's database: its mails are the
// 181 days before.
var benchNow = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

const (
	benchMails      = 500_000 // two recipients each: one million outcomes
	benchAddresses  = 300_000
	benchDomains    = 3_000
	benchGeneration = "3" // bump when the generated data or a migration's text changes
)

// benchDBPath returns a database of one million outcomes recorded with
// storage.DB.Record in batches of 2,000 (500,000 bounces of two recipients
// over 181 days, 3,000 domains, 300,000 addresses, the policy's
// suppressions and alerts), built the first time and then cached in the
// temp dir under a name that carries the schema's migrations: a schema
// change builds it again.
func benchDBPath(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	probe, err := storage.Open(ctx, filepath.Join(b.TempDir(), "probe.db"), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	names, err := probe.Migrations(ctx)
	probe.Close()
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.Join(names, ",") + "/" + benchGeneration))
	path := filepath.Join(os.TempDir(), "bounced-web-bench-"+hex.EncodeToString(sum[:])[:12]+".db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	start := time.Now()
	var clock time.Time
	db, err := storage.Open(ctx, tmp, storage.Options{NoSync: true, Now: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	reasons := []classify.Reason{classify.ReasonUserUnknown, classify.ReasonMailboxFull, classify.ReasonBlocked, classify.ReasonUserUnknown,
		classify.ReasonHostUnknown, classify.ReasonSpamDetected, classify.ReasonSystemError, classify.ReasonExpired, classify.ReasonSuspend, classify.ReasonFiltered}
	const batch = 2000
	span := benchNow.Sub(benchNow.AddDate(0, 0, -181))
	recs := make([]storage.Record, 0, batch)
	for n := 0; n < benchMails; {
		recs = recs[:0]
		for ; len(recs) < batch && n < benchMails; n++ {
			at := benchNow.AddDate(0, 0, -181).Add(span / benchMails * time.Duration(n))
			var rcpts []classify.Recipient
			for k := 0; k < 2; k++ {
				x := (n*2 + k) * 7919 % benchAddresses
				r := reasons[(n*2+k)%len(reasons)]
				hard := classify.IsHard(r, "", "5.0.0")
				status, code := "5.1.1", "550"
				if !hard {
					status, code = "4.2.2", "452"
				}
				addr := fmt.Sprintf("u%d@d%d.example", x, x%benchDomains)
				rcpts = append(rcpts, classify.Recipient{Address: addr, Action: classify.ActionFailed, Status: status, ReplyCode: code,
					Reason: r, Hard: hard, Diagnostic: "smtp; " + code + " " + status + " <" + addr + ">: recipient rejected",
					RemoteMTA: "mx.example", Command: "RCPT", Rule: "dsn"})
			}
			recs = append(recs, storage.Record{
				Source:     storage.Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uint32(n + 1)},
				Raw:        []byte(fmt.Sprintf("Message-ID: <%d@bench>\r\n\r\nbounce %d\r\n", n, n)),
				Verdict:    classify.Verdict{Kind: classify.KindBounce, Rule: "dsn", Decoder: "postfix", Recipients: rcpts},
				ReceivedAt: at,
			})
			clock = at.Add(5 * time.Second)
		}
		if _, err := db.Record(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		at := benchNow.Add(-time.Duration(20-i) * 5 * time.Minute)
		clock = at
		id, err := db.StartRun(ctx, "primary", at)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.FinishRun(ctx, id, at.Add(2*time.Second), storage.RunStats{Fetched: 200, Recorded: 200}); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	os.Remove(tmp + "-wal")
	os.Remove(tmp + "-shm")
	b.Logf("built %s (%d mails, %d outcomes) in %v", path, benchMails, 2*benchMails, time.Since(start).Round(time.Second))
	return path
}

// BenchmarkPages serves each page of the report from the database of
// one million outcomes (targets: / under 500 ms, every other page under
// 200 ms, on a 2-core machine); ms/page is the figure of docs/web.md.
func BenchmarkPages(b *testing.B) {
	path := benchDBPath(b)
	db, err := storage.Open(context.Background(), path, storage.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	every5 := func(t time.Time) time.Time { return t.Truncate(5 * time.Minute).Add(5 * time.Minute) }
	h := New(Options{
		DB:        func(context.Context) (*storage.DB, error) { return db, nil },
		Now:       func() time.Time { return benchNow },
		Mailboxes: func() []Mailbox { return []Mailbox{{Name: "primary", Next: every5}} },
	})
	for _, p := range []struct{ name, target string }{
		{"overview", "/"},
		{"suppressions", "/suppressions"},
		{"suppressions/page=1500", "/suppressions?page=1500"},
		{"suppressions/domain", "/suppressions?q=d1230.example"},
		{"suppressions/address", "/suppressions?q=u1230%40"},
		{"suppressions/reason+since", "/suppressions?reason=hostunknown&since=2026-02-01"},
		{"suppressions.csv", "/suppressions.csv?page=3"},
		{"recipient", recipientURL("u1234@d1234.example")},
	} {
		b.Run(p.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", p.target, nil))
				if rec.Code != http.StatusOK || strings.HasPrefix(p.target, "/suppressions?") && !strings.Contains(rec.Body.String(), `<td class="addr">`) {
					b.Fatalf("GET %s: %d, or no row: %s", p.target, rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}
