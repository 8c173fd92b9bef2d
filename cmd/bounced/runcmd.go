package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/poller"
)

func runCommand() command {
	return command{
		name:    "run",
		args:    "--config FILE [--log text|json] [--verbose] [--quiet]",
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
process's own: changing it needs a restart.

With [[webhook]] targets it delivers the outbox continuously: every event
(suppression, complaint, sender-side alert, mailbox health change) at least
once, retried while a receiver fails (docs/webhooks.md); a reload that
changes a [[webhook]] restarts the delivery with the new targets.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("run")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			logFormat := fs.String("log", "", "log format: text or json (default: text on a terminal, json otherwise)")
			verbose := fs.Bool("verbose", false, "log every step of every run, with the UIDs")
			quiet := fs.Bool("quiet", false, "log errors only (no per-run lines, no warnings)")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if err := noArgs(fs, pos); err != nil {
				return err
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
			level, err := logLevel("run", slog.LevelInfo, *verbose, *quiet)
			if err != nil {
				return err
			}
			log, err := newLogger(e.stderr, *logFormat, true, level)
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
			// The outbox's store wrapper first, on the database itself.
			hooks := newWebhookRunner(log, nil, nil)
			mods := []func(*poller.Options){hooks.mod}
			var applied func(configs.Config)
			if cfg.Listen != "" {
				stop, mod, a, mon, err := serveMonitor(cfg, log)
				if err != nil {
					return err
				}
				defer stop()
				mods, applied = append(mods, mod), a
				hooks.obs, hooks.keep = mon, mon.KeepWebhooks
			}
			d := newDaemon(*cfgPath, log, mods...)
			d.applied = applied
			d.webhooks = hooks
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
