package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/webhook"
)

func pollCommand() command {
	return command{
		name:    "poll",
		args:    "--config FILE [--mailbox NAME] [--dry-run] [--webhook-wait DURATION] [--verbose] [--quiet]",
		summary: "one pass over all (or one) mailboxes now, then exit",
		help: `Polls every enabled mailbox (or only --mailbox NAME) once, as the daemon
would, and prints a summary per mailbox. A mailbox that fails is reported
and the others go on; the exit status is then 1.

--dry-run examines the folder read-only (EXAMINE), classifies what is above
the stored cursor and prints, per mail, what a real run would record,
suppress and do with it. It changes nothing: not the server, not the
database (opened read-only; a missing database is treated as empty).

Before it exits, a real poll delivers the webhook events that are due (of
this poll, and any left over) to each [[webhook]], waiting at most
--webhook-wait (default 30s; 0 skips): a receiver that fails stops there,
and what is not delivered waits in the outbox for the next poll or run.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("poll")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			only := fs.String("mailbox", "", "poll only the mailbox `NAME`")
			dry := fs.Bool("dry-run", false, "examine read-only and print what would happen; change nothing")
			verbose := fs.Bool("verbose", false, "log every step to stderr, with the UIDs")
			quiet := fs.Bool("quiet", false, "print errors only: no summary, no warnings")
			hookWait := fs.Duration("webhook-wait", 30*time.Second, "deliver the due webhook events before exiting, waiting at most this `DURATION` (0: leave them in the outbox)")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if err := noArgs(fs, pos); err != nil {
				return err
			}
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			level, err := logLevel("poll", slog.LevelWarn, *verbose, *quiet)
			if err != nil {
				return err
			}
			log := textLogger(e.stderr, level)
			mode := dbWrite
			if *dry {
				mode = dbPreview
			}
			db, release, err := openStore(ctx, cfg, log, mode, false)
			if err != nil {
				return err
			}
			defer release()
			var mods []func(*poller.Options)
			var hooks *webhook.Dispatcher
			if !*dry {
				// Registered before the mail is read: a new target gets
				// the events of this poll.
				if hooks, err = newDispatcher(ctx, cfg, db, log, nil); err != nil {
					return err
				}
				mods = append(mods, outboxMod(log, cfg.Health.Options, func() {}))
			}
			ps, err := buildPollers(cfg, db, log, *only, mods...)
			if err != nil {
				return err
			}
			if len(ps) == 0 {
				return usagef("poll: %s: no enabled mailbox", *cfgPath)
			}
			failed := 0
			for _, p := range ps {
				if ctx.Err() != nil {
					break
				}
				var sum poller.Summary
				if *dry {
					fmt.Fprintf(e.stdout, "%s (dry run):\n", p.Name())
					sum, err = p.DryRun(ctx, func(pl poller.Planned) { printPlanned(e.stdout, pl) })
				} else {
					sum, err = p.PollOnce(ctx)
				}
				if err != nil {
					failed++
					fmt.Fprintf(e.stderr, "bounced: poll: %v\n", err)
					continue
				}
				if !*quiet {
					printSummary(e.stdout, sum, *dry)
				}
			}
			if hooks != nil {
				deliverBeforeExit(ctx, hooks, *hookWait, e, *quiet)
			}
			if failed > 0 {
				return errSilent
			}
			return nil
		},
	}
}

func printPlanned(w io.Writer, pl poller.Planned) {
	kind := string(pl.Verdict.Kind)
	if pl.Skipped != "" {
		kind = "skipped (" + pl.Skipped + ")"
	}
	if pl.Stored {
		kind += " (stored already: counted once)"
	}
	fmt.Fprintf(w, "  uid %-6d %-10s -> %s", pl.UID, kind, pl.Action)
	if len(pl.Suppress) > 0 {
		fmt.Fprintf(w, "; would suppress %s", strings.Join(pl.Suppress, ", "))
	}
	if len(pl.Alerts) > 0 {
		fmt.Fprintf(w, "; would alert: %s", strings.Join(pl.Alerts, "; "))
	}
	if pl.Unverified != "" {
		fmt.Fprintf(w, "; unverified (%s): would change nobody", pl.Unverified)
	}
	fmt.Fprintln(w)
}

func printSummary(w io.Writer, s poller.Summary, dry bool) {
	if dry {
		fmt.Fprintf(w, "%s: would record %d mails (%d skipped, %d stored already), would suppress %d recipients",
			s.Mailbox, s.Fetched-s.Duplicates, s.Skipped, s.Duplicates, s.Suppressed)
	} else {
		fmt.Fprintf(w, "%s: fetched %d, recorded %d, duplicates %d, skipped %d, disposed %d",
			s.Mailbox, s.Fetched, s.Recorded, s.Duplicates, s.Skipped, s.Disposed)
		if s.Pending > 0 {
			fmt.Fprintf(w, " (%d left over from an interrupted run)", s.Pending)
		}
		if s.Redone > 0 {
			fmt.Fprintf(w, " (%d flagged earlier, moved now)", s.Redone)
		}
		if s.Gone > 0 {
			fmt.Fprintf(w, ", gone %d (removed by another client before disposal)", s.Gone)
		}
		if s.Disposal != "" {
			fmt.Fprintf(w, ", disposal by %s", s.Disposal)
		}
		fmt.Fprintf(w, ", suppressed %d", s.Suppressed)
		if s.Unverified > 0 {
			fmt.Fprintf(w, ", unverified %d (changed nobody)", s.Unverified)
		}
	}
	var kinds []string
	for _, k := range classify.Kinds {
		if n := s.ByKind[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(kinds) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(kinds, ", "))
	}
	fmt.Fprintln(w)
	if s.Reset {
		fmt.Fprintf(w, "%s: UIDVALIDITY changed to %d: the folder was scanned again\n", s.Mailbox, s.UIDValidity)
	}
	if s.Stopped {
		fmt.Fprintf(w, "%s: stopped early by a signal; the rest waits for the next run\n", s.Mailbox)
	}
}
