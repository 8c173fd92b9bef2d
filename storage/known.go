package storage

import (
	"context"
	"fmt"
)

// Known reports whether Record would take this mail for a duplicate: a
// mail already stored from the same source (account, folder, UIDVALIDITY
// and UID, or file and mbox position), or the same bytes once line ends are
// normalised (raw nil: the source only). It writes nothing, and works on a
// read-only DB: a dry run asks it before Preview, so that a mail stored
// already is neither counted as one to record nor previewed again.
func (db *DB) Known(ctx context.Context, src Source, raw []byte) (bool, error) {
	if k, ok := keyOf(src); ok {
		q, args := qBySourceFile, []any{k.path, k.idx}
		if src.IMAP() {
			q, args = qBySourceIMAP, []any{k.account, k.folder, int64(k.validity), int64(k.uid)}
		}
		found, err := db.exists(ctx, q, args...)
		if err != nil || found {
			return found, wrapKnown(src, err)
		}
	}
	if raw == nil {
		return false, nil
	}
	found, err := db.exists(ctx, qByDigest, Digest(raw))
	return found, wrapKnown(src, err)
}

func (db *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

func wrapKnown(src Source, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("looking up %s: %w", src, err)
}
