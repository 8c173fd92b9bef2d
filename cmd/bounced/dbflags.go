package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/bounced/bounced/configs"
	"github.com/bounced/bounced/storage"
)

// dbFlags are the --db and --config flags of the commands that read or
// fill the database: --db wins over the config's db; without either the
// database is bounced.db and the policy the default one.
type dbFlags struct {
	fs      *flag.FlagSet
	db      *string
	config  *string
	archive *bool // set by commands that offer --archive
}

func addDBFlags(fs *flag.FlagSet) *dbFlags {
	return &dbFlags{
		fs:     fs,
		db:     fs.String("db", "", "database `PATH` (default: the config's db, else bounced.db)"),
		config: fs.String("config", "", "config `FILE`: database path, policy and archive settings"),
	}
}

// config returns the config given by --config (the default one without),
// with --db applied.
func (f *dbFlags) configs() (configs.Config, error) {
	cfg := configs.Default()
	if *f.config != "" {
		var err error
		if cfg, err = loadConfig(*f.config); err != nil {
			return cfg, err
		}
	}
	f.fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "db" {
			cfg.DB = *f.db
		}
	})
	if f.archive != nil && *f.archive {
		cfg.Archive.Enabled = true
	}
	return cfg, nil
}

// open opens the database for a command. A read-only command refuses a
// database that does not exist rather than creating an empty one. noSync
// is for idempotent commands that can simply be run again (import,
// reclassify): no fsync per commit.
func (f *dbFlags) open(ctx context.Context, e *env, readOnly, noSync bool) (*storage.DB, configs.Config, error) {
	cfg, err := f.configs()
	if err != nil {
		return nil, cfg, err
	}
	if readOnly {
		if err := mustExist(cfg.DB); err != nil {
			return nil, cfg, err
		}
	}
	pol, err := storagePolicy(cfg.Policy)
	if err != nil {
		return nil, cfg, usageError{err}
	}
	db, err := storage.Open(ctx, cfg.DB, storage.Options{
		Logger:      slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Policy:      pol,
		Archive:     cfg.Archive.Enabled,
		ArchiveDays: cfg.Archive.RetentionDays,
		ReadOnly:    readOnly,
		NoSync:      noSync,
	})
	return db, cfg, err
}

// openExisting is open for a command that writes but works only on what
// is already stored (reclassify): it refuses a missing database rather
// than creating an empty one.
func (f *dbFlags) openExisting(ctx context.Context, e *env, noSync bool) (*storage.DB, configs.Config, error) {
	cfg, err := f.configs()
	if err != nil {
		return nil, cfg, err
	}
	if err := mustExist(cfg.DB); err != nil {
		return nil, cfg, err
	}
	return f.open(ctx, e, false, noSync)
}

func mustExist(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("database %s does not exist (fill it with 'bounced import' or 'bounced run')", path)
	}
	return nil
}

// parseSince reads --since: a Go duration or a number of days ("30d"),
// counted back from now; "" is everything.
func parseSince(cmd, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := configs.ParseDuration(s)
	if err != nil {
		return time.Time{}, usagef("%s: --since: %v (want e.g. 36h or 30d)", cmd, err)
	}
	return now.Add(-d), nil
}
