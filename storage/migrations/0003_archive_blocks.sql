-- 0003_archive_blocks: the raw mails of one Record batch are compressed
-- together, one gzip stream per block of up to 4 MB. Compressed one by one,
-- a 4 KB mail cost about 40 µs (gzip builds its Huffman tables per stream),
-- more than storing it, and shrank to about 45 %; in a block it costs about
-- 16 µs and shrinks to about 28 %. Rows written before stay as they are
-- (encoding gzip, the mail alone in data).
CREATE TABLE archive_blocks (
	id        INTEGER PRIMARY KEY,
	stored_at TEXT    NOT NULL,
	encoding  TEXT    NOT NULL,  -- gzip: the raw mails one after the other
	data      BLOB    NOT NULL
);
CREATE INDEX archive_blocks_stored_at ON archive_blocks(stored_at);

-- An archive row of encoding 'block' has empty data: its mail is
-- block_size bytes at block_offset of the block's uncompressed bytes.
ALTER TABLE archive ADD COLUMN block INTEGER REFERENCES archive_blocks(id);
ALTER TABLE archive ADD COLUMN block_offset INTEGER NOT NULL DEFAULT 0;
ALTER TABLE archive ADD COLUMN block_size INTEGER NOT NULL DEFAULT 0;
CREATE INDEX archive_block ON archive(block) WHERE block IS NOT NULL;
