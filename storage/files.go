package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// precheck says in words what would make SQLite fail with "unable to open
// database file" or silently start over: a missing directory, an empty
// file (a truncated database would be taken as a new one, and its history
// lost without a word), and -wal/-shm files or a directory this process
// may not write.
func precheck(path string, readOnly bool) error {
	return CheckFiles(path, readOnly)
}

// CheckFiles is the check Open makes before it opens path (for check-config:
// what a run will need: create, write, lock).
func CheckFiles(path string, readOnly bool) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist: create it (mkdir -p %s) or point db elsewhere", dir, dir)
	case err != nil:
		return fmt.Errorf("checking directory %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !readOnly && !writable(dir) {
			return fmt.Errorf("cannot create the database in %s: %s (run as the user that owns it, or let this user write there)", dir, why(dir))
		}
		return nil // a new database
	case err != nil:
		return fmt.Errorf("checking the database file: %w", err)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory, not a database file", path)
	case fi.Size() == 0:
		return fmt.Errorf("the file is empty (0 bytes): it is no database, and bounced does not start a new one over it; " +
			"restore it from a backup, or delete it to start with an empty history")
	}
	if readOnly {
		return nil
	}
	if !writable(path) {
		return fmt.Errorf("the database file is not writable by this user: %s", why(path))
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + side); err == nil && !writable(path+side) {
			return fmt.Errorf("%s%s is not writable by this user: %s (left over from a process of another user? "+
				"run as that user, or remove it once no bounced runs)", filepath.Base(path), side, why(path+side))
		}
	}
	if !writable(dir) {
		return fmt.Errorf("SQLite must create %s-wal and %s-shm in %s, which this user may not write: %s",
			filepath.Base(path), filepath.Base(path), dir, why(dir))
	}
	return nil
}

// writable reports whether this process may write path (access(2) W_OK).
func writable(path string) bool { return syscall.Access(path, 0x2) == nil }

// why is access(2)'s reason for refusing to write path ("read-only file
// system", "permission denied").
func why(path string) string {
	if err := syscall.Access(path, 0x2); err != nil {
		return err.Error()
	}
	return "not writable"
}

// ownerOnly makes the database and the files SQLite keeps beside it mode
// 0600 (the directory's other files are left alone).
func ownerOnly(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			os.Chmod(p, fi.Mode().Perm()&0o700)
		}
	}
}

// QuickCheck runs SQLite's quick_check (full: integrity_check, which also
// compares every index with its table) and returns nil when the database is
// sound, or an error listing what is damaged and what to do.
func (db *DB) QuickCheck(ctx context.Context, full bool) error {
	q := `PRAGMA quick_check(20)`
	if full {
		q = `PRAGMA integrity_check(20)`
	}
	rows, err := db.sql.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("%w: checking the database: %v", ErrCorrupt, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("%w: checking the database: %v", ErrCorrupt, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: checking the database: %v", ErrCorrupt, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// ErrCorrupt is wrapped by a failed integrity check.
var ErrCorrupt = errors.New("storage: the database is damaged (no mail was moved): stop bounced, keep a copy of the file, " +
	"then restore the last backup or salvage it with `sqlite3 bounced.db .recover | sqlite3 new.db`")

// corrupt adds ErrCorrupt (and what to do) to SQLite's "database disk image
// is malformed" and "file is not a database".
func corrupt(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	if m := err.Error(); strings.Contains(m, "malformed") || strings.Contains(m, "not a database") {
		return fmt.Errorf("%w (%v)", ErrCorrupt, err)
	}
	return err
}

// create makes a new database at path atomically: it is built and migrated
// under a name of its own, then linked into place, so that a kill while it
// is created never leaves an empty or half-made file at path (which Open
// refuses: an empty file may be a truncated history). When another process
// created path meanwhile, that one is kept.
func create(ctx context.Context, path string, opts Options) error {
	tmp := fmt.Sprintf("%s.new-%d", path, os.Getpid())
	clean := func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"} {
			os.Remove(p)
		}
	}
	clean() // a left-over of an earlier process with this pid
	defer clean()
	db, err := open(ctx, tmp, opts, false)
	if err != nil {
		return err
	}
	ownerOnly(tmp)
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil { // checkpoints the WAL into the file
		return err
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
