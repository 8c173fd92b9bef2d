// Package storage: interim copy of the poller-facing types announced for the
// storage branch, so the poller compiles before storage lands. Deleted when
// branch storage is merged.
package storage

import (
	"time"

	"github.com/bounced/bounced/classify"
)

type Source struct {
	Account     string
	Folder      string
	UIDValidity uint32
	UID         uint32
	Path        string
	Index       int
}

type Record struct {
	Source     Source
	Raw        []byte
	Size       int64
	Digest     string
	Verdict    classify.Verdict
	Skipped    string
	ReceivedAt time.Time
}

type Result struct {
	MessageID  int64
	Duplicate  bool
	Kind       classify.Kind
	Suppressed []string
}

type Cursor struct {
	UIDValidity uint32
	LastUID     uint32
}

type Pending struct {
	MessageID int64
	UID       uint32
	Kind      classify.Kind
	Skipped   string
}

type RunStats struct {
	Fetched, Recorded, Duplicates, Skipped, Disposed, Errors int
	ByKind                                                   map[classify.Kind]int
	Err                                                      string
}

type Run struct {
	ID      int64
	Account string
	Started time.Time
	Ended   time.Time
	Stats   RunStats
}
