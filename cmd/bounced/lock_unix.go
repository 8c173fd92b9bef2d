//go:build unix

package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/bounced/bounced/poller"
)

// mailboxLock returns a poller lock, so that runs of one account into one
// database never overlap across processes (a `bounced poll` beside a
// running `bounced run`, two [[mailbox]] entries for the same account, a
// symlink to the same database). It is keyed on what is real: the
// database file's real path and identity (device and inode, when it
// exists) and the account (lockKey). The lock is flock(2) on a file
// beside the real database: released by the kernel when the process dies,
// so a crash leaves no stale lock behind.
func mailboxLock(dbPath, account string) func() (func(), error) {
	return func() (func(), error) {
		path, err := lockPath(dbPath, account)
		if err != nil {
			return nil, err
		}
		return flock(path)
	}
}

// lockPath is the lock file of an account in the real database: in the
// database's real directory, named by the database's identity and a hash
// of the account.
func lockPath(dbPath, account string) (string, error) {
	real, err := filepath.Abs(dbPath)
	if err != nil {
		return "", fmt.Errorf("locking: %w", err)
	}
	if r, err := filepath.EvalSymlinks(real); err == nil {
		real = r
	} else if d, derr := filepath.EvalSymlinks(filepath.Dir(real)); derr == nil {
		real = filepath.Join(d, filepath.Base(real)) // not created yet
	}
	id := filepath.Base(real)
	var st syscall.Stat_t
	if err := syscall.Stat(real, &st); err == nil {
		id = fmt.Sprintf("%x-%x", uint64(st.Dev), uint64(st.Ino))
	}
	sum := sha256.Sum256([]byte(account))
	return filepath.Join(filepath.Dir(real), fmt.Sprintf(".%s.%s.%x.lock", filepath.Base(real), id, sum[:8])), nil
}

func flock(path string) (func(), error) {
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
