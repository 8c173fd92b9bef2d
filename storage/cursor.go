package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bounced/bounced/classify"
)

// Cursor is where the poller is in one IMAP folder.
type Cursor struct {
	UIDValidity, LastUID uint32
}

// Cursor returns the cursor of (account, folder); the zero Cursor if none.
func (db *DB) Cursor(ctx context.Context, account, folder string) (Cursor, error) {
	var v, last int64
	err := db.sql.QueryRowContext(ctx, `SELECT uidvalidity, last_uid FROM cursors WHERE account = ? AND folder = ?`,
		account, folder).Scan(&v, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("reading cursor of %s/%s: %w", account, folder, err)
	}
	return Cursor{UIDValidity: uint32(v), LastUID: uint32(last)}, nil
}

// ResetCursor is called on a UIDVALIDITY change: it stores the new
// validity with LastUID 0, so the folder is scanned again (the digest
// dedupe of Record keeps the counts right).
func (db *DB) ResetCursor(ctx context.Context, account, folder string, uidValidity uint32) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors(account, folder, uidvalidity, last_uid, updated_at) VALUES (?,?,?,0,?)
			ON CONFLICT(account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = 0, updated_at = excluded.updated_at`,
			account, folder, int64(uidValidity), fmtTime(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("resetting cursor of %s/%s: %w", account, folder, err)
	}
	db.log.Info("reset cursor", "mailbox", account, "folder", folder, "uidvalidity", uidValidity)
	return nil
}

// Pending is a recorded IMAP mail not yet disposed of on the server.
type Pending struct {
	MessageID int64
	UID       uint32
	Kind      classify.Kind
	Skipped   bool
	// Unverified: verify was enforced and the mail proved nothing, so it
	// is disposed as unverified.
	Unverified bool
	// Disposing is the action the poller was about to take when it last
	// wrote one (MarkDisposing): the command may have been sent. Empty
	// when none was written.
	Disposing string
}

// qPending reads the small partial index of mail not yet disposed of; left
// to itself, the planner prefers messages_imap and reads every mail ever
// recorded from the folder.
const qPending = `SELECT id, uid, kind, skipped <> '', disposing_action,
	EXISTS (SELECT 1 FROM verifications v WHERE v.message_id = messages.id AND v.mode = 'enforce' AND v.result = 'unverified')
	FROM messages INDEXED BY messages_pending
	WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid > 0 AND disposed_at IS NULL ORDER BY uid`

// Pending lists, by UID, the recorded mails of that folder and validity
// not yet disposed of (a crash between commit and move).
func (db *DB) Pending(ctx context.Context, account, folder string, uidValidity uint32) ([]Pending, error) {
	ps, err := db.pendingRows(ctx, qPending, account, folder, uidValidity)
	if err != nil {
		return nil, fmt.Errorf("listing pending mail of %s/%s: %w", account, folder, err)
	}
	return ps, nil
}

// qFlagged reads the partial index of mail flagged instead of moved or
// deleted.
const qFlagged = `SELECT id, uid, kind, skipped <> '', '',
	EXISTS (SELECT 1 FROM verifications v WHERE v.message_id = messages.id AND v.mode = 'enforce' AND v.result = 'unverified')
	FROM messages INDEXED BY messages_flagged
	WHERE account = ? AND folder = ? AND uidvalidity = ? AND uid > 0 AND disposed_action GLOB 'flag instead of *' ORDER BY uid`

// Flagged lists, by UID, the recorded mails of that folder and validity
// that were flagged because the server could not move or delete them then
// (their disposal starts "flag instead of "): a later run on a server that
// can does it.
func (db *DB) Flagged(ctx context.Context, account, folder string, uidValidity uint32) ([]Pending, error) {
	ps, err := db.pendingRows(ctx, qFlagged, account, folder, uidValidity)
	if err != nil {
		return nil, fmt.Errorf("listing flagged mail of %s/%s: %w", account, folder, err)
	}
	return ps, nil
}

// pendingRows runs qPending or qFlagged.
func (db *DB) pendingRows(ctx context.Context, q, account, folder string, uidValidity uint32) ([]Pending, error) {
	rows, err := db.sql.QueryContext(ctx, q, account, folder, int64(uidValidity))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ps []Pending
	for rows.Next() {
		var p Pending
		var uid int64
		var kind string
		if err := rows.Scan(&p.MessageID, &uid, &kind, &p.Skipped, &p.Disposing, &p.Unverified); err != nil {
			return nil, err
		}
		p.UID, p.Kind = uint32(uid), classify.Kind(kind)
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// MarkDisposing records, in a transaction of its own, the action the
// poller is about to take on the server with the mails ("move:<folder>",
// "flag", "delete") and when. Written before the command is sent, it says
// where a mail went when the process dies between the command and
// MarkDisposed: Pending returns it.
func (db *DB) MarkDisposing(ctx context.Context, ids []int64, action string, at time.Time) error {
	if err := db.setByID(ctx, `UPDATE messages SET disposing_action = ?, disposing_at = ? WHERE id IN `, ids, action, fmtTime(at)); err != nil {
		return fmt.Errorf("marking %d mails about to be disposed (%s): %w", len(ids), action, err)
	}
	return nil
}

// MarkDisposed records what was done with the mails on the server
// ("move:<folder>", "flag", "delete", "leave") and when.
func (db *DB) MarkDisposed(ctx context.Context, ids []int64, action string, at time.Time) error {
	if err := db.setByID(ctx, `UPDATE messages SET disposed_action = ?, disposed_at = ? WHERE id IN `, ids, action, fmtTime(at)); err != nil {
		return fmt.Errorf("marking %d mails disposed: %w", len(ids), err)
	}
	return nil
}

// setByID runs update (ending in "IN ") with the values set, then the ids
// in lists of 500, in one transaction.
func (db *DB) setByID(ctx context.Context, update string, ids []int64, set ...any) error {
	if len(ids) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		for len(ids) > 0 {
			n := min(len(ids), 500)
			args := make([]any, 0, n+len(set))
			args = append(args, set...)
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, update+`(?`+strings.Repeat(",?", n-1)+`)`, args...); err != nil {
				return err
			}
			ids = ids[n:]
		}
		return nil
	})
}
