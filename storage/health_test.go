package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

func TestHealthJudge(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	first := now.Add(-30 * day)
	for _, tc := range []struct {
		name string
		h    Health
		want []string // check: substring, one per problem, in order
	}{
		{"fine", Health{FirstRun: first, LastOK: now, LastBounce: now.Add(-day)}, nil},
		{"never ran", Health{}, nil},
		{"one failure", Health{FirstRun: first, LastOK: now.Add(-time.Hour), LastBounce: now.Add(-day), FailedRuns: 1, LastError: "logging in: bad password"},
			[]string{"failed_runs: 1 failed run in a row: logging in: bad password"}},
		{"quiet since the last bounce", Health{FirstRun: first, LastOK: now, LastBounce: now.Add(-8 * day)},
			[]string{"no_bounce: no bounce for 8 days (the last arrived 2026-03-12)"}},
		{"quiet since the first run", Health{FirstRun: now.Add(-10 * day), LastOK: now},
			[]string{"no_bounce: no bounce for 10 days (none since the first run on 2026-03-10)"}},
		{"new mailbox is not quiet yet", Health{FirstRun: now.Add(-2 * day), LastOK: now}, nil},
		// A mailbox that cannot log in is not "quiet": the quiet time ends at its last good run.
		{"failing, not quiet", Health{FirstRun: first, LastOK: now.Add(-6 * day), LastBounce: now.Add(-7 * day), FailedRuns: 300, LastError: "x"},
			[]string{"failed_runs: 300 failed runs in a row"}},
		{"spike", Health{FirstRun: first, LastOK: now, LastBounce: now, SenderSide: map[string]int{"blocked": 8, "spamdetected": 4}, SenderBefore: 2},
			[]string{"sender_spike: spike in sender-side rejections: 12 in the last 24h (blocked 8, spamdetected 4) against 2.0 before"}},
		{"steady sender-side rejections are no spike", Health{FirstRun: first, LastOK: now, LastBounce: now, SenderSide: map[string]int{"blocked": 12}, SenderBefore: 5}, nil},
		{"below the minimum", Health{FirstRun: first, LastOK: now, LastBounce: now, SenderSide: map[string]int{"blocked": 9}}, nil},
	} {
		got := tc.h.judge(now, DefaultHealth)
		if len(got) != len(tc.want) {
			t.Errorf("%s: problems %q, want %d", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if p := got[i].Check + ": " + got[i].Message; !strings.Contains(p, w) {
				t.Errorf("%s: problem %q, want %q in it", tc.name, got[i], w)
			}
		}
	}
	if got := (Health{FailedRuns: 5}).judge(now, HealthOptions{}); len(got) != 0 {
		t.Errorf("every check off: %q", got)
	}
}

func TestMailboxHealth(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	start := clk.Now()
	run := func(errText string) {
		t.Helper()
		id, err := db.StartRun(ctx, "primary", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.FinishRun(ctx, id, clk.Now().Add(time.Second), RunStats{Err: errText, Listed: 5, Backlog: 2}); err != nil {
			t.Fatal(err)
		}
	}
	blocked := func(addr string) classify.Verdict {
		v := hardBounce(addr)
		v.Recipients[0].Reason, v.Recipients[0].Hard = classify.ReasonBlocked, false
		return v
	}
	run("")
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@example.com"), ReceivedAt: clk.Now()})
	h, err := db.MailboxHealth(ctx, "primary", clk.Now(), DefaultHealth)
	if err != nil || len(h.Problems) != 0 || !h.FirstRun.Equal(start) || !h.LastBounce.Equal(start) {
		t.Fatalf("fresh mailbox: %+v, %v", h, err)
	}

	// Nine quiet days of good runs, then three failures.
	for range 9 {
		clk.Add(24 * time.Hour)
		run("")
	}
	for range 3 {
		clk.Add(time.Hour)
		run("logging in: authentication failed")
	}
	// A dozen sender-side rejections in the last day, none before.
	for i := range 12 {
		mustRecord(t, db, Record{Source: imapSource(uint32(10 + i)), Raw: bounceMail(10+i, "\n"), Verdict: blocked("b@example.org"), ReceivedAt: clk.Now().Add(-time.Hour)})
	}
	h, err = db.MailboxHealth(ctx, "primary", clk.Now(), DefaultHealth)
	if err != nil {
		t.Fatal(err)
	}
	if h.FailedRuns != 3 || h.LastError != "logging in: authentication failed" || h.SenderSide["blocked"] != 12 || h.SenderBefore != 0 {
		t.Errorf("health %+v", h)
	}
	// The sender-side bounces are bounces too: not quiet any more.
	want := []string{"3 failed runs in a row", "spike in sender-side rejections: 12"}
	if len(h.Problems) != len(want) {
		t.Fatalf("problems %q, want %q", h.Problems, want)
	}
	for i, w := range want {
		if !strings.Contains(h.Problems[i].Message, w) {
			t.Errorf("problem %q, want %q", h.Problems[i], w)
		}
	}
	// One good run ends the series of failures.
	run("")
	if h, _ = db.MailboxHealth(ctx, "primary", clk.Now(), DefaultHealth); h.FailedRuns != 0 {
		t.Errorf("after a good run: %d failed runs", h.FailedRuns)
	}
	runs, err := db.LastRuns(ctx)
	if err != nil || len(runs) != 1 || runs[0].Stats.Listed != 5 || runs[0].Stats.Backlog != 2 {
		t.Errorf("last runs %+v, %v: want listed 5, backlog 2", runs, err)
	}
	// Another mailbox's history is not this one's.
	if h, _ := db.MailboxHealth(ctx, "other", clk.Now(), DefaultHealth); len(h.Problems) != 0 || !h.FirstRun.IsZero() {
		t.Errorf("other mailbox: %+v", h)
	}
}
