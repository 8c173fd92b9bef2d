package poller

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bounced/bounced/internal/cputime"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

// dsn is an RFC 3464 bounce of about 4 KB, unique per n.
func dsn(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\n"+
		"To: bounces+%d@example.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"+
		"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-Id: <bench-%d-%d@mx.example.test>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B%d\"\r\n\r\n", n, n, time.Now().UnixNano(), n)
	fmt.Fprintf(&b, "--B%d\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.test.\r\n\r\n"+
		"I'm sorry to have to inform you that your message could not be delivered to one or more recipients.\r\n\r\n"+
		"<user%d@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1 <user%d@example.org>: Recipient address rejected: User unknown\r\n\r\n", n, n, n)
	fmt.Fprintf(&b, "--B%d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\nArrival-Date: Thu, 26 Nov 2026 09:59:58 +0000\r\n\r\n"+
		"Final-Recipient: rfc822; user%d@example.org\r\nOriginal-Recipient: rfc822;user%d@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"+
		"Remote-MTA: dns; mx.example.org\r\nDiagnostic-Code: smtp; 550 5.1.1 <user%d@example.org>: Recipient address rejected: User unknown\r\n\r\n", n, n, n, n)
	fmt.Fprintf(&b, "--B%d\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: news@example.test\r\nTo: user%d@example.org\r\nSubject: Our newsletter\r\n"+
		"Message-Id: <orig-%d@example.test>\r\nX-Campaign: 42\r\n", n, n, n)
	for b.Len() < 3900 {
		b.WriteString("X-Filler: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\r\n")
	}
	fmt.Fprintf(&b, "\r\n--B%d--\r\n", n)
	return []byte(b.String())
}

// benchMails returns the mail generator of the poller benchmarks: dsn,
// or with BOUNCED_BENCH_CORPUS=DIR the mails of DIR (every regular file
// below it but README*, LICENSE* and *.json*; an mbox file is one mail, as
// the classifier reads it), cycled to the count asked for, each made
// distinct by one added header line. It logs which it uses.
func benchMails(tb testing.TB) func(int) []byte {
	tb.Helper()
	dir := os.Getenv("BOUNCED_BENCH_CORPUS")
	if dir == "" {
		tb.Logf("generated DSNs of about 4 KB")
		return dsn
	}
	var mails [][]byte
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		name := d.Name()
		if strings.HasPrefix(name, "README") || strings.HasPrefix(name, "LICENSE") || strings.Contains(name, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		mails = append(mails, data)
		return err
	})
	if err != nil {
		tb.Fatalf("reading BOUNCED_BENCH_CORPUS: %v", err)
	}
	if len(mails) == 0 {
		tb.Fatalf("BOUNCED_BENCH_CORPUS=%s holds no mail", dir)
	}
	fmt.Printf("corpus %s (%d mails, cycled)\n", dir, len(mails))
	return func(i int) []byte { return distinct(mails[i%len(mails)], i) }
}

// distinct returns m with the header line "X-Bench-Copy: i" added at its
// start, after a leading mbox "From " line (never before it), with m's own
// line end, so that every copy of a corpus mail is a different mail.
func distinct(m []byte, i int) []byte {
	eol := "\n"
	if j := bytes.IndexByte(m, '\n'); j > 0 && m[j-1] == '\r' {
		eol = "\r\n"
	}
	at := 0
	if bytes.HasPrefix(m, []byte("From ")) {
		if j := bytes.IndexByte(m, '\n'); j >= 0 {
			at = j + 1
		} else {
			m = append(m[:len(m):len(m)], eol...)
			at = len(m)
		}
	}
	line := fmt.Sprintf("X-Bench-Copy: %d%s", i, eol)
	out := make([]byte, 0, len(m)+len(line))
	out = append(out, m[:at]...)
	out = append(out, line...)
	return append(out, m[at:]...)
}

// fill puts n bounces into folder: with scripts/dovecot load when the
// Dovecot directory is known (IMAP_DOVECOT_DIR, as root: a maildir
// delivery, seconds for 100,000 mails), else by APPEND over one connection,
// pipelined (LITERAL+ means no round trip per mail), which slows down as
// the folder grows.
func fill(tb testing.TB, a *admin, folder string, n int, mail func(int) []byte) {
	tb.Helper()
	if dir := os.Getenv("IMAP_DOVECOT_DIR"); dir != "" && os.Geteuid() == 0 {
		if script, err := filepath.Abs(filepath.Join("..", "scripts", "dovecot")); err == nil {
			if _, err := os.Stat(script); err == nil {
				err := fillLoad(tb, script, dir, folder, n, mail)
				if err == nil {
					return
				}
				tb.Logf("scripts/dovecot load failed, filling by APPEND: %v", err)
			}
		}
	}
	const window = 128
	var pending []*imapclient.AppendCommand
	flush := func(keep int) {
		for len(pending) > keep {
			if _, err := pending[0].Wait(); err != nil {
				tb.Fatal(err)
			}
			pending = pending[1:]
		}
	}
	for i := range n {
		m := mail(i)
		cmd := a.c.Append(folder, int64(len(m)), nil)
		if _, err := cmd.Write(m); err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			tb.Fatal(err)
		}
		pending = append(pending, cmd)
		flush(window)
	}
	flush(0)
}

func fillLoad(tb testing.TB, script, dovecotDir, folder string, n int, mail func(int) []byte) error {
	tb.Helper()
	tmp := tb.TempDir()
	for i := range n {
		if err := os.WriteFile(filepath.Join(tmp, fmt.Sprintf("m%06d.eml", i)), mail(i), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	// The maildir's tar is read as the mail user: make the files reachable.
	os.Chmod(tmp, 0o755)
	out, err := exec.Command(script, "load", dovecotDir, os.Getenv("IMAP_USER"), folder, tmp).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, bytes.TrimSpace(out))
	}
	return nil
}

// rawFetch is the yardstick: a plain go-imap client that logs in over the
// same TLS, selects the folder and fetches every BODY.PEEK[] in batches of
// 500, keeping nothing.
func rawFetch(tb testing.TB, b *backend, folder string) int {
	tb.Helper()
	c, err := imapclient.DialTLS(net.JoinHostPort(b.host, strconv.Itoa(b.port)), &imapclient.Options{TLSConfig: b.tlsConf})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(b.user, b.pass).Wait(); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		tb.Fatal(err)
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		tb.Fatal(err)
	}
	uids := data.AllUIDs()
	n := 0
	for i := 0; i < len(uids); i += 500 {
		cmd := c.Fetch(imap.UIDSetNum(uids[i:min(i+500, len(uids))]...), &imap.FetchOptions{
			UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			for item := msg.Next(); item != nil; item = msg.Next() {
				if bs, ok := item.(imapclient.FetchItemDataBodySection); ok && bs.Literal != nil {
					buf := make([]byte, bs.Literal.Size())
					if _, err := io.ReadFull(bs.Literal, buf); err != nil {
						tb.Fatal(err)
					}
					n++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	c.Logout().Wait()
	return n
}

// BenchmarkEndToEnd measures, against Dovecot over TLS, 10,000 bounces
// fetched, classified (the real classifier), committed to SQLite and moved,
// against a plain go-imap fetch of the same folder in the same run.
// BOUNCED_BENCH_MAILS, BOUNCED_BENCH_BATCH, BOUNCED_BENCH_ARCHIVE (any
// value: the store keeps the raw mail, gzipped), BOUNCED_BENCH_ACTION (see
// benchActions) and BOUNCED_BENCH_CORPUS (real bounces: see benchMails)
// change the setting.
// Metrics: raw_msg/s, e2e_msg/s and e2e/raw (target >= 0.5); the CPU a mail
// of this process (client) and of Dovecot (server, when its directory is
// known: IMAP_DOVECOT_DIR) for each; the process's peak RSS.
func BenchmarkEndToEnd(bb *testing.B) {
	n := 10000
	if v := os.Getenv("BOUNCED_BENCH_MAILS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	b := realServer(bb, TLSImplicit)
	mail := benchMails(bb)
	var rawRate, e2eRate float64
	var rawCPU, e2eCPU, rawServer, e2eServer time.Duration
	_, serverKnown := serverCPU()
	for i := 0; i < bb.N; i++ {
		bb.StopTimer()
		a := benchAdmin(bb, b)
		folder := fmt.Sprintf("bench-%d", time.Now().UnixNano())
		if err := a.c.Create(folder, nil).Wait(); err != nil {
			bb.Fatal(err)
		}
		fill(bb, a, folder, n, mail)
		// The first read-write SELECT after a load makes Dovecot move the
		// mails from new/ to cur/ and index them; do it before either
		// measure so both see the same folder.
		if _, err := a.c.Select(folder, nil).Wait(); err != nil {
			bb.Fatal(err)
		}
		a.unselect()
		st := &timedStore{testStore: newTestStoreOpts(bb, storage.Options{Archive: os.Getenv("BOUNCED_BENCH_ARCHIVE") != ""})}
		p := b.poller(bb, "bench", folder, st, func(o *Options) {
			o.Batch = benchBatch()
			o.Actions = benchActions(bb, folder)
		})
		var classifying atomic.Int64
		p.classify = func(raw []byte) (classify.Verdict, error) {
			t0 := time.Now()
			defer func() { classifying.Add(int64(time.Since(t0))) }()
			return classify.Message(raw)
		}
		bb.StartTimer()

		s0, _ := serverCPU()
		t0, c0 := time.Now(), cputime.Process()
		if got := rawFetch(bb, b, folder); got != n {
			bb.Fatalf("raw fetch got %d mails, want %d", got, n)
		}
		raw := time.Since(t0)
		rawCPU = cputime.Process() - c0
		s1, _ := serverCPU()
		rawServer = s1 - s0

		t0, c0 = time.Now(), cputime.Process()
		sum, err := p.PollOnce(bb.Context())
		e2e := time.Since(t0)
		e2eCPU = cputime.Process() - c0
		s2, _ := serverCPU()
		e2eServer = s2 - s1
		if err != nil {
			bb.Fatal(err)
		}
		if sum.Fetched != n || sum.Disposed != n {
			bb.Fatalf("end to end: %+v, want %d fetched and disposed", sum, n)
		}
		bb.StopTimer()
		a.deleteTreeTB(bb, folder)
		a.c.Close()
		rawRate = float64(n) / raw.Seconds()
		e2eRate = float64(n) / e2e.Seconds()
		bb.Logf("%d mails: raw fetch %v (%.0f msg/s, CPU %v), end to end %v (%.0f msg/s, CPU %v), ratio %.2f; "+
			"inside the run: storage Record %v, MarkDisposed %v, classify %v; %v",
			n, raw.Round(time.Millisecond), rawRate, rawCPU.Round(time.Millisecond),
			e2e.Round(time.Millisecond), e2eRate, e2eCPU.Round(time.Millisecond), e2eRate/rawRate,
			time.Duration(st.record.Load()).Round(time.Millisecond), time.Duration(st.dispose.Load()).Round(time.Millisecond),
			time.Duration(classifying.Load()).Round(time.Millisecond), sum.ByKind)
		bb.StartTimer()
	}
	bb.ReportMetric(rawRate, "raw_msg/s")
	bb.ReportMetric(e2eRate, "e2e_msg/s")
	bb.ReportMetric(e2eRate/rawRate, "e2e/raw")
	if e2eCPU > 0 {
		// CPU of this process per mail: what the shared machine's load
		// disturbs least.
		bb.ReportMetric(float64(rawCPU.Microseconds())/float64(n), "raw_cpu_µs/mail")
		bb.ReportMetric(float64(e2eCPU.Microseconds())/float64(n), "e2e_cpu_µs/mail")
	}
	if serverKnown {
		// Dovecot's CPU per mail (all its processes; 10 ms ticks).
		bb.ReportMetric(float64(rawServer.Microseconds())/float64(n), "raw_server_cpu_µs/mail")
		bb.ReportMetric(float64(e2eServer.Microseconds())/float64(n), "e2e_server_cpu_µs/mail")
	}
	bb.ReportMetric(float64(vmHWM())/(1<<20), "peak_rss_MiB")
}

// BenchmarkPeakMemory polls 100,000 bounces (BOUNCED_BENCH_MAILS to
// change) end to end and reports the peak of the Go heap, sampled every
// 5 ms during the poll, and the process's peak RSS (VmHWM) afterwards.
// Run it alone (-bench PeakMemory) so VmHWM is the poll's. Target: < 100 MiB.
func BenchmarkPeakMemory(bb *testing.B) {
	n := 100000
	if v := os.Getenv("BOUNCED_BENCH_MAILS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	b := realServer(bb, TLSImplicit)
	mail := benchMails(bb)
	for i := 0; i < bb.N; i++ {
		bb.StopTimer()
		a := benchAdmin(bb, b)
		folder := fmt.Sprintf("benchmem-%d", time.Now().UnixNano())
		if err := a.c.Create(folder, nil).Wait(); err != nil {
			bb.Fatal(err)
		}
		fill(bb, a, folder, n, mail)
		if _, err := a.c.Select(folder, nil).Wait(); err != nil {
			bb.Fatal(err)
		}
		a.unselect()
		st := &timedStore{testStore: newTestStore(bb)}
		p := b.poller(bb, "benchmem", folder, st, func(o *Options) {
			if os.Getenv("BOUNCED_BENCH_BATCH") != "" {
				o.Batch = benchBatch()
			}
		})
		p.classify = classify.Message
		// The fill (the corpus, APPEND buffers) is not the poll: return
		// what it left to the system and start the high-water mark again.
		debug.FreeOSMemory()
		resetHWM(bb)
		bb.StartTimer()

		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				metrics.Read(s)
				if v := s[1].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
		t0 := time.Now()
		sum, err := p.PollOnce(bb.Context())
		d := time.Since(t0)
		close(stop)
		wg.Wait()
		bb.StopTimer()
		if err != nil {
			bb.Fatal(err)
		}
		if sum.Fetched != n {
			bb.Fatalf("%+v, want %d fetched", sum, n)
		}
		hwm := vmHWM()
		bb.Logf("%d mails in %v (%.0f msg/s; storage Record %v): peak Go memory (runtime total) %.1f MiB, process peak RSS %.1f MiB",
			n, d.Round(time.Millisecond), float64(n)/d.Seconds(), time.Duration(st.record.Load()).Round(time.Millisecond),
			float64(peak.Load())/(1<<20), float64(hwm)/(1<<20))
		bb.ReportMetric(float64(peak.Load())/(1<<20), "peak_go_MiB")
		bb.ReportMetric(float64(hwm)/(1<<20), "peak_rss_MiB")
		a.deleteTreeTB(bb, folder)
		a.c.Close()
		bb.StartTimer()
	}
}

// timedStore adds up the time spent in Record and MarkDisposed.
type timedStore struct {
	*testStore
	record, dispose atomic.Int64
}

func (t *timedStore) Record(ctx context.Context, recs []storage.Record) ([]storage.Result, error) {
	t0 := time.Now()
	defer func() { t.record.Add(int64(time.Since(t0))) }()
	return t.testStore.Record(ctx, recs)
}

func (t *timedStore) MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error {
	t0 := time.Now()
	defer func() { t.dispose.Add(int64(time.Since(t0))) }()
	return t.testStore.MarkDisposed(ctx, ids, action, at)
}

// vmHWM returns the process's peak resident set size in bytes (Linux).
// resetHWM sets the process's peak RSS (VmHWM) to its current RSS
// (Linux 4.0 and later), so that vmHWM afterwards is the peak of what
// follows; it says so when it cannot.
func resetHWM(tb testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("peak RSS includes the fill: cannot reset VmHWM: %v", err)
	}
}

func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func benchAdmin(tb testing.TB, b *backend) *admin {
	c, err := imapclient.DialTLS(net.JoinHostPort(b.host, strconv.Itoa(b.port)), &imapclient.Options{TLSConfig: b.tlsConf})
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Login(b.user, b.pass).Wait(); err != nil {
		tb.Fatal(err)
	}
	return &admin{t: tb, c: c}
}

func (a *admin) deleteTreeTB(tb testing.TB, name string) {
	a.unselect()
	a.deleteTree(name)
}

// benchBatch is the batch size of BenchmarkEndToEnd: BOUNCED_BENCH_BATCH, or 500.
// benchActions returns the disposal of the poller benchmarks: the test
// actions (moves into four folders by kind, autoreplies flagged, mail that
// is no bounce left), or with BOUNCED_BENCH_ACTION=move, flag, delete or
// leave that one action for every kind (move: into folder/Processed).
func benchActions(tb testing.TB, folder string) map[classify.Kind]Action {
	tb.Helper()
	var a Action
	switch v := os.Getenv("BOUNCED_BENCH_ACTION"); v {
	case "":
		return testActions(folder)
	case "move":
		a = Action{OpMove, folder + "/Processed"}
	case "flag":
		a = Action{Op: OpFlag}
	case "delete":
		a = Action{Op: OpDelete}
	case "leave":
		a = Action{Op: OpLeave}
	default:
		tb.Fatalf("BOUNCED_BENCH_ACTION=%q: want move, flag, delete or leave", v)
	}
	fmt.Printf("every mail disposed by %s\n", a)
	m := map[classify.Kind]Action{}
	for k := range testActions(folder) {
		m[k] = a
	}
	return m
}

func benchBatch() int {
	if n, err := strconv.Atoi(os.Getenv("BOUNCED_BENCH_BATCH")); err == nil && n > 0 {
		return n
	}
	return 500
}
