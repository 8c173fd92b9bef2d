package configs

import (
	"strings"
	"testing"
)

// TestWebhooksExample: the example's commented [[webhook]] tables, as
// written, are a valid config.
func TestWebhooksExample(t *testing.T) {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(Example()), "\n") {
		if strings.HasPrefix(line, "# [[webhook]]") {
			in = true
		}
		if in && strings.HasPrefix(line, "# ") && (strings.Contains(line, " = ") || strings.Contains(line, "[[webhook]]")) {
			b.WriteString(strings.TrimPrefix(line, "# ") + "\n")
		}
	}
	c, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("the example's webhooks:\n%s\n%v", b.String(), err)
	}
	if len(c.Webhooks) != 2 || c.Webhooks[0].WebhookKind() != "generic" || c.Webhooks[1].WebhookKind() != "listmonk" ||
		len(c.Webhooks[0].Events) != 2 || c.Webhooks[1].Username != "bounced" {
		t.Errorf("webhooks: %+v", c.Webhooks)
	}
}

// TestWebhooksValidate: every problem at once, each naming its table and
// key; never a secret in a message.
func TestWebhooksValidate(t *testing.T) {
	_, err := Parse([]byte(`
[[webhook]]
name = "a"
url = "http://crm.example.com/hook"
events = ["bounce", "suppression"]
username = "u"
timeout = "10m"
max_attempts = -1
max_backoff = "10ms"

[[webhook]]
name = "a"
url = "https://user:hunter2@listmonk.example.com"
kind = "listmonk"
events = ["sender_alert"]
token_env = "no such var"

[[webhook]]
url = "ftp://x"
kind = "zapier"
secret_env = "S"
`))
	if err == nil {
		t.Fatal("Parse accepted bad webhooks")
	}
	for _, want := range []string{
		`webhook "a": url: "http://crm.example.com/hook": want https:// (http:// only to a loopback address`,
		`webhook "a": events: unknown event "bounce"`,
		`webhook "a": username/token_env: only with kind = "listmonk"`,
		`webhook "a": secret_env: missing`,
		`webhook "a": timeout: 10m0s: want 1s to 5m`,
		`webhook "a": max_attempts: must not be negative`,
		`webhook "a": max_backoff: 10ms: want at least 1s`,
		`webhook "a": name: used twice`,
		`webhook "a": url: "https://user:xxxxx@listmonk.example.com": no credentials in the URL`,
		`webhook "a": username: missing`,
		`webhook "a": token_env: "no such var" is not an environment variable name`,
		`webhook "a": events: event "sender_alert": a listmonk target takes suppression.added only`,
		`webhook 3: name: missing`,
		`webhook 3: url: "ftp://x": want an https:// URL`,
		`webhook 3: kind: "zapier": want generic or listmonk`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a password in the error: %v", err)
	}
	// http to a loopback address is fine (a listmonk on the same host).
	if _, err := Parse([]byte("[[webhook]]\nname = \"lm\"\nurl = \"http://127.0.0.1:9000\"\nkind = \"listmonk\"\nusername = \"u\"\ntoken_env = \"T\"\n")); err != nil {
		t.Errorf("listmonk on loopback: %v", err)
	}
}

func TestWebhookSecrets(t *testing.T) {
	w := Webhook{SecretEnv: "BOUNCED_TEST_HOOK_SECRET", TokenEnv: "BOUNCED_TEST_HOOK_TOKEN"}
	if _, err := w.Secrets(); err == nil || !strings.Contains(err.Error(), "BOUNCED_TEST_HOOK_SECRET is not set") {
		t.Errorf("Secrets without the variable: %v", err)
	}
	t.Setenv("BOUNCED_TEST_HOOK_SECRET", " new , old ")
	t.Setenv("BOUNCED_TEST_HOOK_TOKEN", "tok\n")
	s, err := w.Secrets()
	if err != nil || len(s) != 2 || string(s[0]) != "new" || string(s[1]) != "old" {
		t.Errorf("Secrets = %q, %v", s, err)
	}
	if tok, err := w.Token(); tok != "tok" || err != nil {
		t.Errorf("Token = %q, %v", tok, err)
	}
}
