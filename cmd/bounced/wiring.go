package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/oauth"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/verp"
)

// The wiring several commands share: the config, the logger, the one
// database opener and the mapping of the config onto poller.Options.

// loadConfig loads and validates the config; every problem is a usage
// error (exit 2).
func loadConfig(path string) (configs.Config, error) {
	cfg, err := configs.Load(path)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// newLogger builds the slog handler at level: JSON when daemon and w is
// not a terminal (or when asked), text otherwise.
func newLogger(w io.Writer, format string, daemon bool, level slog.Level) (*slog.Logger, error) {
	switch format {
	case "":
		if daemon && !isTerminal(w) {
			format = "json"
		} else {
			format = "text"
		}
	case "text", "json":
	default:
		return nil, usagef("--log %q: want text or json", format)
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// textLogger is the log of a one-shot command: text on w, from level up.
func textLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// logLevel maps --verbose and --quiet onto a level above or below def;
// both at once is a usage error.
func logLevel(cmd string, def slog.Level, verbose, quiet bool) (slog.Level, error) {
	switch {
	case verbose && quiet:
		return def, usagef("%s: --verbose and --quiet exclude each other", cmd)
	case verbose:
		return slog.LevelDebug, nil
	case quiet:
		return max(def, slog.LevelWarn) + 4, nil // warnings go too: errors only
	}
	return def, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// dbMode is what a command needs of its database.
type dbMode int

const (
	// dbRead is an existing database, read only (report, suppressions).
	dbRead dbMode = iota
	// dbWrite is created when missing (run, poll, import).
	dbWrite
	// dbExisting is an existing database the command changes (reclassify,
	// unsuppress): a missing one is an error, not a new empty file.
	dbExisting
	// dbPreview is read only; where none exists yet an empty one in a
	// temporary directory stands in, so a dry run or status before the
	// first run still works (the policy still decides).
	dbPreview
)

// openStore is the one way a command opens its database: cfg's path with
// its policy and archive settings, as mode needs it. A writer refuses a
// damaged database (it would record into broken tables and then move the
// mail). noSync is for commands that can simply be run again (import,
// reclassify): no fsync per commit. release closes the database and
// removes a stand-in.
func openStore(ctx context.Context, cfg configs.Config, log *slog.Logger, mode dbMode, noSync bool) (db *storage.DB, release func(), err error) {
	_, statErr := os.Stat(cfg.DB)
	if errors.Is(statErr, os.ErrNotExist) {
		switch mode {
		case dbRead, dbExisting:
			return nil, nil, fmt.Errorf("database %s does not exist (fill it with 'bounced import' or 'bounced run')", cfg.DB)
		case dbPreview:
			dir, err := os.MkdirTemp("", "bounced-preview-")
			if err != nil {
				return nil, nil, err
			}
			stand := cfg
			stand.DB = filepath.Join(dir, "empty.db")
			db, release, err := openStore(ctx, stand, log, dbWrite, true)
			if err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			return db, func() { release(); os.RemoveAll(dir) }, nil
		}
	}
	pol, err := storagePolicy(cfg.Policy)
	if err != nil {
		return nil, nil, usageError{err}
	}
	readOnly := mode == dbRead || mode == dbPreview
	db, err = storage.Open(ctx, cfg.DB, storage.Options{
		Logger:      log,
		Policy:      pol,
		Archive:     cfg.Archive.Enabled,
		ArchiveDays: cfg.Archive.RetentionDays,
		ReadOnly:    readOnly,
		NoSync:      noSync,
	})
	if err != nil {
		return nil, nil, err
	}
	if !readOnly {
		if err := db.QuickCheck(ctx, false); err != nil {
			db.Close()
			return nil, nil, fmt.Errorf("database %s: %w", cfg.DB, err)
		}
	}
	return db, func() { db.Close() }, nil
}

// storagePolicy maps the config's policy onto storage's.
func storagePolicy(p configs.Policy) (storage.Policy, error) {
	sp := storage.Policy{
		SoftThreshold: p.SoftThreshold,
		SoftWindow:    time.Duration(p.SoftWindow),
		SoftHalfLife:  time.Duration(p.SoftHalfLife),
		QuietReset:    time.Duration(p.QuietReset),

		MaxSuppressPerMail: p.MaxSuppressPerMail,
	}
	var errs []error
	if len(p.Reasons) > 0 {
		sp.Reasons = map[classify.Reason]storage.PolicyAction{}
		for r, a := range p.Reasons {
			pa, err := storage.ParsePolicyAction(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("policy.reasons.%s: %w", r, err))
			}
			sp.Reasons[classify.Reason(r)] = pa
		}
	}
	if len(p.Complaints) > 0 {
		sp.Complaints = map[string]storage.PolicyAction{}
		for t, a := range p.Complaints {
			pa, err := storage.ParsePolicyAction(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("policy.complaints.%s: %w", t, err))
			}
			sp.Complaints[t] = pa
		}
	}
	return sp, errors.Join(errs...)
}

// buildPollers maps every enabled mailbox (or only the one named) onto a
// poller.
func buildPollers(cfg configs.Config, store poller.Store, log *slog.Logger, only string, mods ...func(*poller.Options)) ([]*poller.Poller, error) {
	if only != "" {
		if _, ok := cfg.Mailbox(only); !ok {
			return nil, usagef("no mailbox %q in the config", only)
		}
	}
	var ps []*poller.Poller
	var errs []error
	for _, m := range cfg.Mailboxes {
		if only != "" && m.Name != only || only == "" && m.Disabled {
			continue
		}
		o, err := pollerOptions(m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		o.Store, o.Logger = store, log
		if store != nil && cfg.DB != "" {
			o.Lock = mailboxLock(cfg.DB, m.Account())
		}
		for _, mod := range mods {
			mod(&o)
		}
		p, err := poller.New(o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps = append(ps, p)
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return ps, nil
}

// verifier builds the mailbox's bounce verifier (nil with verify off),
// reading its secrets from the environment now.
func verifier(m configs.Mailbox) (*storage.Verifier, error) {
	mode, err := storage.ParseVerifyMode(m.Verify)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if mode == storage.VerifyOff {
		return nil, nil
	}
	secrets, err := m.VerifySecrets()
	if err != nil {
		return nil, err
	}
	keys, err := verp.New(secrets...)
	if err != nil {
		return nil, fmt.Errorf("verify_secret_env %s: %w", m.VerifySecretEnv, err)
	}
	return &storage.Verifier{Mode: mode, Keys: keys, MaxAge: time.Duration(m.VerifyMaxAge)}, nil
}

// pollerOptions maps one mailbox of the config onto poller.Options (the
// poller never sees the config).
func pollerOptions(m configs.Mailbox) (poller.Options, error) {
	o := poller.Options{
		Name:           m.Name,
		Host:           m.Host,
		Port:           m.Port,
		TLS:            poller.TLSMode(m.TLS),
		Username:       m.Username,
		Auth:           poller.AuthMode(m.Auth),
		Folder:         m.Folder,
		Batch:          m.Batch,
		MaxMessageSize: m.MaxMessage,
		Timeout:        time.Duration(m.Timeout),
		Schedule:       m.Schedule,
		Actions:        map[classify.Kind]poller.Action{},
	}
	var errs []error
	if secret, rejected, err := secretSource(m); err != nil {
		errs = append(errs, fmt.Errorf("mailbox %q: %w", m.Name, err))
	} else {
		o.Secret, o.Rejected = secret, rejected
	}
	if a, err := poller.ParseAction(m.Actions.Unverified); err != nil {
		errs = append(errs, fmt.Errorf("mailbox %q: actions.unverified: %w", m.Name, err))
	} else {
		o.Unverified = a
	}
	if vf, err := verifier(m); err != nil {
		errs = append(errs, fmt.Errorf("mailbox %q: %w", m.Name, err))
	} else {
		o.Verifier = vf
	}
	for kind, v := range m.Actions.ByKind() {
		if v == "" {
			continue
		}
		a, err := poller.ParseAction(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("mailbox %q: actions.%s: %w", m.Name, kind, err))
			continue
		}
		o.Actions[kind] = a
	}
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("mailbox %q: ca_file: %w", m.Name, err))
		} else {
			// The extra CA is trusted besides the system roots.
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				errs = append(errs, fmt.Errorf("mailbox %q: ca_file %s: no PEM certificate", m.Name, m.CAFile))
			}
			o.TLSConfig = &tls.Config{RootCAs: pool}
		}
	}
	return o, errors.Join(errs...)
}

// tokenSource is an OAuth 2.0 access token source of package oauth.
type tokenSource interface {
	Token(ctx context.Context) (string, error)
	Forget()
}

// secretSource returns what the poller calls for the secret at every login
// and when the server rejects it: the password or token from the
// environment or a file, a token command, or the refresh-token flow of
// [mailbox.oauth2]. A token source's failure is a failed login
// (poller.ErrAuth: backoff, never a tight loop).
func secretSource(m configs.Mailbox) (secret func() (string, error), rejected func(), err error) {
	var src tokenSource
	switch {
	case len(m.TokenCommand) > 0:
		src = oauth.NewCommand(m.TokenCommand)
	case m.OAuth2.Enabled():
		r, err := oauthRefresh(m)
		if err != nil {
			return nil, nil, err
		}
		src = r
	default:
		return m.Secret, nil, nil
	}
	secret = func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		tok, err := src.Token(ctx)
		if err != nil {
			return "", fmt.Errorf("%w: %w", poller.ErrAuth, err)
		}
		return tok, nil
	}
	return secret, src.Forget, nil
}

// oauthRefresh builds the refresh-token flow of a mailbox's
// [mailbox.oauth2], with its provider's endpoints and scopes where the
// config leaves them out.
func oauthRefresh(m configs.Mailbox) (*oauth.Refresh, error) {
	o := m.OAuth2
	if !o.Enabled() {
		return nil, usagef("mailbox %q has no [mailbox.oauth2]", m.Name)
	}
	c := oauth.RefreshConfig{ClientID: o.ClientID, TokenURL: o.TokenURL, DeviceURL: o.DeviceURL, Scopes: o.Scopes,
		RefreshTokenFile: o.RefreshTokenFile}
	if o.Provider != "" {
		p, ok := oauth.Preset(o.Provider, o.Tenant)
		if !ok {
			return nil, fmt.Errorf("oauth2.provider: %q: unknown", o.Provider)
		}
		if c.TokenURL == "" {
			c.TokenURL = p.TokenURL
		}
		if c.DeviceURL == "" {
			c.DeviceURL = p.DeviceURL
		}
		if len(c.Scopes) == 0 {
			c.Scopes = p.Scopes
		}
	}
	secret, err := o.ClientSecret()
	if err != nil {
		return nil, err
	}
	c.ClientSecret = secret
	return oauth.NewRefresh(c), nil
}
