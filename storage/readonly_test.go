package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noWAL makes the -wal file of the database at path impossible to create,
// even for root (the tests run as root in CI, where a directory without
// write permission stops nobody): a link to nowhere, which SQLite does not
// follow (O_NOFOLLOW) and does not take for an existing -wal. SQLite then
// fails as it does for a user who may not write the directory.
func noWAL(t *testing.T, path string) {
	t.Helper()
	if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere", "wal"), path+"-wal"); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
}

// TestOpenReadOnlyCannotCreateWAL: a reader who cannot create the -wal
// file reads a database that no process is writing (no -wal) as
// immutable, instead of failing with "attempt to write a readonly
// database (1544)".
func TestOpenReadOnlyCannotCreateWAL(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("gone@example.com")})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	noWAL(t, path)
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only, -wal not creatable) = %v, want the database read as immutable", err)
	}
	defer ro.Close()
	if c, err := ro.Counts(ctx); err != nil || c.Messages != 1 || c.Suppressed != 1 {
		t.Errorf("Counts = %+v, %v; want 1 message, 1 suppressed", c, err)
	}
	if _, err := ro.Record(ctx, []Record{{Source: imapSource(2), Raw: bounceMail(2, "\n"), Verdict: hardBounce("x@example.com")}}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Record on the immutable DB = %v, want ErrReadOnly", err)
	}
}

// TestOpenReadOnlyWALError: while a -wal file exists (a writer has the
// database open), the file alone is not the database: a reader who cannot
// open the -wal and -shm files gets an error naming them and what to do.
func TestOpenReadOnlyWALError(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("gone@example.com")})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A -wal file whose -shm cannot be created or opened.
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(t.TempDir(), "nowhere", "shm"), path+"-shm"); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	_, err := Open(ctx, path, Options{ReadOnly: true})
	if err == nil {
		t.Fatal("Open(read-only, -shm not openable, -wal present) = nil, want an error")
	}
	for _, want := range []string{"read-only", "bounced.db-wal", "bounced.db-shm", filepath.Dir(path), "run as the user"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestOpenReadOnlyNoWriteAccess runs the real case where it can: a user
// other than root who may not write the directory.
func TestOpenReadOnlyNoWriteAccess(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes any directory; TestOpenReadOnlyCannotCreateWAL simulates it")
	}
	ctx := context.Background()
	db, path := openTest(t, Options{})
	mustRecord(t, db, Record{Source: imapSource(1), Raw: bounceMail(1, "\n"), Verdict: hardBounce("gone@example.com")})
	db.Close()
	dir := filepath.Dir(path)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only, directory not writable) = %v", err)
	}
	defer ro.Close()
	if c, err := ro.Counts(ctx); err != nil || c.Messages != 1 {
		t.Errorf("Counts = %+v, %v; want 1 message", c, err)
	}
}
