package monitor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestMonitor(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := now
	m := New(func() string { return path }, func() time.Time { return clock })
	every5 := func(t time.Time) time.Time { return t.Add(5 * time.Minute) }
	m.Schedule("primary", every5)
	m.Schedule("other", every5)
	s := m.Wrap(db)
	h := m.Handler(now, time.Minute)

	if code, body := get(t, h, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz before any run = %d %q, want 200", code, body)
	}
	id, _ := s.StartRun(ctx, "primary", now)
	var recs []storage.Record
	for i := range 3 {
		v := classify.Verdict{Kind: classify.KindBounce, Recipients: []classify.Recipient{{Address: fmt.Sprintf("r%d@example.org", i),
			Action: classify.ActionFailed, Hard: true, Reason: classify.ReasonMailboxFull}}}
		recs = append(recs, storage.Record{Source: storage.Source{Account: "primary", Folder: "INBOX", UIDValidity: 1, UID: uint32(i + 1)},
			Raw: fmt.Appendf(nil, "Subject: %d\r\n\r\nbody\r\n", i), Verdict: v, ReceivedAt: now})
	}
	recs = append(recs, recs[0]) // a duplicate is not counted twice
	if _, err := s.Record(ctx, recs); err != nil {
		t.Fatal(err)
	}
	s.FinishRun(ctx, id, now.Add(1500*time.Millisecond), storage.RunStats{ByKind: map[classify.Kind]int{classify.KindBounce: 3}, Listed: 10, Backlog: 7})
	id, _ = s.StartRun(ctx, "other", now)
	s.FinishRun(ctx, id, now.Add(time.Second), storage.RunStats{Err: "logging in: NO [AUTHENTICATIONFAILED]"})
	id, _ = s.StartRun(ctx, "other", now)
	s.FinishRun(ctx, id, now.Add(time.Second), storage.RunStats{Err: "logging in: NO [AUTHENTICATIONFAILED]"})

	code, body := get(t, h, "/readyz")
	if code != 503 || !strings.Contains(body, "other: last run failed (2 in a row)") || strings.Contains(body, "primary") {
		t.Errorf("/readyz after a failing login = %d %q", code, body)
	}
	clock = now.Add(10 * time.Minute)
	if _, body := get(t, h, "/readyz"); !strings.Contains(body, "primary: overdue since 2026-12-04 12:05:01") {
		t.Errorf("/readyz with primary overdue = %q", body)
	}
	_, metrics := get(t, h, "/metrics")
	for _, want := range []string{
		`bounced_runs_total{mailbox="primary",result="ok"} 1`,
		`bounced_runs_total{mailbox="other",result="failed"} 2`,
		`bounced_errors_total{mailbox="other",step="login"} 2`,
		`bounced_consecutive_failures{mailbox="other"} 2`,
		`bounced_mails_total{kind="bounce",mailbox="primary",reason="mailboxfull"} 3`,
		`bounced_backlog{mailbox="primary"} 7`,
		`bounced_health_problem{check="failed_runs",mailbox="other"} 1`,
		`bounced_health_problem{check="failed_runs",mailbox="primary"} 0`,
		`bounced_health_problem{check="no_bounce",mailbox="primary"} 0`,
		`bounced_run_duration_seconds_count{mailbox="primary"} 1`,
		`bounced_last_success_timestamp_seconds{mailbox="primary"} 1.796385601e+09`,
		`bounced_database_bytes `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q in\n%s", want, grep(metrics, "bounced_last"))
		}
	}
}

func TestStep(t *testing.T) {
	for err, want := range map[string]string{
		"logging in: NO [AUTHENTICATIONFAILED]":     "login",
		"poller: cannot connect: dial tcp: refused": "connect",
		"recording uids 1-5: database is locked":    "store",
		"moving 3 mails: NO":                        "dispose",
		"fetching uid 7: EOF":                       "fetch",
		"something else":                            "other",
	} {
		if got := Step(err); got != want {
			t.Errorf("Step(%q) = %q, want %q", err, got, want)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReadyzHealth: a mailbox that logs in fine but has had no bounce for
// longer than no_bounce is not ready, and says why; the thresholds come
// from SetHealthOptions (a reload).
func TestReadyzHealth(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := storage.Open(ctx, path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := now.Add(-10 * 24 * time.Hour)
	m := New(func() string { return path }, func() time.Time { return clock })
	m.Schedule("quiet", func(t time.Time) time.Time { return t.Add(time.Hour) })
	s := m.Wrap(db)
	h := m.Handler(clock, time.Minute)
	run := func() {
		id, err := s.StartRun(ctx, "quiet", clock)
		if err == nil {
			err = s.FinishRun(ctx, id, clock, storage.RunStats{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	run()
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz after the first run = %d %q", code, body)
	}
	clock = now
	run()
	code, body := get(t, h, "/readyz")
	if code != 503 || !strings.Contains(body, "quiet: no_bounce: no bounce for 10 days") {
		t.Errorf("/readyz after 10 quiet days = %d %q, want 503 and the no_bounce problem", code, body)
	}
	if _, metrics := get(t, h, "/metrics"); !strings.Contains(metrics, `bounced_health_problem{check="no_bounce",mailbox="quiet"} 1`) {
		t.Errorf("/metrics lacks the no_bounce problem:\n%s", grep(metrics, "bounced_health"))
	}
	o := storage.DefaultHealth
	o.NoBounce = 0
	m.SetHealthOptions(o)
	run()
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz with no_bounce off = %d %q, want 200", code, body)
	}
	m.SetHealthOptions(storage.DefaultHealth)
	run()
	if code, _ := get(t, h, "/readyz"); code != 503 {
		t.Errorf("/readyz with no_bounce on again = %d, want 503", code)
	}
	m.Keep(nil) // a reload removed the mailbox
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz after the mailbox was removed = %d %q, want 200", code, body)
	}
	if _, metrics := get(t, h, "/metrics"); strings.Contains(metrics, `mailbox="quiet"} 1`) {
		t.Errorf("/metrics still reports the removed mailbox:\n%s", grep(metrics, "quiet"))
	}
}
