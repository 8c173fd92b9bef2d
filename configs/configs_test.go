package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

func TestExampleLoads(t *testing.T) {
	c, err := Parse(Example())
	if err != nil {
		t.Fatalf("Parse(example) = %v", err)
	}
	if len(c.Mailboxes) != 1 {
		t.Fatalf("example has %d mailboxes, want 1", len(c.Mailboxes))
	}
	m := c.Mailboxes[0]
	if m.Name != "primary" || m.Port != 993 || m.TLS != "implicit" || m.Folder != "INBOX" || m.Batch != 200 {
		t.Errorf("example mailbox = %+v", m)
	}
	if m.Actions != DefaultActions() {
		t.Errorf("example actions = %+v, want the defaults %+v", m.Actions, DefaultActions())
	}
	if time.Duration(c.Policy.SoftWindow) != 30*24*time.Hour {
		t.Errorf("soft_window = %v", time.Duration(c.Policy.SoftWindow))
	}
	if !c.Archive.Enabled || c.Archive.RetentionDays != 90 {
		t.Errorf("archive = %+v", c.Archive)
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`
[[mailbox]]
name = "m"
host = "127.0.0.1"
tls = "none"
username = "u"
password_env = "X"
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mailboxes[0]
	if c.DB != "bounced.db" || m.Port != 143 || m.Schedule != DefaultSchedule || m.MaxMessage != DefaultMaxMessage ||
		time.Duration(m.Timeout) != DefaultTimeout || m.Auth != "login" || m.Actions != DefaultActions() {
		t.Errorf("defaults not applied: db %q %+v", c.DB, m)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	_, err := Parse([]byte(`
db = "x.db"
colour = "blue"
[policy.reasons]
userunknown = "nuke"
nosuchreason = "score"
[[mailbox]]
name = "primary"
host = "imap.example.com"
tls = "none"
username = "u"
password = "hunter2"
password_env = "A"
password_file = "/b"
schedule = "61 * * * *"
batch = -1
verify = "sometimes"
verify_secret_env = "not a name"
verify_max_age = "1h"
[mailbox.actions]
bounce = "explode"
unverified = "shred"
complaint = "move:"
[[mailbox]]
name = "primary"
host = ""
username = "u"
password_env = "A"
[[mailbox]]
host = "imap.example.com"
username = "u"
password_env = "A"
[mailbox.actions]
colour = "move:Red"
`))
	if err == nil {
		t.Fatal("Parse accepted a bad config")
	}
	want := []string{
		`colour: unknown key`,
		`mailbox "primary": password: inline secrets are not allowed`,
		`mailbox 3: actions.colour: unknown key`,
		`policy.reasons.userunknown: bad action "nuke"`,
		`policy.reasons: unknown reason "nosuchreason"`,
		`mailbox "primary": tls: "none" is only allowed to a loopback address`,
		`mailbox "primary": password: set exactly one of password_env and password_file`,
		`mailbox "primary": schedule: bad cron spec "61 * * * *"`,
		`mailbox "primary": batch: -1`,
		`mailbox "primary": actions.bounce: "explode"`,
		`mailbox "primary": actions.complaint: bad folder`,
		`mailbox "primary": host: missing`,
		`mailbox "primary": name: used twice`,
		`mailbox "primary": verify: "sometimes": want off, record or enforce`,
		`mailbox "primary": verify_secret_env: "not a name"`,
		`mailbox "primary": verify_max_age: 1h0m0s: want at least 1d`,
		`mailbox "primary": actions.unverified: "shred"`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Parse error lacks %q; got:\n%v", w, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("Load(missing) = nil error")
	}
	p := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(p, []byte("db = \n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "bad.toml") {
		t.Errorf("Load(syntax error) = %v, want an error naming the file", err)
	}
	// Every problem is one line that names the file.
	os.WriteFile(p, []byte("colour = 1\n[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\nbatch = -1\nschedule = \"x\"\n"), 0o600)
	_, err := Load(p)
	j, ok := err.(interface{ Unwrap() []error })
	if !ok || len(j.Unwrap()) != 3 {
		t.Fatalf("Load(3 problems) = %v, want 3 joined errors", err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, p+": ") {
			t.Errorf("Load: problem %q does not name the file %s", line, p)
		}
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	os.WriteFile(f, []byte("s3cret\n"), 0o600)
	t.Setenv("BOUNCED_TEST_PW", "fromenv")
	tests := []struct {
		m       Mailbox
		want    string
		wantErr string
	}{
		{Mailbox{Name: "a", Auth: "login", PasswordEnv: "BOUNCED_TEST_PW"}, "fromenv", ""},
		{Mailbox{Name: "b", Auth: "login", PasswordFile: f}, "s3cret", ""},
		{Mailbox{Name: "c", Auth: "login", PasswordEnv: "BOUNCED_TEST_UNSET_XYZ"}, "", "BOUNCED_TEST_UNSET_XYZ is not set"},
		{Mailbox{Name: "d", Auth: "xoauth2", TokenFile: filepath.Join(dir, "none")}, "", "token_file"},
		{Mailbox{Name: "e", Auth: "xoauth2", TokenEnv: "BOUNCED_TEST_PW"}, "fromenv", ""},
	}
	for _, tt := range tests {
		got, err := tt.m.Secret()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Secret(%s) error = %v, want %q", tt.m.Name, err, tt.wantErr)
			}
			// One piece of context per layer: the caller names the mailbox.
			if err != nil && strings.Contains(err.Error(), "mailbox") {
				t.Errorf("Secret(%s) error = %v: names the mailbox, its callers do too", tt.m.Name, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Secret(%s) = %q, %v, want %q", tt.m.Name, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "90s": 90 * time.Second, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xd", "-1d", "-5s", "soon"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = nil error", bad)
		}
	}
}

func TestValidateAction(t *testing.T) {
	for _, ok := range []string{"leave", "flag", "delete", "move:Bounces/Processed"} {
		if err := ValidateAction(ok); err != nil {
			t.Errorf("ValidateAction(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "move:", "move:a*b", "trash", "MOVE:x"} {
		if err := ValidateAction(bad); err == nil {
			t.Errorf("ValidateAction(%q) = nil", bad)
		}
	}
}

// FuzzParse: Parse never panics, and a config it accepts is valid, with
// every mailbox default applied.
func FuzzParse(f *testing.F) {
	f.Add(Example())
	f.Add([]byte("db = \"x.db\"\n[[mailbox]]\nname = \"m\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"u\"\npassword_env = \"X\"\n"))
	f.Add([]byte("[policy]\nsoft_window = \"3d\"\n[policy.reasons]\nmailboxfull = \"suppress\"\n"))
	f.Add([]byte("[[mailbox]]\nname = \"x\"\nschedule = \"61 * * * *\"\n[mailbox.actions]\nbounce = \"move:\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		if c.DB == "" {
			t.Fatal("Parse accepted a config without a database path")
		}
		for _, m := range c.Mailboxes {
			if m.Port == 0 || m.Batch <= 0 || m.Folder == "" || m.Schedule == "" || m.Timeout <= 0 || m.MaxMessage <= 0 {
				t.Fatalf("mailbox %q without its defaults: %+v", m.Name, m)
			}
			if _, err := ParseSchedule(m.Schedule); err != nil {
				t.Fatalf("mailbox %q: accepted schedule %q: %v", m.Name, m.Schedule, err)
			}
		}
	})
}

// TestExampleDocumentsEveryKey: the example config names every key of
// Config (issue 4: it "documents every key").
func TestExampleDocumentsEveryKey(t *testing.T) {
	ex := string(Example())
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := f.Tag.Get("toml")
			if key == "" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			switch {
			case ft.Kind() == reflect.Struct:
				if !strings.Contains(ex, "["+prefix+key+"]") && !strings.Contains(ex, "[["+prefix+key+"]]") {
					t.Errorf("example config has no [%s%s] table", prefix, key)
				}
				walk(ft, prefix+key+".")
			case ft.Kind() == reflect.Map:
				if !strings.Contains(ex, "["+prefix+key+"]") {
					t.Errorf("example config has no [%s%s] table", prefix, key)
				}
			default:
				if !regexp.MustCompile(`\b` + key + ` = `).MatchString(ex) {
					t.Errorf("example config does not document %s%s", prefix, key)
				}
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func TestValidateRejectsSameAccountTwice(t *testing.T) {
	_, err := Parse([]byte(`
[[mailbox]]
name = "a"
host = "imap.example.com"
username = "Bounces@example.com"
password_env = "A"
[[mailbox]]
name = "b"
host = "IMAP.example.com"
username = "bounces@example.com"
password_env = "A"
folder = "inbox"
[[mailbox]]
name = "c"
host = "imap.example.com"
username = "bounces@example.com"
password_env = "A"
folder = "Other"
`))
	want := `mailbox "b": same account as mailbox "a" (bounces@example.com@imap.example.com:993/INBOX)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Parse: %v, want %q", err, want)
	}
	if strings.Contains(err.Error(), `mailbox "c"`) {
		t.Errorf("another folder of the account was refused: %v", err)
	}
}

// TestDefaultsHaveOneSource: the config's defaults are the poller's and
// storage's, so that a default changed in one place changes everywhere.
func TestDefaultsHaveOneSource(t *testing.T) {
	d := poller.DefaultActions()
	for kind, v := range DefaultActions().ByKind() {
		if a, err := poller.ParseAction(v); err != nil || a != d[kind] {
			t.Errorf("DefaultActions %s = %q, poller's is %q", kind, v, d[kind])
		}
	}
	if DefaultActions().Unverified != poller.DefaultUnverified.String() {
		t.Errorf("default unverified action %q, poller's %q", DefaultActions().Unverified, poller.DefaultUnverified)
	}
	for _, a := range PolicyActions() {
		if _, err := storage.ParsePolicyAction(a); err != nil {
			t.Errorf("PolicyActions lists %q, which storage refuses: %v", a, err)
		}
	}
	c, err := Parse([]byte("[[mailbox]]\nname = \"m\"\nhost = \"h\"\nusername = \"u\"\npassword_env = \"P\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mailboxes[0]
	if m.Folder != poller.DefaultFolder || m.Batch != poller.DefaultBatch || m.MaxMessage != poller.DefaultMaxMessageSize ||
		time.Duration(m.Timeout) != poller.DefaultTimeout || m.Schedule != poller.DefaultSchedule {
		t.Errorf("mailbox defaults %+v differ from the poller's", m)
	}
}

func TestListen(t *testing.T) {
	for _, tc := range []struct {
		conf, want string
	}{
		{`listen = "127.0.0.1:9464"`, ""},
		{`listen = "[::1]:9464"`, ""},
		{`listen = "0.0.0.0:9464"`, "is not a loopback address"},
		{`listen = "192.0.2.7:9464"`, "set listen_public = true"},
		{"listen = \"0.0.0.0:9464\"\nlisten_public = true", ""},
		{`listen = "9464"`, "want host:port"},
	} {
		_, err := Parse([]byte(tc.conf))
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want ~%q", tc.conf, err, tc.want)
		}
	}
}

func TestHealth(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Health.Options(); got != storage.DefaultHealth {
		t.Errorf("no [health]: %+v, want the defaults %+v", got, storage.DefaultHealth)
	}
	c, err = Parse([]byte("[health]\nno_bounce = \"0\"\nfailed_runs = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Health.Options(); o.NoBounce != 0 || o.FailedRuns != 3 || o.SpikeMin != storage.DefaultHealth.SpikeMin {
		t.Errorf("[health] no_bounce 0, failed_runs 3: %+v", o)
	}
	_, err = Parse([]byte("[health]\nfailed_runs = -1\nspike_factor = 0.5\n"))
	for _, want := range []string{"health: failed_runs: must not be negative", "health: spike_factor: 0.5: must be at least 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v, want %q", err, want)
		}
	}
}

// TestInlineWebhookSecrets: an inline secret of a [[webhook]] names the
// key it takes instead (webhooks read secrets from the environment only).
func TestInlineWebhookSecrets(t *testing.T) {
	_, err := Parse([]byte("[[webhook]]\nname = \"x\"\nurl = \"https://example.org/hook\"\nsecret = \"abc\"\ntoken = \"t\"\n"))
	for _, want := range []string{"webhook.secret: inline secrets are not allowed: use secret_env", "webhook.token: inline secrets are not allowed: use token_env"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "token_file") {
		t.Errorf("Parse: %v: a webhook has no token_file", err)
	}
}
