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

// maxArchived bounds what one archived mail or block may expand to when
// read back.
const maxArchived = 64 << 20

// Archive blocks (migration 0003): the mails of a batch are compressed
// together, in blocks of up to blockMax bytes; a mail larger than
// blockMailMax is compressed alone (encoding gzip), so that reading it
// back never means inflating a block for it.
const (
	blockMax     = 4 << 20
	blockMailMax = 256 << 10
)

// compressor gzips mail; one per Record call, since a gzip.Writer holds
// about a megabyte of state.
type compressor struct {
	zw  *gzip.Writer
	buf *bytes.Buffer
}

// start begins a gzip stream of about size bytes.
func (c *compressor) start(size int) error {
	c.buf = new(bytes.Buffer)
	c.buf.Grow(size/3 + 64)
	if c.zw == nil {
		zw, err := gzip.NewWriterLevel(c.buf, gzip.BestSpeed)
		if err != nil {
			return err
		}
		c.zw = zw
		return nil
	}
	c.zw.Reset(c.buf)
	return nil
}

func (c *compressor) write(raw []byte) error {
	_, err := c.zw.Write(raw)
	return err
}

// finish ends the stream and returns it.
func (c *compressor) finish() ([]byte, error) {
	if err := c.zw.Close(); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

func (c *compressor) compress(raw []byte) ([]byte, error) {
	if err := c.start(len(raw)); err != nil {
		return nil, err
	}
	if err := c.write(raw); err != nil {
		return nil, err
	}
	return c.finish()
}

// compressArchive compresses the archived mails of a batch before its
// transaction: into blocks, or alone when large. It sets each prepared
// record's place (block, offset and size, or archive) and returns the
// blocks.
func (db *DB) compressArchive(recs []Record, preps []prepared, zc *compressor) ([][]byte, error) {
	archived := func(r *Record) bool { return db.opts.Archive && r.Raw != nil && r.Skipped == "" }
	left := 0 // bytes still to put in blocks, to size the buffers
	for i := range recs {
		if archived(&recs[i]) && len(recs[i].Raw) <= blockMailMax {
			left += len(recs[i].Raw)
		}
	}
	var blocks [][]byte
	open := false
	var size int64 // of the open block
	closeBlock := func() error {
		if !open {
			return nil
		}
		b, err := zc.finish()
		if err != nil {
			return err
		}
		blocks = append(blocks, b)
		open, size = false, 0
		return nil
	}
	for i := range recs {
		r, p := &recs[i], &preps[i]
		p.block = -1
		if !archived(r) {
			continue
		}
		if len(r.Raw) > blockMailMax {
			if err := closeBlock(); err != nil { // the writer is needed alone
				return nil, err
			}
			b, err := zc.compress(r.Raw)
			if err != nil {
				return nil, err
			}
			p.archive = b
			continue
		}
		if open && size+int64(len(r.Raw)) > blockMax {
			if err := closeBlock(); err != nil {
				return nil, err
			}
		}
		if !open {
			if err := zc.start(min(left, blockMax)); err != nil {
				return nil, err
			}
			open = true
		}
		if err := zc.write(r.Raw); err != nil {
			return nil, err
		}
		p.block, p.blockOffset, p.blockSize = len(blocks), size, int64(len(r.Raw))
		size += int64(len(r.Raw))
		left -= len(r.Raw)
	}
	if err := closeBlock(); err != nil {
		return nil, err
	}
	return blocks, nil
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
	return db.raw(ctx, messageID, nil)
}

// blockCache keeps the last archive block read, so that reading the mails
// of a batch one after the other inflates their block once.
type blockCache struct {
	id  int64
	raw []byte
}

func (db *DB) raw(ctx context.Context, messageID int64, cache *blockCache) (raw []byte, ok bool, err error) {
	var encoding string
	var data []byte
	var block sql.NullInt64
	var offset, size int64
	err = db.sql.QueryRowContext(ctx, `SELECT encoding, data, block, block_offset, block_size FROM archive WHERE message_id = ?`,
		messageID).Scan(&encoding, &data, &block, &offset, &size)
	if err == sql.ErrNoRows {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading archive of message %d: %w", messageID, err)
	}
	switch encoding {
	case "gzip":
		raw, err = decompress(data)
	case "block":
		raw, err = db.blockBytes(ctx, block.Int64, offset, size, cache)
	default:
		err = fmt.Errorf("unknown encoding %q", encoding)
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading archive of message %d: %w", messageID, err)
	}
	return raw, true, nil
}

// blockBytes returns a copy of size bytes at offset of an archive block.
func (db *DB) blockBytes(ctx context.Context, id, offset, size int64, cache *blockCache) ([]byte, error) {
	var all []byte
	if cache != nil && cache.id == id && cache.raw != nil {
		all = cache.raw
	} else {
		var data []byte
		var encoding string
		err := db.sql.QueryRowContext(ctx, `SELECT encoding, data FROM archive_blocks WHERE id = ?`, id).Scan(&encoding, &data)
		if err != nil {
			return nil, fmt.Errorf("reading block %d: %w", id, err)
		}
		if encoding != "gzip" {
			return nil, fmt.Errorf("block %d: unknown encoding %q", id, encoding)
		}
		if all, err = decompress(data); err != nil {
			return nil, fmt.Errorf("block %d: %w", id, err)
		}
		if cache != nil {
			cache.id, cache.raw = id, all
		}
	}
	if offset < 0 || size < 0 || offset+size > int64(len(all)) {
		return nil, fmt.Errorf("block %d: %d bytes at %d out of its %d", id, size, offset, len(all))
	}
	return bytes.Clone(all[offset : offset+size]), nil
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
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		// A block is stored with its mails' rows: they are pruned together.
		_, err = tx.ExecContext(ctx, `DELETE FROM archive_blocks WHERE stored_at < ?
			AND NOT EXISTS (SELECT 1 FROM archive a WHERE a.block = archive_blocks.id)`, fmtTime(cut))
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
