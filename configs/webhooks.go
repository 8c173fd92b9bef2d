package configs

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/webhook"
)

// Webhook is one [[webhook]] table: a receiver of bounced's events
// (suppression added and removed, complaint, sender-side alert, mailbox
// health change), delivered at least once from the outbox
// (docs/webhooks.md). The secrets come from the environment, never from
// the config.
type Webhook struct {
	Name string `toml:"name"`
	// URL: kind generic: where to POST each event; kind listmonk:
	// listmonk's root (bounced posts to its /webhooks/bounce).
	URL  string `toml:"url"`
	Kind string `toml:"kind"` // generic (default) | listmonk
	// Events: suppression (both), suppression.added, suppression.removed,
	// complaint, sender_alert, mailbox_health; none: every event the kind
	// takes (listmonk: suppression.added).
	Events []string `toml:"events"`
	// SecretEnv names the environment variable holding the HMAC secret
	// that signs every request (X-Bounced-Signature): required for a
	// generic target; "NEW,OLD" during a rotation (both sign).
	SecretEnv string `toml:"secret_env"`
	// Username and TokenEnv: listmonk's API user and the variable
	// holding its token ("Authorization: token USER:TOKEN").
	Username string `toml:"username"`
	TokenEnv string `toml:"token_env"`
	// Timeout of one request; MaxAttempts, then the event is
	// dead-lettered; MaxBackoff caps one wait between attempts.
	Timeout     Duration `toml:"timeout"`
	MaxAttempts int      `toml:"max_attempts"`
	MaxBackoff  Duration `toml:"max_backoff"`
}

// Defaults of a webhook's optional keys (the webhook package's).
const (
	DefaultWebhookKind        = string(webhook.KindGeneric)
	DefaultWebhookTimeout     = webhook.DefaultTimeout
	DefaultWebhookMaxAttempts = webhook.DefaultMaxAttempts
	DefaultWebhookMaxBackoff  = webhook.DefaultMaxBackoff
)

// WebhookKind is the target's kind, its default filled in.
func (w Webhook) WebhookKind() webhook.Kind {
	if w.Kind == "" {
		return webhook.KindGeneric
	}
	return webhook.Kind(w.Kind)
}

// validateWebhooks checks every [[webhook]], each problem naming its
// table: `webhook "crm": url: ...`.
func validateWebhooks(ws []Webhook) []error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range ws {
		label := fmt.Sprintf("webhook %d", i+1)
		if w.Name != "" {
			label = fmt.Sprintf("webhook %q", w.Name)
			if seen[w.Name] {
				errs = append(errs, fmt.Errorf("%s: name: used twice", label))
			}
			seen[w.Name] = true
		}
		for _, e := range w.validate() {
			errs = append(errs, fmt.Errorf("%s: %w", label, e))
		}
	}
	return errs
}

func (w Webhook) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if w.Name == "" {
		add("name: missing")
	} else if !nameRE.MatchString(w.Name) {
		add("name: %q: use letters, digits, '.', '_' and '-' (at most 64)", w.Name)
	}
	switch u, err := url.Parse(w.URL); {
	case w.URL == "":
		add("url: missing")
	case err != nil || u.Host == "" || u.Scheme != "https" && u.Scheme != "http":
		add("url: %q: want an https:// URL", redactURL(w.URL))
	case u.Scheme == "http" && !poller.IsLoopback(u.Hostname()):
		add("url: %q: want https:// (http:// only to a loopback address: the events name your recipients)", redactURL(w.URL))
	case u.User != nil:
		add("url: %q: no credentials in the URL (listmonk: username and token_env)", redactURL(w.URL))
	}
	kind := w.WebhookKind()
	switch kind {
	case webhook.KindGeneric:
		if w.SecretEnv == "" {
			add("secret_env: missing: a generic target's requests are signed (X-Bounced-Signature)")
		}
		if w.Username != "" || w.TokenEnv != "" {
			add("username/token_env: only with kind = \"listmonk\"")
		}
	case webhook.KindListmonk:
		if w.Username == "" {
			add("username: missing: listmonk's API user (Users -> API users)")
		}
		if w.TokenEnv == "" {
			add("token_env: missing: the environment variable holding the API user's token")
		}
	default:
		add("kind: %q: want generic or listmonk", w.Kind)
	}
	for _, env := range []struct{ key, v string }{{"secret_env", w.SecretEnv}, {"token_env", w.TokenEnv}} {
		if env.v != "" && !envNameRE.MatchString(env.v) {
			add("%s: %q is not an environment variable name", env.key, env.v)
		}
	}
	if kind == webhook.KindGeneric || kind == webhook.KindListmonk {
		if _, err := webhook.ParseEvents(kind, w.Events); err != nil {
			for _, e := range flatten(err) {
				add("events: %v", e)
			}
		}
	}
	if w.Timeout != 0 && (w.Timeout < Duration(time.Second) || w.Timeout > Duration(5*time.Minute)) {
		add("timeout: %s: want 1s to 5m", time.Duration(w.Timeout))
	}
	if w.MaxAttempts < 0 {
		add("max_attempts: must not be negative (0 is the default, %d)", DefaultWebhookMaxAttempts)
	}
	if w.MaxBackoff != 0 && w.MaxBackoff < Duration(time.Second) {
		add("max_backoff: %s: want at least 1s", time.Duration(w.MaxBackoff))
	}
	return errs
}

// redact hides a password in a URL for an error message.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// Secrets reads the signing secrets from secret_env now: one, or several
// separated by commas (all sign: a rotation). Nil without secret_env.
func (w Webhook) Secrets() ([][]byte, error) {
	if w.SecretEnv == "" {
		return nil, nil
	}
	v, ok := os.LookupEnv(w.SecretEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("secret_env: environment variable %s is not set", w.SecretEnv)
	}
	var out [][]byte
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, []byte(s))
		}
	}
	return out, nil
}

// Token reads listmonk's API token from token_env now ("" without one).
func (w Webhook) Token() (string, error) {
	if w.TokenEnv == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(w.TokenEnv)
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("token_env: environment variable %s is not set", w.TokenEnv)
	}
	return strings.TrimSpace(v), nil
}
