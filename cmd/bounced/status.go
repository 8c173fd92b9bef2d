package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/storage"
)

func statusCommand() command {
	return command{
		name:    "status",
		args:    "--config FILE [--offline]",
		summary: "last run per mailbox, next run due, backlog",
		help: `Prints, per configured mailbox: its last run (when, how long, what it did,
its error), when the schedule is next due, and the backlog: the mails in
the folder, and how many of them are above the stored cursor, i.e. not
processed yet (asked from the server with STATUS and a read-only EXAMINE).
--offline skips the server. The database is opened read-only; before the
first run (no database yet) every mailbox shows "never" and its whole folder
as backlog.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("status")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			offline := fs.Bool("offline", false, "do not connect to the servers (no backlog)")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if len(pos) > 0 {
				return usagef("status: unexpected argument %q", pos[0])
			}
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			// Before the first run there is no database: every mailbox has
			// never run and its whole folder is backlog.
			db, release, err := openPreviewDB(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer release()
			runs, err := db.LastRuns(ctx)
			if err != nil {
				return err
			}
			last := map[string]storage.Run{}
			for _, r := range runs {
				last[r.Account] = r
			}
			ps, err := buildPollers(cfg, db, log, "")
			if err != nil {
				return err
			}
			now := time.Now()
			failed := false
			for _, m := range cfg.Mailboxes {
				if m.Disabled {
					fmt.Fprintf(e.stdout, "%s: disabled\n", m.Name)
				}
			}
			for _, p := range ps {
				fmt.Fprintf(e.stdout, "%s:\n", p.Name())
				r, ok := last[p.Name()]
				if !ok {
					fmt.Fprintf(e.stdout, "  last run:  never\n")
				} else {
					printRun(e.stdout, r)
				}
				from := now
				if ok && !r.Ended.IsZero() {
					from = r.Ended
				}
				next := p.Next(from)
				due := next.UTC().Format(time.DateTime) + " UTC"
				if next.Before(now) {
					due += " (overdue: is 'bounced run' running?)"
				}
				fmt.Fprintf(e.stdout, "  next due:  %s\n", due)
				if *offline {
					continue
				}
				b, err := p.Backlog(ctx)
				if err != nil {
					failed = true
					fmt.Fprintf(e.stdout, "  backlog:   unknown: %v\n", err)
					continue
				}
				fmt.Fprintf(e.stdout, "  backlog:   %d not processed yet, %d mails in the folder (uidvalidity %d)\n",
					b.Unprocessed, b.Messages, b.UIDValidity)
				if b.Reset {
					fmt.Fprintf(e.stdout, "             UIDVALIDITY changed since the last run: the next run rescans the folder\n")
				}
			}
			if failed {
				return errSilent
			}
			return nil
		},
	}
}

func printRun(w io.Writer, r storage.Run) {
	st := r.Stats
	when := r.Started.UTC().Format(time.DateTime) + " UTC"
	if r.Ended.IsZero() {
		fmt.Fprintf(w, "  last run:  #%d started %s, not finished (running, or killed)\n", r.ID, when)
		return
	}
	outcome := "ok"
	if st.Err != "" {
		outcome = "FAILED: " + st.Err
	}
	fmt.Fprintf(w, "  last run:  #%d %s, took %s, %s\n", r.ID, when, r.Ended.Sub(r.Started).Round(time.Millisecond), outcome)
	var kinds []string
	for _, k := range classify.Kinds {
		if n := st.ByKind[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
	}
	fmt.Fprintf(w, "             fetched %d, recorded %d, duplicates %d, skipped %d, disposed %d, errors %d",
		st.Fetched, st.Recorded, st.Duplicates, st.Skipped, st.Disposed, st.Errors)
	if len(kinds) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(kinds, ", "))
	}
	fmt.Fprintln(w)
}
