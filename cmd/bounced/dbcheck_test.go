package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bounced/bounced/storage"
)

// TestDatabaseFiles: an empty file, a missing directory and a damaged
// database each get an error in words; a new database is owner-only
// whatever the umask.
func TestDatabaseFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{empty, "the file is empty"},
		{filepath.Join(dir, "nope", "b.db"), "does not exist: create it"},
	} {
		_, errOut, code := runCmd(t, "", "import", "--db", tc.path, "-")
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("import --db %s: exit %d, stderr %q; want ~%q", tc.path, code, errOut, tc.want)
		}
		if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
			t.Errorf("the empty file was changed: %v %v", fi, err)
		}
	}

	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(dir, "b.db")
	db, err := storage.Open(context.Background(), path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v, want owner-only", p, fi.Mode().Perm())
		}
	}

	out, errOut, code := runCmd(t, "", "check-db", "--db", path)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check-db on a sound database: exit %d, %q %q", code, out, errOut)
	}
	// Damage a b-tree page of the messages table: overwrite page 3 on.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xff\x00junk", 512))
	for page := int64(2); page < 12; page++ {
		f.WriteAt(junk, page*4096)
	}
	f.Close()
	_, errOut, code = runCmd(t, "", "check-db", "--db", path)
	if code != 1 || !strings.Contains(errOut, "damaged") {
		t.Errorf("check-db on a damaged database: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = runCmd(t, "", "import", "--db", path, "-")
	if code == 0 || !strings.Contains(errOut, "damaged") && !strings.Contains(errOut, "malformed") {
		t.Errorf("import on a damaged database: exit %d, stderr %q", code, errOut)
	}
}
