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
