package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/internal/cputime"
)

// benchMail is a realistic RFC 3464 bounce of about 3 KB, different for
// every n.
func benchMail(n int) []byte {
	rcpt := fmt.Sprintf("user%d@d%d.example", n, n%3000)
	var b strings.Builder
	fmt.Fprintf(&b, "Return-Path: <>\r\nReceived: from mx%d.d%d.example (mx.d%d.example [192.0.2.%d])\r\n\tby bounce.sender.example with ESMTP id %08X\r\n\tfor <bounces@sender.example>; Fri, 27 Feb 2026 10:00:%02d +0000\r\n", n%7, n%3000, n%3000, n%250, n, n%60)
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@mx.d%d.example>\r\nTo: bounces+%d@sender.example\r\nSubject: Undelivered Mail Returned to Sender\r\n", n%3000, n)
	fmt.Fprintf(&b, "Date: Fri, 27 Feb 2026 10:00:%02d +0000\r\nMessage-ID: <%d.bounce@mx.d%d.example>\r\nMIME-Version: 1.0\r\n", n%60, n, n%3000)
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status; boundary=\"BOUNDARY\"\r\n\r\n")
	b.WriteString("--BOUNDARY\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis is the mail system at host mx.example.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients. It's attached below.\r\n\r\n")
	fmt.Fprintf(&b, "<%s>: host mx.d%d.example[192.0.2.1] said: 550 5.1.1 <%s>:\r\n    Recipient address rejected: User unknown in virtual mailbox table\r\n\r\n", rcpt, n%3000, rcpt)
	fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.d%d.example\r\nArrival-Date: Fri, 27 Feb 2026 09:59:58 +0000\r\n\r\n", n%3000)
	fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.d%d.example\r\nDiagnostic-Code: smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown\r\n\r\n", rcpt, n%3000, rcpt)
	fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: News <news@sender.example>\r\nTo: %s\r\nSubject: Our spring offers\r\nDate: Fri, 27 Feb 2026 09:59:50 +0000\r\nMessage-ID: <campaign-%d@sender.example>\r\nX-Campaign-Id: spring-%d\r\nX-Mailer: sender 2.1\r\n", rcpt, n, n%20)
	b.WriteString(strings.Repeat("X-Padding: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod\r\n", 12))
	b.WriteString("\r\n--BOUNDARY--\r\n")
	return []byte(b.String())
}

// benchVerdict is what the classifier says of benchMail(n): a bounce with
// one recipient, a mix of reasons.
func benchVerdict(n int) classify.Verdict {
	reasons := []classify.Reason{classify.ReasonUserUnknown, classify.ReasonMailboxFull, classify.ReasonBlocked,
		classify.ReasonUserUnknown, classify.ReasonHostUnknown, classify.ReasonSpamDetected, classify.ReasonSystemError, classify.ReasonExpired}
	r := reasons[n%len(reasons)]
	code, status := "550", "5.1.1"
	if !classify.IsHard(r, "", "5.0.0") {
		code, status = "452", "4.2.2"
	}
	rcpt := fmt.Sprintf("user%d@d%d.example", n%50000, n%3000)
	return classify.Verdict{
		Kind: classify.KindBounce,
		Recipients: []classify.Recipient{{
			Address: rcpt, Action: classify.ActionFailed, Status: status, ReplyCode: code, Reason: r,
			Hard: classify.IsHard(r, code, status), Diagnostic: "smtp; " + code + " " + status + " <" + rcpt + ">: Recipient address rejected: User unknown",
			RemoteMTA: "mx.example", Command: "RCPT", Rule: "dsn",
		}},
		Original: classify.Original{MessageID: fmt.Sprintf("campaign-%d@sender.example", n), From: "news@sender.example", To: rcpt,
			Subject: "Our spring offers", Headers: map[string]string{"X-Campaign-Id": fmt.Sprintf("spring-%d", n%20)}},
		MessageID: fmt.Sprintf("%d.bounce@mx.example", n), From: "MAILER-DAEMON@mx.example", Subject: "Undelivered Mail Returned to Sender",
		Date: time.Date(2026, 2, 27, 10, 0, n%60, 0, time.UTC), To: fmt.Sprintf("bounces+%d@sender.example", n),
		ReportingMTA: "mx.example", Decoder: "postfix", Rule: "dsn",
	}
}

// benchMails returns the mails BenchmarkRecord records and classifies: the
// real bounces of the shared corpus (../shared/corpus/sisimai/bsd from the
// repo root) when present, else 2,000 generated DSNs, each with the
// verdict classify.Message gives it.
func benchMails(b *testing.B) (name string, mails [][]byte, verdicts []classify.Verdict) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "sisimai", "bsd", "*.eml"))
	name = "corpus"
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err == nil {
			mails = append(mails, raw)
		}
	}
	if len(mails) == 0 {
		name = "generated"
		for i := 0; i < 2000; i++ {
			mails = append(mails, benchMail(i))
		}
	}
	kept := mails[:0]
	for _, m := range mails {
		v, err := classify.Message(m)
		if err != nil {
			continue
		}
		kept = append(kept, m)
		verdicts = append(verdicts, v)
	}
	return name, kept, verdicts
}

// BenchmarkRecord measures messages recorded per second in batches of 200
// (digest, messages, outcomes, recipients, policy, rollups, cursor; one
// transaction per batch) and, on the same mails in the same run,
// classify.Message: the metric record/classify is how many times faster
// recording is than classifying (target >= 10).
func BenchmarkRecord(b *testing.B) {
	name, mails, verdicts := benchMails(b)
	for _, tc := range []struct {
		name            string
		archive, noSync bool
	}{{"archive=false/sync=full", false, false}, {"archive=false/sync=normal", false, true}, {"archive=true/sync=normal", true, true}} {
		b.Run("mails="+name+"/"+tc.name, func(b *testing.B) {
			classifyRate := classifyRate(b, mails)
			db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Archive: tc.archive, NoSync: tc.noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			recordMails(b, db, mails, verdicts, 1, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), classifyRate)
		})
	}
}

// BenchmarkRecordLarge is BenchmarkRecord's default case (sync=full, no
// archive) on a copy of the generated database of one million outcomes
// (see benchDB): the indexes are deep and larger than the page cache, as
// in a daemon's file after months.
func BenchmarkRecordLarge(b *testing.B) {
	name, mails, verdicts := benchMails(b)
	b.Run("mails="+name+"/archive=false/sync=full", func(b *testing.B) {
		classifyRate := classifyRate(b, mails)
		path := filepath.Join(b.TempDir(), "large.db")
		if err := copyFile(benchDBPath(b), path); err != nil {
			b.Fatal(err)
		}
		db, err := Open(context.Background(), path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		// UIDVALIDITY 2: the generated mails have UIDVALIDITY 1; they end in July.
		recordMails(b, db, mails, verdicts, 2, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), classifyRate)
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// classifyRate is classify.Message's speed on mails, in mails per second.
func classifyRate(b *testing.B, mails [][]byte) float64 {
	start := time.Now()
	classified := 0
	for time.Since(start) < 300*time.Millisecond || classified < len(mails) {
		if _, err := classify.Message(mails[classified%len(mails)]); err != nil {
			b.Fatal(err)
		}
		classified++
	}
	return float64(classified) / time.Since(start).Seconds()
}

// recordMails records b.N mails from the pool in batches of 200 and
// reports the rates: elapsed, CPU per mail, and record/classify.
func recordMails(b *testing.B, db *DB, mails [][]byte, verdicts []classify.Verdict, uidValidity uint32, start time.Time, classifyRate float64) {
	const batch = 200
	pool := len(mails)
	ctx := context.Background()
	recs := make([]Record, 0, batch)
	bufs := make([][]byte, batch)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for n := 0; n < b.N; {
		recs = recs[:0]
		for i := 0; i < batch && n < b.N; i, n = i+1, n+1 {
			// Unique bytes per message: a sequence header before a pooled mail.
			bufs[i] = append(append(bufs[i][:0], fmt.Sprintf("X-Seq: %d\r\n", n)...), mails[n%pool]...)
			recs = append(recs, Record{
				Source:     Source{Account: "primary", Folder: "INBOX", UIDValidity: uidValidity, UID: uint32(n + 1)},
				Raw:        bufs[i],
				Verdict:    verdicts[n%pool],
				ReceivedAt: start.Add(time.Duration(n) * time.Minute),
			})
		}
		if _, err := db.Record(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if cpu > 0 {
		// CPU, not elapsed: fsync waits are not in it.
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/msg")
	}
	if db.opts.Archive {
		var stored int64
		err := db.sql.QueryRow(`SELECT (SELECT coalesce(sum(length(data)), 0) FROM archive) +
			(SELECT coalesce(sum(length(data)), 0) FROM archive_blocks)`).Scan(&stored)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(stored)/float64(b.N), "archive-B/msg")
	}
	recordRate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(recordRate, "msgs/s")
	b.ReportMetric(classifyRate, "classify-msgs/s")
	b.ReportMetric(recordRate/classifyRate, "record/classify")
}

// benchOutcomes is the size of the generated database of the report
// benchmarks.
const benchOutcomes = 1_000_000

// benchDB returns a database of one million outcomes (500,000 bounces with
// two recipients each over 180 days, 3,000 domains, 300,000 addresses),
// generated once with recursive CTEs (the rollups from the base tables, as
// Record keeps them) and cached in the temp dir: its name
// carries a hash of the schema, so a schema change generates it again.
func benchDB(b *testing.B) *DB {
	b.Helper()
	db, err := Open(context.Background(), benchDBPath(b), Options{Now: benchNow, ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// benchNow is the clock of the generated database: its mails end in June.
func benchNow() time.Time { return time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) }

// benchDBPath returns the generated database's file, generating it the
// first time.
func benchDBPath(b *testing.B) string {
	b.Helper()
	ms, err := migrations()
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.sql))
	}
	h.Write([]byte(benchGenerate))
	path := filepath.Join(os.TempDir(), "bounced-bench-"+hex.EncodeToString(h.Sum(nil))[:12]+".db")
	ctx := context.Background()
	if _, err := os.Stat(path); err == nil {
		if db, err := Open(ctx, path, Options{Now: benchNow, ReadOnly: true}); err == nil {
			db.Close()
			return path
		}
	}
	tmp := path + fmt.Sprintf(".%d.tmp", os.Getpid())
	os.Remove(tmp)
	start := time.Now()
	db, err := Open(ctx, tmp, Options{Now: benchNow})
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range strings.Split(benchGenerate, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.wdb.ExecContext(ctx, stmt); err != nil {
			b.Fatalf("generating: %v\n%s", err, stmt)
		}
	}
	var n int
	db.sql.QueryRowContext(ctx, `SELECT count(*) FROM outcomes`).Scan(&n)
	if n != benchOutcomes {
		b.Fatalf("generated %d outcomes, want %d", n, benchOutcomes)
	}
	db.wdb.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	db.Close()
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	os.Remove(tmp + "-wal")
	os.Remove(tmp + "-shm")
	b.Logf("generated %s (%d outcomes) in %v", path, n, time.Since(start).Round(time.Millisecond))
	return path
}

// benchGenerate fills a new database: statements separated by ";\n".
const benchGenerate = `
BEGIN;
INSERT INTO messages(id, account, folder, uidvalidity, uid, digest, size, at, recorded_at, kind, decoder, rule, classifier_version, disposed_action, disposed_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 520000)
SELECT n, 'primary', 'INBOX', 1, n, printf('%064x', n), 3000 + n % 2000,
	strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (t * 30) || ' seconds'),
	strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (t * 30 + 5) || ' seconds'),
	CASE WHEN n <= 500000 THEN 'bounce' WHEN n % 2 = 0 THEN 'autoreply' ELSE 'notbounce' END,
	'postfix', 'dsn', '1', 'move:Bounces/Processed',
	strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (t * 30 + 6) || ' seconds')
FROM (SELECT n, n * 7919 % 520000 AS t FROM seq);
INSERT INTO outcomes(message_id, at, kind, address, domain, action, status, reply_code, reason, hard, diagnostic, remote_mta, rule, orig_message_id, policy)
SELECT id, at, kind, 'u' || x || '@d' || (x % 3000) || '.example', 'd' || (x % 3000) || '.example',
	'failed', CASE WHEN r < 4 THEN '5.1.1' ELSE '4.2.2' END, CASE WHEN r < 4 THEN '550' ELSE '452' END,
	CASE r WHEN 0 THEN 'userunknown' WHEN 1 THEN 'userunknown' WHEN 2 THEN 'hostunknown' WHEN 3 THEN 'hasmoved'
		WHEN 4 THEN 'mailboxfull' WHEN 5 THEN 'blocked' WHEN 6 THEN 'spamdetected' WHEN 7 THEN 'expired'
		WHEN 8 THEN 'systemerror' ELSE 'suspend' END,
	r < 4, 'smtp; 550 5.1.1 recipient rejected', 'mx.example', 'dsn', 'campaign-' || id || '@sender.example',
	CASE WHEN r < 4 THEN 'suppress' WHEN r IN (5, 6) THEN 'alert' ELSE 'score' END
FROM (SELECT m.id, m.at, m.kind, (m.id * 2 + k.k) * 7919 % 300000 AS x, (m.id * 2 + k.k) % 10 AS r
	FROM messages m, (SELECT 0 AS k UNION ALL SELECT 1) k WHERE m.kind = 'bounce');
INSERT INTO alerts(message_id, at, reason, address, domain, status, reply_code, remote_mta, diagnostic)
SELECT message_id, at, reason, address, domain, status, reply_code, remote_mta, diagnostic FROM outcomes WHERE policy = 'alert';
INSERT INTO recipients(address, domain, state, reason, since, manual, score, bounces, first_bounce, last_bounce, updated_at)
SELECT address, domain, CASE WHEN max(policy = 'suppress') THEN 'suppressed' ELSE 'active' END,
	CASE WHEN max(policy = 'suppress') THEN 'userunknown' ELSE '' END,
	CASE WHEN max(policy = 'suppress') THEN min(at) END, 0, 0, count(*), min(at), max(at), max(at)
FROM outcomes WHERE policy <> 'alert' GROUP BY address;
INSERT INTO stats_messages(day, kind, messages, duplicates, skipped)
SELECT substr(at, 1, 10), kind, sum(duplicate_of IS NULL), sum(duplicate_of IS NOT NULL), sum(duplicate_of IS NULL AND skipped <> '')
FROM messages GROUP BY 1, 2;
INSERT INTO stats_outcomes(day, kind, action, reason, hard, policy, outcomes)
SELECT substr(at, 1, 10), kind, action, reason, hard, policy, count(*) FROM outcomes GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO stats_domains(domain, day, outcomes, failed, hard)
SELECT domain, substr(at, 1, 10), count(*), sum(action = 'failed'), sum(hard) FROM outcomes GROUP BY 1, 2;
INSERT INTO stats_alerts(reason, domain, day, alerts, last_at)
SELECT reason, domain, substr(at, 1, 10), count(*), max(at) FROM alerts GROUP BY 1, 2, 3;
COMMIT;
ANALYZE;
`

// BenchmarkReport is `bounced report` over one million outcomes: all of
// them, and the last 7 days.
func BenchmarkReport(b *testing.B) {
	db := benchDB(b)
	defer db.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		since time.Time
	}{{"all", time.Time{}}, {"since=7d", time.Date(2026, 6, 24, 0, 0, 0, 0, time.UTC)}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := db.Report(ctx, ReportOptions{Since: tc.since})
				if err != nil {
					b.Fatal(err)
				}
				if tc.since.IsZero() && r.Outcomes.Total != benchOutcomes {
					b.Fatalf("report counted %d outcomes, want %d", r.Outcomes.Total, benchOutcomes)
				}
			}
		})
	}
}

// BenchmarkSuppressions lists every suppressed address of the generated
// database (about 150,000).
func BenchmarkSuppressions(b *testing.B) {
	db := benchDB(b)
	defer db.Close()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		n := 0
		err := db.Suppressions(ctx, time.Time{}, func(r Recipient) error {
			n++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no suppressions")
		}
		b.ReportMetric(float64(n), "addresses")
	}
}
