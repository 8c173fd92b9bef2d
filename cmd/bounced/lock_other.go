//go:build !unix

package main

// mailboxLock is a no-op where flock(2) is missing: runs of one mailbox
// then never overlap within one process only.
func mailboxLock(dbPath, account string) func() (func(), error) {
	return nil
}
