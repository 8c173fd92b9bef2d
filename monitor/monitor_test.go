package monitor

import (
	"context"
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
	s.FinishRun(ctx, id, now.Add(1500*time.Millisecond), storage.RunStats{ByKind: map[classify.Kind]int{classify.KindBounce: 3}})
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
		`bounced_mails_total{kind="bounce",mailbox="primary"} 3`,
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
