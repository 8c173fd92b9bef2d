//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/bounced/bounced/poller"
)

// mailboxLock returns a poller lock on the file <db>.<mailbox>.lock, so that
// runs of one mailbox into one database never overlap across processes (a
// `bounced poll` beside a running `bounced run`). The lock is flock(2):
// released by the kernel when the process dies, so a crash leaves no stale
// lock behind.
func mailboxLock(dbPath, mailbox string) func() (func(), error) {
	path := dbPath + "." + mailbox + ".lock"
	return func() (func(), error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening lock file: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w (lock %s)", poller.ErrBusy, path)
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		return func() {
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}, nil
	}
}
