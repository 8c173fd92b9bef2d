package main

import (
	"context"
	"fmt"
)

func checkDBCommand() command {
	return command{
		name:    "check-db",
		args:    "[--db PATH] [--config FILE]",
		summary: "check the database file for damage (SQLite integrity_check)",
		help: `Runs SQLite's integrity_check over the whole database (every page, and
every index against its table), read-only, and prints "ok" or what is
damaged, with what to do. Exit 0 when sound, 1 when damaged or unreadable.
'run' and 'poll' run the shorter quick_check before they start and refuse
to move any mail on a damaged database; 'check-config' runs it too.`,
		run: runCheckDB,
	}
}

func runCheckDB(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("check-db")
	dbf := addDBFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(fs, pos); err != nil {
		return err
	}
	db, release, cfg, err := dbf.open(ctx, e, dbRead, false)
	if err != nil {
		return err
	}
	defer release()
	if err := db.QuickCheck(ctx, true); err != nil {
		return fmt.Errorf("check-db %s: %w", cfg.DB, err)
	}
	fmt.Fprintf(e.stdout, "%s: ok (integrity_check)\n", cfg.DB)
	return nil
}
