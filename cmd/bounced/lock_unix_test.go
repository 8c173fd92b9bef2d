//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bounced/bounced/poller"
)

func TestMailboxLock(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "bounced.db")
	if err := os.WriteFile(db, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	acct := "u@imap.example:993/INBOX"
	lock := mailboxLock(db, acct)
	unlock, err := lock()
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if _, err := lock(); !errors.Is(err, poller.ErrBusy) {
		t.Errorf("second lock while held = %v, want ErrBusy", err)
	}
	// The same database by another name: a symlink, a relative path.
	link := filepath.Join(t.TempDir(), "link.db")
	if err := os.Symlink(db, link); err != nil {
		t.Fatal(err)
	}
	if _, err := mailboxLock(link, acct)(); !errors.Is(err, poller.ErrBusy) {
		t.Errorf("lock through a symlink while held = %v, want ErrBusy", err)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(wd, db); err == nil {
		if _, err := mailboxLock(rel, acct)(); !errors.Is(err, poller.ErrBusy) {
			t.Errorf("lock by a relative path while held = %v, want ErrBusy", err)
		}
	}
	other, err := mailboxLock(db, "u@imap.example:993/Other")()
	if err != nil {
		t.Errorf("another account's lock = %v, want it free", err)
	} else {
		other()
	}
	unlock()
	again, err := lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
