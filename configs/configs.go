// Package configs reads bounced's TOML configuration: the database, the
// archive, the suppression policy and one [[mailbox]] table per bounce
// mailbox. Decoding is strict (an unknown key is an error) and Validate
// reports every problem at once, each naming its field.
//
// It does not connect anywhere and holds no secret: Secret reads a password
// or token from the environment or a file only when asked.
package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/verp"
)

//go:embed bounced.example.toml
var example []byte

// Example returns the documented example config (every key, with comments).
func Example() []byte { return append([]byte(nil), example...) }

// Config is the whole configuration file.
type Config struct {
	DB string `toml:"db"`
	// Listen, for `bounced run`: an address to serve /metrics, /healthz
	// and /readyz on ("127.0.0.1:9464"; "" serves nothing). Only a
	// loopback address unless ListenPublic is set.
	Listen       string    `toml:"listen"`
	ListenPublic bool      `toml:"listen_public"`
	Archive      Archive   `toml:"archive"`
	Policy       Policy    `toml:"policy"`
	Health       Health    `toml:"health"`
	Web          Web       `toml:"web"` // who may see the web report (web.go)
	Mailboxes    []Mailbox `toml:"mailbox"`
	Webhooks     []Webhook `toml:"webhook"` // receivers of the outbox's events (webhooks.go)
}

// Archive keeps the raw mail (compressed) so that `bounced reclassify` can
// run a newer classifier over history.
type Archive struct {
	Enabled       bool `toml:"enabled"`
	RetentionDays int  `toml:"retention_days"` // 0 keeps forever
}

// Policy overrides the suppression policy's defaults. Empty fields keep
// the defaults of storage.DefaultPolicy.
type Policy struct {
	SoftThreshold float64  `toml:"soft_threshold"`
	SoftWindow    Duration `toml:"soft_window"`
	SoftHalfLife  Duration `toml:"soft_half_life"`
	QuietReset    Duration `toml:"quiet_reset"`
	// MaxSuppressPerMail: one mail suppresses or scores at most this many
	// addresses (default 50); the rest are stored as capped.
	MaxSuppressPerMail int `toml:"max_suppress_per_mail"`
	// Reasons maps a reason (userunknown, mailboxfull, ...) to an action:
	// suppress, score, alert or ignore.
	Reasons map[string]string `toml:"reasons"`
	// Complaints maps an ARF feedback type (abuse, fraud, ...) to an action.
	Complaints map[string]string `toml:"complaints"`
}

// Health sets the thresholds of the mailbox health checks shown by
// `status`, /readyz and the metrics. Omitted keys keep the defaults of
// storage.DefaultHealth; 0 turns a check off.
type Health struct {
	// FailedRuns: this many failed runs in a row is a problem.
	FailedRuns int `toml:"failed_runs"`
	// NoBounce: no bounce at all for this long (a broken Return-Path).
	NoBounce Duration `toml:"no_bounce"`
	// SpikeWindow, SpikeMin, SpikeFactor: at least SpikeMin sender-side
	// alerts in the last SpikeWindow, and SpikeFactor times the mean of
	// the windows before, is a spike.
	SpikeWindow Duration `toml:"spike_window"`
	SpikeMin    int      `toml:"spike_min"`
	SpikeFactor float64  `toml:"spike_factor"`
}

// Options returns the thresholds as storage takes them.
func (h Health) Options() storage.HealthOptions {
	return storage.HealthOptions{FailedRuns: h.FailedRuns, NoBounce: time.Duration(h.NoBounce),
		SpikeWindow: time.Duration(h.SpikeWindow), SpikeMin: h.SpikeMin, SpikeFactor: h.SpikeFactor}
}

func (h Health) validate() []error {
	var errs []error
	if h.FailedRuns < 0 {
		errs = append(errs, errors.New("health: failed_runs: must not be negative (0 turns the check off)"))
	}
	if h.SpikeMin < 0 {
		errs = append(errs, errors.New("health: spike_min: must not be negative"))
	}
	if h.SpikeWindow > 0 && h.SpikeFactor < 1 {
		errs = append(errs, fmt.Errorf("health: spike_factor: %g: must be at least 1 (how many times the usual count is a spike)", h.SpikeFactor))
	}
	return errs
}

// OAuth2 is a mailbox's own OAuth 2.0 client: bounced keeps a refresh token
// in RefreshTokenFile (put there by `bounced auth MAILBOX`, the device
// flow) and gets access tokens with it.
type OAuth2 struct {
	// Provider names preset endpoints and IMAP scopes: "google" or
	// "microsoft" (with Tenant, default "common"); "" needs TokenURL.
	Provider         string   `toml:"provider"`
	Tenant           string   `toml:"tenant"`
	ClientID         string   `toml:"client_id"`
	ClientSecretEnv  string   `toml:"client_secret_env"`
	TokenURL         string   `toml:"token_url"`
	DeviceURL        string   `toml:"device_url"`
	Scopes           []string `toml:"scopes"`
	RefreshTokenFile string   `toml:"refresh_token_file"`
}

// Enabled reports whether the refresh-token flow is configured.
func (o OAuth2) Enabled() bool {
	return o.ClientID != "" || o.Provider != "" || o.RefreshTokenFile != ""
}

// ClientSecret reads the client secret from the environment ("" when
// client_secret_env is unset: a public client).
func (o OAuth2) ClientSecret() (string, error) {
	if o.ClientSecretEnv == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(o.ClientSecretEnv)
	if !ok || v == "" {
		return "", fmt.Errorf("oauth2.client_secret_env: environment variable %s is not set", o.ClientSecretEnv)
	}
	return v, nil
}

func (o OAuth2) validate() []string {
	var out []string
	switch o.Provider {
	case "", "google", "microsoft":
	default:
		out = append(out, fmt.Sprintf("oauth2.provider: %q: want google, microsoft or none (then token_url)", o.Provider))
	}
	if o.Tenant != "" && o.Provider != "microsoft" {
		out = append(out, "oauth2.tenant: only with provider = \"microsoft\"")
	}
	if o.ClientID == "" {
		out = append(out, "oauth2.client_id: missing")
	}
	if o.Provider == "" && o.TokenURL == "" {
		out = append(out, "oauth2.token_url: missing (or set provider)")
	}
	for _, u := range []struct{ key, v string }{{"token_url", o.TokenURL}, {"device_url", o.DeviceURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "https://") && !strings.HasPrefix(u.v, "http://127.0.0.1") && !strings.HasPrefix(u.v, "http://localhost") {
			out = append(out, fmt.Sprintf("oauth2.%s: %q: want an https:// URL (http only to a loopback address)", u.key, u.v))
		}
	}
	if o.RefreshTokenFile == "" {
		out = append(out, "oauth2.refresh_token_file: missing (where `bounced auth` keeps the refresh token)")
	}
	return out
}

// PolicyActions returns the values allowed in [policy.reasons] and
// [policy.complaints].
func PolicyActions() []string {
	return []string{string(storage.ActionSuppress), string(storage.ActionScore), string(storage.ActionAlert), string(storage.ActionIgnore)}
}

// Mailbox is one bounce mailbox to poll.
type Mailbox struct {
	Name         string `toml:"name"`
	Host         string `toml:"host"`
	Port         int    `toml:"port"`
	TLS          string `toml:"tls"` // implicit | starttls | none
	CAFile       string `toml:"ca_file"`
	Auth         string `toml:"auth"` // login | xoauth2 | oauthbearer
	Username     string `toml:"username"`
	PasswordEnv  string `toml:"password_env"`
	PasswordFile string `toml:"password_file"`
	TokenEnv     string `toml:"token_env"`  // xoauth2/oauthbearer: an OAuth2 access token
	TokenFile    string `toml:"token_file"` // xoauth2/oauthbearer: re-read before every login
	// TokenCommand is run (no shell) for an access token: its output is
	// the token, or JSON with access_token and expires_in.
	TokenCommand []string `toml:"token_command"`
	// OAuth2 is bounced's own refresh-token flow.
	OAuth2     OAuth2   `toml:"oauth2"`
	Folder     string   `toml:"folder"`
	Schedule   string   `toml:"schedule"`
	Batch      int      `toml:"batch"`
	MaxMessage int64    `toml:"max_message_bytes"`
	Timeout    Duration `toml:"timeout"`
	Disabled   bool     `toml:"disabled"`
	Actions    Actions  `toml:"actions"`

	// Verify: must a bounce prove (by a signed VERP token, docs/verp.md)
	// that it answers mail that was sent? off | record | enforce.
	Verify          string   `toml:"verify"`
	VerifySecretEnv string   `toml:"verify_secret_env"` // default BOUNCED_VERP_SECRET
	VerifyMaxAge    Duration `toml:"verify_max_age"`    // default 45d
}

// Actions says what to do with a processed mail, per kind: "move:<folder>",
// "flag" (\Seen and $BouncedProcessed), "delete" (only after the outcome is
// committed) or "leave".
type Actions struct {
	Bounce    string `toml:"bounce"`
	Delay     string `toml:"delay"`
	Complaint string `toml:"complaint"`
	Report    string `toml:"report"`
	Autoreply string `toml:"autoreply"`
	Delivered string `toml:"delivered"`
	Unknown   string `toml:"unknown"`
	NotBounce string `toml:"notbounce"`
	// Unverified is for mail held as unverified (verify = "enforce"),
	// whatever its kind.
	Unverified string `toml:"unverified"`
}

// ByKind returns the action for every kind.
func (a Actions) ByKind() map[classify.Kind]string {
	return map[classify.Kind]string{
		classify.KindBounce:    a.Bounce,
		classify.KindDelay:     a.Delay,
		classify.KindComplaint: a.Complaint,
		classify.KindReport:    a.Report,
		classify.KindAutoreply: a.Autoreply,
		classify.KindDelivered: a.Delivered,
		classify.KindUnknown:   a.Unknown,
		classify.KindNotBounce: a.NotBounce,
	}
}

// DefaultActions are the actions of a mailbox that sets none: the
// poller's defaults (poller.DefaultActions, poller.DefaultUnverified), in
// the config's form.
func DefaultActions() Actions {
	d := poller.DefaultActions()
	return Actions{
		Bounce:    d[classify.KindBounce].String(),
		Delay:     d[classify.KindDelay].String(),
		Complaint: d[classify.KindComplaint].String(),
		Report:    d[classify.KindReport].String(),
		Autoreply: d[classify.KindAutoreply].String(),
		Delivered: d[classify.KindDelivered].String(),
		Unknown:   d[classify.KindUnknown].String(),
		NotBounce: d[classify.KindNotBounce].String(),

		Unverified: poller.DefaultUnverified.String(),
	}
}

// Defaults of a mailbox's optional keys.
const (
	DefaultFolder     = poller.DefaultFolder
	DefaultSchedule   = poller.DefaultSchedule
	DefaultBatch      = poller.DefaultBatch
	DefaultMaxMessage = poller.DefaultMaxMessageSize
	DefaultTimeout    = poller.DefaultTimeout

	DefaultVerify          = "off"
	DefaultVerifySecretEnv = "BOUNCED_VERP_SECRET"
	DefaultVerifyMaxAge    = 45 * 24 * time.Hour
)

// Default is the configuration used when no file is given.
func Default() Config {
	d := storage.DefaultHealth
	return Config{DB: "bounced.db", Health: Health{FailedRuns: d.FailedRuns, NoBounce: Duration(d.NoBounce),
		SpikeWindow: Duration(d.SpikeWindow), SpikeMin: d.SpikeMin, SpikeFactor: d.SpikeFactor}}
}

// Duration is a time.Duration written as "90s", "15m", "36h" or "30d".
type Duration time.Duration

// UnmarshalText reads a Go duration, or a whole number of days ("30d").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration in Go syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ParseDuration reads a Go duration or a number of days ("30d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return v, nil
}

// Load reads, decodes, defaults and validates the file at path. Every
// problem is reported at once.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		// Each problem names the file, not only the first line of them.
		var errs []error
		for _, e := range flatten(err) {
			errs = append(errs, fmt.Errorf("%s: %w", path, e))
		}
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// flatten lists the problems inside joined errors, one per element.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// Parse decodes, defaults and validates a config.
func Parse(data []byte) (Config, error) {
	c := Default()
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return Config{}, err
	}
	var errs []error
	var raw struct {
		Mailbox []map[string]any `toml:"mailbox"`
	}
	if len(md.Undecoded()) > 0 {
		// Only to name the mailbox of an unknown key: TOML keys of an
		// array of tables carry no index.
		toml.Decode(string(data), &raw)
	}
	for _, k := range md.Undecoded() {
		for _, key := range undecodedKeys(k, raw.Mailbox) {
			if last := k[len(k)-1]; last == "password" || last == "token" || last == "secret" {
				use := last + "_env or " + last + "_file"
				if k[0] == "webhook" {
					use = last + "_env" // a [[webhook]] reads its secrets from the environment only
				}
				errs = append(errs, fmt.Errorf("%s: inline secrets are not allowed: use %s", key, use))
				continue
			}
			errs = append(errs, fmt.Errorf("%s: unknown key", key))
		}
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// undecodedKeys names an unknown key the way Validate names fields: inside
// a [[mailbox]], as `mailbox "NAME": key` for every mailbox that has it.
func undecodedKeys(k toml.Key, mailboxes []map[string]any) []string {
	if len(k) < 2 || k[0] != "mailbox" {
		return []string{k.String()}
	}
	var out []string
	for i, m := range mailboxes {
		var v any = m
		for _, part := range k[1:] {
			t, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = t[part]
		}
		if v == nil {
			continue
		}
		label := fmt.Sprintf("mailbox %d", i+1)
		if name, ok := m["name"].(string); ok && name != "" {
			label = fmt.Sprintf("mailbox %q", name)
		}
		out = append(out, label+": "+strings.Join(k[1:], "."))
	}
	if len(out) == 0 {
		return []string{k.String()}
	}
	return out
}

func (c *Config) applyDefaults() {
	if c.DB == "" {
		c.DB = Default().DB
	}
	def := DefaultActions()
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		if m.TLS == "" {
			m.TLS = "implicit"
		}
		if m.Port == 0 {
			if m.TLS == "implicit" {
				m.Port = 993
			} else {
				m.Port = 143
			}
		}
		if m.Auth == "" {
			m.Auth = "login"
		}
		if m.Folder == "" {
			m.Folder = DefaultFolder
		}
		if m.Schedule == "" {
			m.Schedule = DefaultSchedule
		}
		if m.Batch == 0 {
			m.Batch = DefaultBatch
		}
		if m.MaxMessage == 0 {
			m.MaxMessage = DefaultMaxMessage
		}
		if m.Timeout == 0 {
			m.Timeout = Duration(DefaultTimeout)
		}
		if m.Verify == "" {
			m.Verify = DefaultVerify
		}
		if m.VerifySecretEnv == "" {
			m.VerifySecretEnv = DefaultVerifySecretEnv
		}
		if m.VerifyMaxAge == 0 {
			m.VerifyMaxAge = Duration(DefaultVerifyMaxAge)
		}
		a := &m.Actions
		for _, p := range []struct {
			v *string
			d string
		}{
			{&a.Bounce, def.Bounce}, {&a.Delay, def.Delay}, {&a.Complaint, def.Complaint},
			{&a.Report, def.Report}, {&a.Autoreply, def.Autoreply}, {&a.Delivered, def.Delivered},
			{&a.Unknown, def.Unknown}, {&a.NotBounce, def.NotBounce}, {&a.Unverified, def.Unverified},
		} {
			if *p.v == "" {
				*p.v = p.d
			}
		}
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate returns every problem of the config at once, joined, each naming
// its field.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Listen != "" {
		host, port, err := net.SplitHostPort(c.Listen)
		switch {
		case err != nil || port == "":
			add("listen: %q: want host:port, e.g. 127.0.0.1:9464", c.Listen)
		case !c.ListenPublic && !poller.IsLoopback(host):
			add("listen: %q is not a loopback address: the metrics and health pages would be public; set listen_public = true to allow it", c.Listen)
		}
	}
	if c.Archive.RetentionDays < 0 {
		add("archive: retention_days: must not be negative")
	}
	errs = append(errs, c.Policy.validate()...)
	errs = append(errs, c.Health.validate()...)
	errs = append(errs, validateWebhooks(c.Webhooks)...)
	errs = append(errs, c.Web.validate()...)
	seen := map[string]bool{}
	accounts := map[string]string{} // Account() -> the first mailbox's label
	for i, m := range c.Mailboxes {
		label := fmt.Sprintf("mailbox %d", i+1)
		if m.Name != "" {
			label = fmt.Sprintf("mailbox %q", m.Name)
		}
		for _, e := range m.validate() {
			add("%s: %w", label, e)
		}
		if m.Name != "" {
			if seen[m.Name] {
				add("%s: name: used twice", label)
			}
			seen[m.Name] = true
		}
		// Two entries polling one account would MOVE the same UIDs.
		if m.Host != "" && m.Username != "" {
			if first, dup := accounts[m.Account()]; dup {
				add("%s: same account as %s (%s): one [[mailbox]] per account and folder", label, first, m.Account())
			} else {
				accounts[m.Account()] = label
			}
		}
	}
	return errors.Join(errs...)
}

func (p Policy) validate() []error {
	var errs []error
	if p.SoftThreshold < 0 {
		errs = append(errs, errors.New("policy: soft_threshold: must not be negative"))
	}
	if p.MaxSuppressPerMail < 0 {
		errs = append(errs, errors.New("policy: max_suppress_per_mail: must not be negative (0 is the default, 50)"))
	}
	for _, r := range sortedKeys(p.Reasons) {
		if !classify.Reason(r).Known() {
			errs = append(errs, fmt.Errorf("policy.reasons: unknown reason %q", r))
		}
		if !validPolicyAction(p.Reasons[r]) {
			errs = append(errs, fmt.Errorf("policy.reasons.%s: bad action %q (want one of %s)", r, p.Reasons[r], strings.Join(PolicyActions(), ", ")))
		}
	}
	for _, t := range sortedKeys(p.Complaints) {
		if !validPolicyAction(p.Complaints[t]) {
			errs = append(errs, fmt.Errorf("policy.complaints.%s: bad action %q (want one of %s)", t, p.Complaints[t], strings.Join(PolicyActions(), ", ")))
		}
	}
	return errs
}

func validPolicyAction(s string) bool {
	for _, a := range PolicyActions() {
		if s == a {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// scheduleParser accepts standard 5-field specs and the @every/@hourly forms.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a mailbox schedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	return scheduleParser.Parse(spec)
}

func (m Mailbox) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if m.Name == "" {
		add("name: missing")
	} else if !nameRE.MatchString(m.Name) {
		add("name: %q: use letters, digits, '.', '_' and '-' (at most 64)", m.Name)
	}
	if m.Host == "" {
		add("host: missing")
	}
	if m.Port < 1 || m.Port > 65535 {
		add("port: %d out of range", m.Port)
	}
	switch m.TLS {
	case "implicit", "starttls":
	case "none":
		if m.Host != "" && !poller.IsLoopback(m.Host) {
			add("tls: \"none\" is only allowed to a loopback address, not %q", m.Host)
		}
	default:
		add("tls: %q: want implicit, starttls or none", m.TLS)
	}
	if m.CAFile != "" {
		if _, err := os.Stat(m.CAFile); err != nil {
			add("ca_file: %v", err)
		}
	}
	if m.Username == "" {
		add("username: missing")
	}
	sources := 0
	for _, set := range []bool{m.TokenEnv != "", m.TokenFile != "", len(m.TokenCommand) > 0, m.OAuth2.Enabled()} {
		if set {
			sources++
		}
	}
	switch m.Auth {
	case "login":
		if (m.PasswordEnv == "") == (m.PasswordFile == "") {
			add("password: set exactly one of password_env and password_file")
		}
		if sources > 0 {
			add("token_env/token_file/token_command/oauth2: only with auth = \"xoauth2\" or \"oauthbearer\"")
		}
	case "xoauth2", "oauthbearer":
		if sources != 1 {
			add("token: set exactly one of token_env, token_file, token_command and [mailbox.oauth2]")
		}
		if len(m.TokenCommand) > 0 && strings.TrimSpace(m.TokenCommand[0]) == "" {
			add("token_command: the first element is the program to run")
		}
		if m.OAuth2.Enabled() {
			for _, p := range m.OAuth2.validate() {
				add("%s", p)
			}
		}
		if m.PasswordEnv != "" || m.PasswordFile != "" {
			add("password_env/password_file: not used with auth = %q", m.Auth)
		}
	default:
		add("auth: %q: want login, xoauth2 or oauthbearer", m.Auth)
	}
	if m.Folder == "" {
		add("folder: missing")
	}
	if _, err := ParseSchedule(m.Schedule); err != nil {
		add("schedule: bad cron spec %q: %v", m.Schedule, err)
	}
	if m.Batch < 1 || m.Batch > 10000 {
		add("batch: %d: want 1 to 10000", m.Batch)
	}
	if m.MaxMessage < 1024 {
		add("max_message_bytes: %d: want at least 1024", m.MaxMessage)
	}
	if m.Timeout < Duration(time.Second) {
		add("timeout: %s: want at least 1s", time.Duration(m.Timeout))
	}
	for _, kind := range classify.Kinds {
		v := m.Actions.ByKind()[kind]
		if err := ValidateAction(v); err != nil {
			add("actions.%s: %v", kind, err)
		}
	}
	if err := ValidateAction(m.Actions.Unverified); err != nil {
		add("actions.unverified: %v", err)
	}
	switch m.Verify {
	case "off", "record", "enforce":
	default:
		add("verify: %q: want off, record or enforce", m.Verify)
	}
	if !envNameRE.MatchString(m.VerifySecretEnv) {
		add("verify_secret_env: %q is not an environment variable name", m.VerifySecretEnv)
	}
	if m.VerifyMaxAge < Duration(24*time.Hour) {
		add("verify_max_age: %s: want at least 1d", time.Duration(m.VerifyMaxAge))
	}
	return errs
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// VerifySecrets returns the secrets of verify_secret_env, read now: one,
// or several separated by commas or spaces (the first signs, all verify:
// a rotation). Nil when verify is off.
func (m Mailbox) VerifySecrets() ([][]byte, error) {
	if m.Verify == "off" || m.Verify == "" {
		return nil, nil
	}
	env := m.VerifySecretEnv
	if env == "" {
		env = DefaultVerifySecretEnv
	}
	v, ok := os.LookupEnv(env)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("verify_secret_env: environment variable %s is not set (verify = %q needs the VERP secret)", env, m.Verify)
	}
	return verp.ParseSecrets(v)
}

// ValidateAction checks one action value.
func ValidateAction(v string) error {
	switch {
	case v == "leave", v == "flag", v == "delete":
		return nil
	case strings.HasPrefix(v, "move:"):
		f := strings.TrimPrefix(v, "move:")
		if strings.TrimSpace(f) == "" || strings.ContainsAny(f, "*%\r\n\"") {
			return fmt.Errorf("bad folder in %q", v)
		}
		return nil
	}
	return fmt.Errorf("%q: want move:<folder>, flag, delete or leave", v)
}

// Secret returns the mailbox's password (auth login) or OAuth2 access token
// (token_env or token_file), read from the environment or a file now, so that a
// rotated secret is picked up at the next login. A trailing newline of a
// file is dropped. Errors name the key, not the mailbox: the caller adds
// that context.
func (m Mailbox) Secret() (string, error) {
	env, file := m.PasswordEnv, m.PasswordFile
	what := "password"
	if m.Auth != "login" {
		env, file, what = m.TokenEnv, m.TokenFile, "token"
	}
	if env != "" {
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", what, env)
		}
		return v, nil
	}
	if file == "" {
		return "", fmt.Errorf("no %s configured", what)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_file: %w", what, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s_file %s is empty", what, file)
	}
	return v, nil
}

// Account names what a mailbox polls, whatever its name in the config:
// user@host:port/folder, with the host and user in lower case (INBOX is
// case-insensitive, RFC 3501 §5.1). Runs are locked per account.
func (m Mailbox) Account() string {
	folder := m.Folder
	if folder == "" || strings.EqualFold(folder, "INBOX") {
		folder = "INBOX"
	}
	return fmt.Sprintf("%s@%s:%d/%s", strings.ToLower(m.Username), strings.ToLower(strings.TrimSuffix(m.Host, ".")), m.Port, folder)
}

// Mailbox returns the mailbox with that name.
func (c Config) Mailbox(name string) (Mailbox, bool) {
	for _, m := range c.Mailboxes {
		if m.Name == name {
			return m, true
		}
	}
	return Mailbox{}, false
}
