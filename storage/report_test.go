package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bounced/bounced/classify"
)

func TestReport(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db, _ := openTest(t, Options{Now: clk.Now})
	day := 24 * time.Hour
	t0 := clk.Now().Add(-3 * day) // 2026-02-26 12:00
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("a@one.example"), ReceivedAt: t0},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("b@one.example"), ReceivedAt: t0.Add(day)},
		Record{Source: imapSource(3), Raw: bounceMail(3, "\n"), Verdict: softBounce("c@two.example", classify.ReasonMailboxFull), ReceivedAt: t0.Add(day)},
		Record{Source: imapSource(4), Raw: bounceMail(4, "\n"), Verdict: softBounce("d@two.example", classify.ReasonBlocked), ReceivedAt: t0.Add(2 * day)},
		Record{Source: imapSource(5), Raw: bounceMail(5, "\n"), Verdict: classify.Verdict{Kind: classify.KindComplaint, FeedbackType: "abuse",
			Recipients: []classify.Recipient{{Address: "e@three.example", Reason: classify.ReasonFeedback}}}, ReceivedAt: t0.Add(2 * day)},
		Record{Source: imapSource(6), Raw: bounceMail(6, "\n"), Verdict: classify.Verdict{Kind: classify.KindNotBounce}, ReceivedAt: t0.Add(2 * day)},
		Record{Source: imapSource(7), Size: 40 << 20, Skipped: "too large: 41943040 bytes", ReceivedAt: t0.Add(2 * day)},
		Record{Source: imapSource(8), Raw: bounceMail(1, "\r\n"), Verdict: hardBounce("a@one.example"), ReceivedAt: t0.Add(2 * day)},
	)
	checkRollups(t, db)
	id, _ := db.StartRun(ctx, "primary", clk.Now())
	db.FinishRun(ctx, id, clk.Now(), RunStats{Fetched: 8, Recorded: 7, Duplicates: 1, Skipped: 1})

	r, err := db.Report(ctx, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages.Total != 7 || r.Messages.Duplicates != 1 || r.Messages.Skipped != 1 {
		t.Errorf("messages = %+v, want 7 total, 1 duplicate, 1 skipped", r.Messages)
	}
	wantKinds := map[classify.Kind]int{classify.KindBounce: 4, classify.KindComplaint: 1, classify.KindNotBounce: 1, classify.KindUnknown: 1}
	if !reflect.DeepEqual(r.Messages.ByKind, wantKinds) {
		t.Errorf("by_kind = %v, want %v", r.Messages.ByKind, wantKinds)
	}
	if o := r.Outcomes; o.Total != 5 || o.Failed != 4 || o.Hard != 2 ||
		!reflect.DeepEqual(o.ByReason, map[string]int{"userunknown": 2, "mailboxfull": 1, "blocked": 1}) ||
		!reflect.DeepEqual(o.ByPolicy, map[PolicyAction]int{ActionSuppress: 3, ActionScore: 1, ActionAlert: 1}) {
		t.Errorf("outcomes = %+v", o)
	}
	wantDomains := []DomainCount{{"one.example", 2, 2, 2}, {"two.example", 2, 2, 0}, {"three.example", 1, 0, 0}}
	if !reflect.DeepEqual(r.ByDomain, wantDomains) {
		t.Errorf("by_domain = %+v, want %+v", r.ByDomain, wantDomains)
	}
	if len(r.TopFailingDomains) != 2 || r.TopFailingDomains[0].Domain != "one.example" {
		t.Errorf("top_failing_domains = %+v", r.TopFailingDomains)
	}
	wantDays := []DayCount{
		{"2026-02-26", 1, map[classify.Kind]int{classify.KindBounce: 1}},
		{"2026-02-27", 2, map[classify.Kind]int{classify.KindBounce: 2}},
		{"2026-02-28", 4, map[classify.Kind]int{classify.KindBounce: 1, classify.KindComplaint: 1, classify.KindNotBounce: 1, classify.KindUnknown: 1}},
	}
	if !reflect.DeepEqual(r.ByDay, wantDays) {
		t.Errorf("by_day = %+v, want %+v", r.ByDay, wantDays)
	}
	if r.Suppressed != 3 || !reflect.DeepEqual(r.SuppressedByReason, map[string]int{"userunknown": 2, "complaint:abuse": 1}) {
		t.Errorf("suppressed = %d %v", r.Suppressed, r.SuppressedByReason)
	}
	if len(r.Alerts) != 1 || r.Alerts[0] != (AlertCount{Reason: "blocked", Domain: "two.example", Count: 1, Last: t0.Add(2 * day)}) {
		t.Errorf("alerts = %+v", r.Alerts)
	}
	if len(r.Runs) != 1 || r.Runs[0].Stats.Fetched != 8 {
		t.Errorf("runs = %+v", r.Runs)
	}

	// The JSON shape promised in issue 3.
	b, _ := json.Marshal(r)
	var shape struct {
		Messages struct {
			Total  *int           `json:"total"`
			ByKind map[string]int `json:"by_kind"`
		} `json:"messages"`
		Outcomes struct {
			ByReason map[string]int `json:"by_reason"`
		} `json:"outcomes"`
		Suppressed *int `json:"suppressed"`
	}
	if err := json.Unmarshal(b, &shape); err != nil || shape.Messages.Total == nil || *shape.Messages.Total != 7 ||
		shape.Messages.ByKind["bounce"] != 4 || shape.Outcomes.ByReason["userunknown"] != 2 || shape.Suppressed == nil || *shape.Suppressed != 3 {
		t.Errorf("json shape: %s", b)
	}

	// --since: only the last day.
	r, err = db.Report(ctx, ReportOptions{Since: t0.Add(2 * day)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Messages.Total != 4 || r.Messages.Duplicates != 1 || r.Outcomes.Total != 2 || len(r.ByDay) != 1 || r.Suppressed != 3 || r.NewlySuppressed != 1 {
		t.Errorf("since: messages %+v outcomes %+v days %d suppressed %d new %d", r.Messages, r.Outcomes, len(r.ByDay), r.Suppressed, r.NewlySuppressed)
	}

	// An empty database reports zeros, not nulls.
	empty, _ := openTest(t, Options{})
	r, err = empty.Report(ctx, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(r)
	if err := json.Unmarshal(b, &shape); err != nil || shape.Messages.ByKind == nil || shape.Outcomes.ByReason == nil || *shape.Suppressed != 0 {
		t.Errorf("empty report json: %s", b)
	}
}

// checkRollups compares the trigger-kept daily rollups with the same
// counts taken from the base tables.
func checkRollups(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	pairs := []struct{ name, rollup, base string }{
		{"stats_messages",
			`SELECT day, kind, messages, duplicates, skipped FROM stats_messages WHERE messages + duplicates + skipped > 0 ORDER BY 1, 2`,
			`SELECT substr(at, 1, 10), kind, sum(duplicate_of IS NULL), sum(duplicate_of IS NOT NULL), sum(duplicate_of IS NULL AND skipped <> '')
				FROM messages GROUP BY 1, 2 ORDER BY 1, 2`},
		{"stats_outcomes",
			`SELECT day, kind, action, reason, hard, policy, outcomes FROM stats_outcomes WHERE outcomes > 0 ORDER BY 1, 2, 3, 4, 5, 6`,
			`SELECT substr(at, 1, 10), kind, action, reason, hard, policy, count(*) FROM outcomes GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`},
		{"stats_domains",
			`SELECT domain, day, outcomes, failed, hard FROM stats_domains WHERE outcomes > 0 ORDER BY 1, 2`,
			`SELECT domain, substr(at, 1, 10), count(*), sum(action = 'failed'), sum(hard) FROM outcomes GROUP BY 1, 2 ORDER BY 1, 2`},
		{"stats_alerts",
			`SELECT reason, domain, day, alerts FROM stats_alerts WHERE alerts > 0 ORDER BY 1, 2, 3`,
			`SELECT reason, domain, substr(at, 1, 10), count(*) FROM alerts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`},
	}
	dump := func(q string) []string {
		rows, err := db.sql.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		return out
	}
	for _, p := range pairs {
		if got, want := dump(p.rollup), dump(p.base); !reflect.DeepEqual(got, want) {
			t.Errorf("%s out of step with its base table:\n got %v\nwant %v", p.name, got, want)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2026-03-01 12:00:00.000", "1999-12-31 23:59:59.999", "2026-03-01 12:00:00", "garbage", "2026-03-01 1x:00:00.000"} {
		want, err := time.ParseInLocation(timeFormat, s, time.UTC)
		if err != nil {
			want = time.Time{}
		}
		if got := parseTime(s); !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestFmtTime compares the hand-written formatter with time.Format.
func TestFmtTime(t *testing.T) {
	times := []time.Time{{}, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(999, 1, 2, 3, 4, 5, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 1e6, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 7, 1, 1, 30, 0, 0, time.FixedZone("x", 5*3600+1800))}
	for i := 0; i < 1000; i++ {
		times = append(times, time.Unix(int64(i)*7919*86400/13+int64(i)*104729, int64(i)*999983%1e9))
	}
	for _, tm := range times {
		if got, want := fmtTime(tm), tm.UTC().Format(timeFormat); got != want {
			t.Errorf("fmtTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

// TestViews reads every documented view, and the campaign query of
// docs/storage.md.
func TestViews(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t, Options{})
	v := hardBounce("a@one.example")
	v.Original.Headers = map[string]string{"X-Campaign-Id": "spring-26"}
	mustRecord(t, db,
		Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: v},
		Record{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: softBounce("b@two.example", classify.ReasonBlocked)},
		Record{Source: imapSource(3), Raw: bounceMail(1, "\r\n"), Verdict: v},
	)
	for _, q := range []struct {
		query string
		want  string
	}{
		{`SELECT address || ' ' || reason || ' ' || set_by FROM suppression_list`, "a@one.example userunknown policy"},
		{`SELECT kind || ' ' || messages || ' ' || duplicates FROM daily_summary`, "bounce 2 1"},
		{`SELECT reason || ' ' || policy || ' ' || outcomes FROM daily_outcomes ORDER BY reason`, "blocked alert 1"},
		{`SELECT domain || ' ' || failed FROM daily_domains ORDER BY domain`, "one.example 1"},
		{`SELECT reason || ' ' || domain || ' ' || alerts FROM sender_alerts`, "blocked two.example 1"},
		{`SELECT address FROM outcomes WHERE orig_headers LIKE '%"X-Campaign-Id":"spring-26"%'`, "a@one.example"},
		{`SELECT address FROM outcomes WHERE json_extract(orig_headers, '$."X-Campaign-Id"') = 'spring-26'`, "a@one.example"},
	} {
		var got string
		if err := db.sql.QueryRowContext(ctx, q.query).Scan(&got); err != nil || got != q.want {
			t.Errorf("%s = %q, %v; want %q", q.query, got, err, q.want)
		}
	}
}
