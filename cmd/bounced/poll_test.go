package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

// sampleMails are three plain mails of our own; whatever the classifier
// says of them, the pipeline must fetch, record and dispose of each once.
func sampleMails() [][]byte {
	var out [][]byte
	for i := 1; i <= 3; i++ {
		out = append(out, fmt.Appendf(nil, "From: someone%d@example.org\r\nTo: bounces@demo.test\r\nSubject: note %d\r\n"+
			"Message-Id: <note-%d@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nHello %d.\r\n", i, i, i, i))
	}
	return out
}

// imapConfig starts a demo server holding mails and writes a config for
// it; the password comes from the environment.
func imapConfig(t *testing.T, mails [][]byte, extra string) (cfgPath, dbPath string, srv *demoServer) {
	t.Helper()
	srv, err := startDemoServer(mails)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	t.Setenv("BOUNCED_TEST_PASSWORD", srv.Pass)
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "bounced.db")
	cfg := fmt.Sprintf(`db = %q
[[mailbox]]
name = "primary"
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
password_env = "BOUNCED_TEST_PASSWORD"
schedule = "@every 1m"
%s`, dbPath, srv.Port, srv.User, extra)
	cfgPath = filepath.Join(dir, "bounced.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dbPath, srv
}

func TestPollCommand(t *testing.T) {
	cfg, dbPath, srv := imapConfig(t, sampleMails(), "")

	// Before the first run: no database, the whole folder is backlog, and
	// status creates nothing.
	out, errOut, code := runCmd(t, "", "status", "--config", cfg)
	for _, want := range []string{"last run:  never", "backlog:   3 not processed yet"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status before the first run: exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("status created the database (stat: %v)", err)
	}

	out, errOut, code = runCmd(t, "", "poll", "--config", cfg, "--dry-run")
	if code != 0 || strings.Count(out, "  uid ") != 3 || !strings.Contains(out, "would record 3 mails") {
		t.Errorf("poll --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("poll --dry-run created the database (stat: %v)", err)
	}

	out, errOut, code = runCmd(t, "", "poll", "--config", cfg)
	if code != 0 || !strings.Contains(out, "primary: fetched 3, recorded 3, duplicates 0, skipped 0, disposed 3") {
		t.Errorf("poll: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCmd(t, "", "poll", "--config", cfg, "--mailbox", "primary")
	if code != 0 || !strings.Contains(out, "primary: fetched 0, recorded 0") {
		t.Errorf("second poll: exit %d\n%s%s", code, out, errOut)
	}

	srv.Append("INBOX", []byte("From: x@example.org\r\nSubject: new\r\n\r\nnew\r\n"))
	out, errOut, code = runCmd(t, "", "status", "--config", cfg)
	for _, want := range []string{"primary:", "last run:  #2", "UTC, took", "ok", "next due:", "backlog:   1 not processed yet"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status: exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}

	_, errOut, code = runCmd(t, "", "poll", "--config", cfg, "--mailbox", "nope")
	if code != 2 || !strings.Contains(errOut, `no mailbox "nope"`) {
		t.Errorf("poll --mailbox nope: exit %d, %s", code, errOut)
	}
}

func TestPollCommandWrongPassword(t *testing.T) {
	cfg, _, _ := imapConfig(t, sampleMails(), "")
	t.Setenv("BOUNCED_TEST_PASSWORD", "wrong")
	_, errOut, code := runCmd(t, "", "poll", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "login rejected") || strings.Contains(errOut, "wrong") {
		t.Errorf("poll with a wrong password: exit %d, stderr %q; want 1, login rejected, no password", code, errOut)
	}
}

func TestCheckConfigCommand(t *testing.T) {
	cfg, _, srv := imapConfig(t, sampleMails(), "")
	out, errOut, code := runCmd(t, "", "check-config", "--config", cfg)
	for _, want := range []string{"config ok", "ok   login", "folder INBOX: 3 mails", "MOVE yes, UIDPLUS yes): disposal by MOVE",
		"ok   action folder Bounces/Processed: the first run creates it (checked: created and deleted again)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("check-config: exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}
	if boxes, err := srv.Folders(); err != nil || len(boxes) != 1 {
		t.Errorf("check-config left folders on the server: %v (%v), want INBOX alone", boxes, err)
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[[mailbox]]\nname = \"x\"\nhost = \"imap.example.com\"\ntls = \"none\"\nschedule = \"61 * * * *\"\nusername = \"u\"\npassword_env = \"P\"\n"), 0o600)
	out, _, code = runCmd(t, "", "check-config", "--config", bad)
	if code != 2 || !strings.Contains(out, "loopback") || !strings.Contains(out, "schedule") {
		t.Errorf("check-config of a bad config: exit %d, want 2 and every problem\n%s", code, out)
	}

	t.Setenv("BOUNCED_TEST_PASSWORD", "wrong")
	out, _, code = runCmd(t, "", "check-config", "--config", cfg)
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "login rejected") {
		t.Errorf("check-config with a wrong password: exit %d\n%s", code, out)
	}
}

// signalWriter closes seen when a line containing want is written.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestRunCommandStopsOnSignal(t *testing.T) {
	cfg, _, _ := imapConfig(t, sampleMails(), "")
	ctx, cancel := context.WithCancel(context.Background())
	w := &signalWriter{want: `"msg":"scheduled"`, seen: make(chan struct{})}
	done := make(chan error)
	go func() { done <- run(ctx, []string{"run", "--config", cfg}, strings.NewReader(""), &bytes.Buffer{}, w) }()
	<-w.seen
	cancel() // what signal.NotifyContext does on SIGTERM
	if err := <-done; err != nil {
		t.Errorf("run after the signal: %v, want nil (exit 0)", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !strings.Contains(w.buf.String(), `"msg":"bounced stopped"`) {
		t.Errorf("run logs (JSON, stderr is no terminal):\n%s", w.buf.String())
	}
}

func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	for i, m := range sampleMails() {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("m%d.eml", i)), m, 0o600)
	}
	out, errOut, code := runCmd(t, "", "demo", "--testdata", dir)
	for _, want := range []string{"holds 3 sample mails", "demo: fetched 3, recorded 3", "INBOX"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("demo: exit %d, want %q in\n%s%s", code, want, out, errOut)
		}
	}
	_, errOut, code = runCmd(t, "", "demo", "--testdata", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(errOut, "sample mails "+filepath.Join(dir, "missing")+" not found") {
		t.Errorf("demo without sample mails: exit %d, %s", code, errOut)
	}
}

// TestRunCommandPollsOverdueAtStart: a daemon started on a fresh database
// polls at once instead of waiting a whole period of its schedule.
func TestRunCommandPollsOverdueAtStart(t *testing.T) {
	cfg, dbPath, _ := imapConfig(t, sampleMails(), "")
	ctx, cancel := context.WithCancel(context.Background())
	w := &signalWriter{want: `"msg":"run done"`, seen: make(chan struct{})}
	done := make(chan error)
	go func() { done <- run(ctx, []string{"run", "--config", cfg}, strings.NewReader(""), &bytes.Buffer{}, w) }()
	select {
	case <-w.seen:
	case <-time.After(20 * time.Second):
		t.Error("no run at start within 20s (the schedule is @every 1m)")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	out, errOut, code := runCmd(t, "", "report", "--db", dbPath, "--format", "json")
	if code != 0 || !strings.Contains(out, `"total": 3`) {
		t.Errorf("report after the run at start: exit %d\n%s%s", code, out, errOut)
	}
}

func TestOverdueMailboxes(t *testing.T) {
	cfgPath, dbPath, _ := imapConfig(t, sampleMails(), "")
	cfg, err := configs.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(context.Background(), dbPath, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	check := func(at time.Time, want bool) {
		t.Helper()
		due, err := overdueMailboxes(context.Background(), db, cfg, at)
		if err != nil || due["primary"] != want {
			t.Errorf("overdueMailboxes(%v) = %v, %v; want primary %v", at, due, err, want)
		}
	}
	check(now, true) // never run
	id, err := db.StartRun(context.Background(), "primary", now)
	if err != nil {
		t.Fatal(err)
	}
	check(now, true) // started, never finished: killed
	if err := db.FinishRun(context.Background(), id, now, storage.RunStats{}); err != nil {
		t.Fatal(err)
	}
	check(now.Add(30*time.Second), false) // @every 1m: next due in 30s
	check(now.Add(2*time.Minute), true)   // a period was missed
}

// TestCheckConfigDatabase: check-config says whether the database can be
// used, without creating it.
func TestCheckConfigDatabase(t *testing.T) {
	cfg, dbPath, _ := imapConfig(t, sampleMails(), "")
	out, errOut, code := runCmd(t, "", "check-config", "--config", cfg, "--offline")
	if code != 0 || !strings.Contains(out, "ok   database") || !strings.Contains(out, "first run creates it") {
		t.Errorf("check-config, no database yet: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("check-config created the database (stat: %v)", err)
	}
	data, _ := os.ReadFile(cfg)
	bad := strings.Replace(string(data), dbPath, filepath.Join(t.TempDir(), "missing-dir", "b.db"), 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	out, errOut, code = runCmd(t, "", "check-config", "--config", cfg, "--offline")
	if code != 1 || !strings.Contains(out, "FAIL database") {
		t.Errorf("check-config, database in a missing directory: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(dbPath, []byte("not a database"), 0o600)
	os.WriteFile(cfg, data, 0o600)
	out, errOut, code = runCmd(t, "", "check-config", "--config", cfg, "--offline")
	if code != 1 || !strings.Contains(out, "FAIL database") {
		t.Errorf("check-config, a file that is no database: exit %d\n%s%s", code, out, errOut)
	}
}

// TestDryRunSummaryDuplicates: a dry run's summary does not count mail
// stored already (poller.Summary.Duplicates, from storage's Known) as mail
// it would record.
func TestDryRunSummaryDuplicates(t *testing.T) {
	var b strings.Builder
	printSummary(&b, poller.Summary{Mailbox: "primary", Fetched: 5, Duplicates: 2, Skipped: 1}, true)
	if want := "primary: would record 3 mails (1 skipped, 2 stored already)"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("dry-run summary = %q, want it to start %q", b.String(), want)
	}
}

// TestStatusIsAMonitoringCheck: status exits 1 when the last run failed
// (also --offline) and says why, in text and JSON.
func TestStatusIsAMonitoringCheck(t *testing.T) {
	cfg, dbPath, _ := imapConfig(t, sampleMails(), "")
	if _, _, code := runCmd(t, "", "poll", "--config", cfg); code != 0 {
		t.Fatalf("poll: exit %d", code)
	}
	if _, _, code := runCmd(t, "", "status", "--config", cfg, "--offline"); code != 0 {
		t.Errorf("status after a good run: exit %d, want 0", code)
	}
	db, err := storage.Open(context.Background(), dbPath, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id, err := db.StartRun(context.Background(), "primary", now)
	if err == nil {
		err = db.FinishRun(context.Background(), id, now, storage.RunStats{Err: "logging in: NO [AUTHENTICATIONFAILED]"})
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, _, code := runCmd(t, "", "status", "--config", cfg, "--offline")
	if code != 1 || !strings.Contains(out, "PROBLEM: last run failed: logging in") {
		t.Errorf("status after a failed run: exit %d, want 1 and the problem in\n%s", code, out)
	}
	out, _, code = runCmd(t, "", "status", "--config", cfg, "--offline", "--format", "json")
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 1 || st.OK || len(st.Mailboxes) != 1 || st.Mailboxes[0].OK ||
		len(st.Mailboxes[0].Problems) != 1 || !st.Webhooks.OK || st.Webhooks.Targets == nil {
		t.Errorf("status --format json: exit %d, %v, %+v\n%s", code, err, st, out)
	}
}

// --verbose logs every step with the UIDs it concerns; --quiet prints
// nothing but errors; both at once is a usage error.
func TestPollVerboseAndQuiet(t *testing.T) {
	cfg, _, srv := imapConfig(t, sampleMails(), "")
	if _, errOut, code := runCmd(t, "", "poll", "--config", cfg, "--verbose", "--quiet"); code != 2 || !strings.Contains(errOut, "exclude each other") {
		t.Errorf("--verbose --quiet: exit %d, %s", code, errOut)
	}
	out, errOut, code := runCmd(t, "", "poll", "--config", cfg, "--verbose")
	if code != 0 {
		t.Fatalf("poll --verbose: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		`msg="logged in"`, `msg="opened folder"`, "uidnext=4",
		`msg="listed mail above the cursor"`, "uids=1:3",
		`msg=fetching mailbox=primary run_id=1 uidvalidity=1 count=3 uids=1:3`,
		`msg="classified and recorded" mailbox=primary run_id=1 uidvalidity=`, "uid=2",
		`msg=committed`, `msg="left in the folder"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("poll --verbose: no %q in the log:\n%s", want, errOut)
		}
	}
	srv.Append("INBOX", []byte("From: x@example.org\r\nSubject: new\r\n\r\nnew\r\n"))
	out, errOut, code = runCmd(t, "", "poll", "--config", cfg, "--quiet")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("poll --quiet: exit %d, stdout %q, stderr %q; want nothing", code, out, errOut)
	}
}

// TestStatusHealth: status judges each mailbox's health with the
// thresholds of [health] and reports it in text and JSON.
func TestStatusHealth(t *testing.T) {
	bounce, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bounces", "postfix", "mailbox-full.eml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, dbPath, _ := imapConfig(t, append(sampleMails(), bounce), "[health]\nfailed_runs = 2\n")
	if _, _, code := runCmd(t, "", "poll", "--config", cfg); code != 0 {
		t.Fatalf("poll: exit %d", code)
	}
	out, _, code := runCmd(t, "", "status", "--config", cfg, "--offline", "--format", "json")
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || !st.OK || len(st.Mailboxes) != 1 || st.Mailboxes[0].Health == nil {
		t.Fatalf("status --format json after a good run: exit %d, %v\n%s", code, err, out)
	}
	if h := st.Mailboxes[0].Health; h.LastBounce.IsZero() || h.FirstRun.IsZero() || len(h.Problems) != 0 {
		t.Errorf("health after a good run with bounces: %+v", h)
	}
	db, err := storage.Open(context.Background(), dbPath, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		now := time.Now()
		id, err := db.StartRun(context.Background(), "primary", now)
		if err == nil {
			err = db.FinishRun(context.Background(), id, now, storage.RunStats{Err: "logging in: NO [AUTHENTICATIONFAILED]"})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out, _, code = runCmd(t, "", "status", "--config", cfg, "--offline")
	if code != 1 || !strings.Contains(out, "failed_runs: 2 failed runs in a row: logging in") {
		t.Errorf("status after two failed runs: exit %d, want 1 and the health problem in\n%s", code, out)
	}
	out, _, _ = runCmd(t, "", "status", "--config", cfg, "--offline", "--format", "json")
	st = statusReport{}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.OK || len(st.Mailboxes) != 1 || st.Mailboxes[0].Health == nil ||
		len(st.Mailboxes[0].Health.Problems) != 1 || st.Mailboxes[0].Health.Problems[0].Check != storage.CheckFailedRuns || len(st.Mailboxes[0].Problems) != 2 {
		t.Errorf("status --format json after two failed runs: %v\n%s", err, out)
	}
}
