//go:build unix

package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/bounced/bounced/poller"
)

func TestMailboxLock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bounced.db")
	lock := mailboxLock(db, "primary")
	unlock, err := lock()
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	if _, err := lock(); !errors.Is(err, poller.ErrBusy) {
		t.Errorf("second lock while held = %v, want ErrBusy", err)
	}
	other, err := mailboxLock(db, "secondary")()
	if err != nil {
		t.Errorf("another mailbox's lock = %v, want it free", err)
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
