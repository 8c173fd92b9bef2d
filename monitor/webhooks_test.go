package monitor

import (
	"strings"
	"testing"
	"time"
)

// TestWebhookMetrics: attempts are counted per target and result, the
// queue (pending, dead-lettered) is a gauge per target, and a target gone
// by a reload loses its gauges.
func TestWebhookMetrics(t *testing.T) {
	m := New(func() string { return "" }, nil)
	h := m.Handler(time.Now(), time.Minute)
	m.WebhookAttempt("crm", "failed")
	m.WebhookAttempt("crm", "failed")
	m.WebhookAttempt("crm", "dead")
	m.WebhookQueue("crm", 3, 1)
	m.WebhookQueue("old", 0, 2)
	_, body := get(t, h, "/metrics")
	for _, want := range []string{
		`bounced_webhook_attempts_total{result="failed",target="crm"} 2`,
		`bounced_webhook_attempts_total{result="dead",target="crm"} 1`,
		`bounced_webhook_events{state="pending",target="crm"} 3`,
		`bounced_webhook_events{state="dead",target="crm"} 1`,
		`bounced_webhook_events{state="dead",target="old"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	m.KeepWebhooks([]string{"crm"})
	if _, body := get(t, h, "/metrics"); strings.Contains(body, `target="old"`) && strings.Contains(body, "bounced_webhook_events{state=\"dead\",target=\"old\"}") {
		t.Errorf("a target removed by a reload keeps its gauges:\n%s", body)
	}
}

// TestReadyzWebhookDeadLetters: a target with a dead letter after its
// last pass makes /readyz answer 503 with the count and what to do, after
// the mailboxes' reasons; a pass that finds none again (a retry), or a
// reload that removes the target, makes it ready again.
func TestReadyzWebhookDeadLetters(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	m := New(func() string { return "" }, func() time.Time { return now })
	h := m.Handler(now, time.Minute)
	m.WebhookQueue("crm", 3, 0)
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz with pending events only = %d %q, want 200", code, body)
	}
	m.WebhookQueue("crm", 0, 2)
	m.WebhookQueue("alerts", 0, 1)
	want := "webhook alerts: 1 dead letters: 'bounced webhooks list --state dead' shows them, 'bounced webhooks retry' re-queues them\n" +
		"webhook crm: 2 dead letters: 'bounced webhooks list --state dead' shows them, 'bounced webhooks retry' re-queues them\n"
	if code, body := get(t, h, "/readyz"); code != 503 || body != want {
		t.Errorf("/readyz with dead letters = %d %q, want 503 %q", code, body, want)
	}
	// An overdue mailbox comes first.
	m.Schedule("primary", func(t time.Time) time.Time { return t.Add(-time.Hour) })
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.HasPrefix(body, "primary: overdue since") || !strings.HasSuffix(body, want) {
		t.Errorf("/readyz with an overdue mailbox and dead letters = %d %q", code, body)
	}
	m.Keep(nil)
	m.WebhookQueue("crm", 0, 0) // re-queued by 'bounced webhooks retry'
	m.KeepWebhooks([]string{"crm"})
	if code, body := get(t, h, "/readyz"); code != 200 {
		t.Errorf("/readyz after the retry and a reload without alerts = %d %q, want 200", code, body)
	}
}
