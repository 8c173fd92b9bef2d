package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/poller"
	"github.com/bounced/bounced/storage"
)

func statusCommand() command {
	return command{
		name:    "status",
		args:    "--config FILE [--offline] [--format text|json]",
		summary: "last run per mailbox, next run due, backlog",
		help: `Prints, per configured mailbox: its last run (when, how long, what it did,
its error), when the schedule is next due, and the backlog: the mails in
the folder, and how many of them are above the stored cursor, i.e. not
processed yet (asked from the server with STATUS and a read-only EXAMINE).
--offline skips the server. The database is opened read-only; before the
first run (no database yet) every mailbox shows "never" and its whole folder
as backlog.

A monitoring check as it is: the exit status is 1 when a mailbox's last run
failed, its next run is more than a minute overdue (is 'bounced run'
running?), or its backlog cannot be read; 0 when every enabled mailbox is
fine.

With [[webhook]] targets (or undelivered events in the outbox) it prints
what waits per target: pending events, the next attempt, the last error,
and the dead-lettered ones, which are a problem (exit 1) until 'bounced
webhooks retry' re-queues them.

--format json prints the same as one object: {"ok", "mailboxes": [one
object per mailbox, with "ok" and "problems"], "webhooks": {"targets":
[...], "ok", "problems"}}.`,
		run: func(ctx context.Context, e *env, args []string) error {
			fs := newFlagSet("status")
			cfgPath := fs.String("config", "bounced.toml", "config `FILE`")
			offline := fs.Bool("offline", false, "do not connect to the servers (no backlog)")
			format := fs.String("format", "text", "output format: text or json")
			pos, err := parseFlags(fs, args)
			if err != nil {
				return err
			}
			if err := noArgs(fs, pos); err != nil {
				return err
			}
			if err := oneOf(fs, "format", *format, "text", "json"); err != nil {
				return err
			}
			out := e.stdout
			if *format == "json" {
				out = io.Discard
			}
			var report []mailboxStatus
			cfg, err := loadConfig(*cfgPath)
			if err != nil {
				return err
			}
			log := textLogger(e.stderr, slog.LevelWarn)
			// Before the first run there is no database: every mailbox has
			// never run and its whole folder is backlog.
			db, release, err := openStore(ctx, cfg, log, dbPreview, false)
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
			hopts := cfg.Health.Options()
			failed := false
			for _, m := range cfg.Mailboxes {
				if m.Disabled {
					fmt.Fprintf(out, "%s: disabled\n", m.Name)
					report = append(report, mailboxStatus{Mailbox: m.Name, Disabled: true, OK: true, Problems: []string{}})
				}
			}
			for _, p := range ps {
				ms := mailboxStatus{Mailbox: p.Name(), Problems: []string{}}
				fmt.Fprintf(out, "%s:\n", p.Name())
				r, ok := last[p.Name()]
				if !ok {
					fmt.Fprintf(out, "  last run:  never\n")
				} else {
					printRun(out, r)
					run := r
					ms.LastRun = &run
					if r.Stats.Err != "" && !r.Ended.IsZero() {
						ms.Problems = append(ms.Problems, "last run failed: "+r.Stats.Err)
					}
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
				ms.NextDue = next.UTC()
				// A minute of grace: a run due just now may be starting.
				if now.Sub(next) > time.Minute {
					ms.Overdue = true
					ms.Problems = append(ms.Problems, "overdue since "+next.UTC().Format(time.DateTime)+" UTC")
				}
				fmt.Fprintf(out, "  next due:  %s\n", due)
				if h, err := db.MailboxHealth(ctx, p.Name(), now, hopts); err != nil {
					ms.Problems = append(ms.Problems, "health unknown: "+err.Error())
					fmt.Fprintf(out, "  health:    unknown: %v\n", err)
				} else {
					ms.Health = &h
					printHealth(out, h)
					// A failed last run and its error are said above already.
					for _, pr := range h.Problems {
						switch {
						case pr.Check != storage.CheckFailedRuns:
							ms.Problems = append(ms.Problems, pr.Message)
						case h.FailedRuns > 1:
							ms.Problems = append(ms.Problems, fmt.Sprintf("%d failed runs in a row", h.FailedRuns))
						}
					}
				}
				if !*offline {
					b, err := p.Backlog(ctx)
					if err != nil {
						ms.Problems = append(ms.Problems, "backlog unknown: "+err.Error())
						fmt.Fprintf(out, "  backlog:   unknown: %v\n", err)
					} else {
						ms.Backlog = &b
						fmt.Fprintf(out, "  backlog:   %d not processed yet, %d mails in the folder (uidvalidity %d)\n",
							b.Unprocessed, b.Messages, b.UIDValidity)
						if b.Reset {
							fmt.Fprintf(out, "             UIDVALIDITY changed since the last run: the next run rescans the folder\n")
						}
					}
				}
				ms.OK = len(ms.Problems) == 0
				if !ms.OK {
					failed = true
					fmt.Fprintf(out, "  status:    PROBLEM: %s\n", strings.Join(ms.Problems, "; "))
				}
				report = append(report, ms)
			}
			hooks, err := webhookStatus(ctx, db, cfg, out)
			if err != nil {
				return err
			}
			if hooks != nil && !hooks.OK {
				failed = true
			}
			if *format == "json" {
				st := statusReport{OK: !failed, Mailboxes: report, Webhooks: webhooksStatus{Targets: []storage.OutboxQueue{}, OK: true, Problems: []string{}}}
				if st.Mailboxes == nil {
					st.Mailboxes = []mailboxStatus{}
				}
				if hooks != nil {
					st.Webhooks = *hooks
				}
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			}
			if failed {
				return errSilent
			}
			return nil
		},
	}
}

// statusReport is `status --format json`: one object, so that a consumer
// reads each part by its name (`jq '.mailboxes[]'`). OK is the exit
// status: every mailbox and the webhooks are fine. Webhooks is there
// without [[webhook]] targets too, with no targets.
type statusReport struct {
	OK        bool            `json:"ok"`
	Mailboxes []mailboxStatus `json:"mailboxes"`
	Webhooks  webhooksStatus  `json:"webhooks"`
}

// mailboxStatus is one mailbox in `status --format json`.
type mailboxStatus struct {
	Mailbox  string          `json:"mailbox"`
	Disabled bool            `json:"disabled,omitempty"`
	OK       bool            `json:"ok"`
	Problems []string        `json:"problems"`
	LastRun  *storage.Run    `json:"last_run,omitempty"`
	NextDue  time.Time       `json:"next_due,omitzero"`
	Overdue  bool            `json:"overdue"`
	Backlog  *poller.Backlog `json:"backlog,omitempty"`
	Health   *storage.Health `json:"health,omitempty"`
}

// printHealth writes the facts of h that the usual tools never tell, and
// its problems.
func printHealth(w io.Writer, h storage.Health) {
	last := "none yet"
	if !h.LastBounce.IsZero() {
		last = h.LastBounce.UTC().Format(time.DateTime) + " UTC"
	}
	fmt.Fprintf(w, "  health:    last bounce %s; sender-side rejections %d in the last window (%.1f per window before)\n",
		last, h.SenderSideTotal(), h.SenderBefore)
	for _, p := range h.Problems {
		fmt.Fprintf(w, "             %s: %s\n", p.Check, p.Message)
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
	if st.Backlog > 0 {
		fmt.Fprintf(w, "             listed %d new mails, left %d for the next run (batch and run limits)\n", st.Listed, st.Backlog)
	}
}
