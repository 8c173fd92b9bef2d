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
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
	"github.com/bounced/bounced/verp"
)

func runCommand() command {
	return command{
		name:    "run",
		args:    "--config FILE [--log text|json]",
		summary: "the daemon: poll every configured mailbox on its schedule",
		help: `Polls every enabled mailbox of the config on its own schedule until SIGTERM
or SIGINT. A mailbox that is due already (never polled, or its last run
older than its schedule) is polled at once at start. On the first signal it
stops taking work, finishes and commits the batch in hand, moves it, logs
out and exits 0; a second signal exits at once. A mailbox that cannot
connect or log in backs off (1m, doubling up to 1h) and never stops the
others. Logs go to stderr: JSON unless stderr is a terminal (--log
overrides).

SIGHUP reloads the config file. A config that does not load or validate
keeps the running one (the log says why). Otherwise unchanged mailboxes go
on as they were; a removed or changed mailbox finishes the run in
progress, then its replacement follows its schedule (runs of one mailbox
never overlap); an added one runs at once when due. A change of db,
[archive] or [policy] opens the database again and replaces every
mailbox. The environment (password_env, verify_secret_env) is the
process's own: changing it needs a restart.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("run")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			logFormat := fs.String("log", "", "log format: text or json (default: text on a terminal, json otherwise)")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if len(pos) > 0 {
				return usagef("run: unexpected argument %q", pos[0])
			}
			// Registered before the config is read: a SIGHUP from then on
			// reloads, never kills (its default action).
			hup := make(chan os.Signal, 1)
			notifyReload(hup)
			defer stopReload(hup)
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			log, err := newLogger(e.stderr, *logFormat, true)
			if err != nil {
				return err
			}
			enabled := 0
			for _, m := range cfg.Mailboxes {
				if !m.Disabled {
					enabled++
				}
			}
			log.Info("bounced starting", "version", version, "mailboxes", enabled, "db", cfg.DB)
			var mods []func(*poller.Options)
			if cfg.Listen != "" {
				stop, mod, err := serveMonitor(cfg, log)
				if err != nil {
					return err
				}
				defer stop()
				mods = append(mods, mod)
			}
			d := newDaemon(*cfgPath, log, mods...)
			if err := d.start(ctx, cfg); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return usagef("run: %w", ue.err)
				}
				return err
			}
			d.serve(ctx, hup)
			log.Info("bounced stopped")
			return nil
		},
	}
}

// overdueMailboxes names the mailboxes whose run is due already: never run,
// last run unfinished (killed), or the schedule's next time after the last
// run has passed while no daemon ran. The daemon runs them at once instead
// of waiting a whole period (a daily schedule could wait a day).
func overdueMailboxes(ctx context.Context, db *storage.DB, cfg configs.Config, now time.Time) (map[string]bool, error) {
	runs, err := db.LastRuns(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the last runs: %w", err)
	}
	last := map[string]storage.Run{}
	for _, r := range runs {
		last[r.Account] = r
	}
	due := map[string]bool{}
	for _, m := range cfg.Mailboxes {
		r, ok := last[m.Name]
		if !ok || r.Ended.IsZero() {
			due[m.Name] = true
			continue
		}
		sched, err := configs.ParseSchedule(m.Schedule)
		if err != nil {
			return nil, usageError{fmt.Errorf("mailbox %q: schedule: %w", m.Name, err)}
		}
		due[m.Name] = !sched.Next(r.Ended).After(now)
	}
	return due, nil
}

// loadConfig loads and validates the config; every problem is a usage
// error (exit 2).
func loadConfig(path string) (configs.Config, error) {
	cfg, err := configs.Load(path)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// newLogger builds the slog handler: JSON when daemon and stderr is not a
// terminal (or when asked), text otherwise.
func newLogger(w io.Writer, format string, daemon bool) (*slog.Logger, error) {
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
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return slog.New(slog.NewTextHandler(w, nil)), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// openDB opens the config's database with its policy and archive settings.
func openDB(ctx context.Context, cfg configs.Config, log *slog.Logger, readOnly bool) (*storage.DB, error) {
	pol, err := storagePolicy(cfg.Policy)
	if err != nil {
		return nil, usageError{err}
	}
	db, err := storage.Open(ctx, cfg.DB, storage.Options{
		Logger:      log,
		Policy:      pol,
		Archive:     cfg.Archive.Enabled,
		ArchiveDays: cfg.Archive.RetentionDays,
		ReadOnly:    readOnly,
	})
	if err != nil {
		return nil, err
	}
	if !readOnly {
		// A writer moves mail once its outcome is stored: on a damaged
		// database it must not start (a run would record into broken
		// tables and then move the mail).
		if err := db.QuickCheck(ctx, false); err != nil {
			db.Close()
			return nil, fmt.Errorf("database %s: %w", cfg.DB, err)
		}
	}
	return db, nil
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
		Secret:         m.Secret,
		Auth:           poller.AuthMode(m.Auth),
		Folder:         m.Folder,
		Batch:          m.Batch,
		MaxMessageSize: m.MaxMessage,
		Timeout:        time.Duration(m.Timeout),
		Schedule:       m.Schedule,
		Actions:        map[classify.Kind]poller.Action{},
	}
	var errs []error
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
