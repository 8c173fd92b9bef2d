package storage

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"
)

// maxArchived bounds what one archived mail may expand to when read back.
const maxArchived = 64 << 20

// compressor gzips mail; one per Record call, since a gzip.Writer holds
// about a megabyte of state.
type compressor struct{ zw *gzip.Writer }

func (c *compressor) compress(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(raw)/3 + 64)
	if c.zw == nil {
		zw, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		c.zw = zw
	} else {
		c.zw.Reset(&b)
	}
	zw := c.zw
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decompress(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxArchived+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxArchived {
		return nil, fmt.Errorf("archived mail larger than %d bytes", maxArchived)
	}
	return raw, nil
}

// Raw returns the archived raw mail of a message, or ok false when it is
// not archived (archive off, pruned, or a skipped mail).
func (db *DB) Raw(ctx context.Context, messageID int64) (raw []byte, ok bool, err error) {
	var data []byte
	err = db.sql.QueryRowContext(ctx, `SELECT data FROM archive WHERE message_id = ?`, messageID).Scan(&data)
	if err == sql.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading archive of message %d: %w", messageID, err)
	}
	raw, err = decompress(data)
	if err != nil {
		return nil, false, fmt.Errorf("reading archive of message %d: %w", messageID, err)
	}
	return raw, true, nil
}

// PruneArchive deletes archived mail older than Options.ArchiveDays (none
// when it is 0) and returns how many it deleted. Outcomes stay.
func (db *DB) PruneArchive(ctx context.Context) (int64, error) {
	if db.opts.ArchiveDays <= 0 {
		return 0, nil
	}
	cut := db.now().Add(-time.Duration(db.opts.ArchiveDays) * 24 * time.Hour)
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM archive WHERE stored_at < ?`, fmtTime(cut))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pruning archive: %w", err)
	}
	if n > 0 {
		db.log.Info("pruned archive", "count", n, "days", db.opts.ArchiveDays)
	}
	return n, nil
}
