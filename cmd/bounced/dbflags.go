package main

import (
	"context"
	"flag"
	"log/slog"
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

// open opens the database of --db/--config as mode needs it (openStore),
// logging warnings to stderr.
func (f *dbFlags) open(ctx context.Context, e *env, mode dbMode, noSync bool) (*storage.DB, func(), configs.Config, error) {
	cfg, err := f.configs()
	if err != nil {
		return nil, nil, cfg, err
	}
	db, release, err := openStore(ctx, cfg, textLogger(e.stderr, slog.LevelWarn), mode, noSync)
	return db, release, cfg, err
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
