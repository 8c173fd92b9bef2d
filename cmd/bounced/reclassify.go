package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bounced/bounced/classify"
)

func reclassifyCommand() command {
	return command{
		name:    "reclassify",
		args:    "[--db PATH] [--config FILE] [--since DURATION]",
		summary: "re-run the classifier over the archived raw mail and update outcomes and states",
		help: `Runs this bounced's classifier (version ` + classify.Version + `) over the raw mail kept in the
archive (enable [archive] in the config; 'bounced import' and 'bounced run'
fill it), rewrites the outcomes of every mail whose verdict changed, records
the classifier version on each mail, and rebuilds the state of every
recipient concerned under today's policy: an address wrongly suppressed is
made active again (kept in its history), an address missed is suppressed.
Manual states are kept. --since 30d limits it to recent mail.
Each batch of 200 mails is one transaction: an interrupted run can simply
be run again.`,
		run: runReclassify,
	}
}

func runReclassify(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("reclassify")
	dbf := addDBFlags(fs)
	sinceFlag := fs.String("since", "", "only mail of the last `DURATION` (36h, 30d)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	since, err := parseSince("reclassify", *sinceFlag, time.Now())
	if err != nil {
		return err
	}
	db, release, _, err := dbf.open(ctx, e, dbExisting, true)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	st, err := db.Reclassify(ctx, since, classify.Message, classify.Version)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "reclassified %d archived mails with classifier %s in %s: %d changed, %d unchanged, %d not mail\n",
		st.Archived, classify.Version, time.Since(start).Round(time.Millisecond), st.Changed, st.Unchanged, st.Failed)
	if st.NotArchived > 0 {
		fmt.Fprintf(e.stdout, "%d mails in range have no archived copy (archive off, pruned, or skipped as too large)\n", st.NotArchived)
	}
	for _, a := range st.Suppressed {
		fmt.Fprintf(e.stdout, "suppressed   %s\n", a)
	}
	for _, a := range st.Unsuppressed {
		fmt.Fprintf(e.stdout, "unsuppressed %s\n", a)
	}
	return nil
}
