-- 0001_init: the first schema of bounced. Shipped migrations are never
-- edited: change the schema with a new NNNN_name.sql file.
--
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS.SSS' (SQLite's own format), so
-- date(), datetime() and plain comparisons work on them.

-- One row per mail delivery that was processed. The first delivery of a
-- mail (by SHA-256 of its line-end-normalised bytes) carries the verdict
-- and the outcomes; a later delivery of the same bytes is a row with
-- duplicate_of set and no outcomes, so it is noted but counted once.
CREATE TABLE messages (
	id                 INTEGER PRIMARY KEY,
	account            TEXT    NOT NULL DEFAULT '',  -- mailbox name from the config; '' for local files
	folder             TEXT    NOT NULL DEFAULT '',
	uidvalidity        INTEGER NOT NULL DEFAULT 0,
	uid                INTEGER NOT NULL DEFAULT 0,
	path               TEXT    NOT NULL DEFAULT '',  -- local file (imports)
	idx                INTEGER NOT NULL DEFAULT 1,   -- message number inside an mbox
	digest             TEXT,                         -- hex SHA-256; NULL for a skipped mail never read
	size               INTEGER NOT NULL DEFAULT 0,
	duplicate_of       INTEGER REFERENCES messages(id) ON DELETE CASCADE,
	at                 TEXT    NOT NULL,             -- when the mail arrived (INTERNALDATE, Date, mtime)
	received_at        TEXT,                         -- as given by the caller
	recorded_at        TEXT    NOT NULL,
	kind               TEXT    NOT NULL,
	skipped            TEXT    NOT NULL DEFAULT '',  -- non-empty: not classified, and why
	feedback_type      TEXT    NOT NULL DEFAULT '',
	message_id         TEXT    NOT NULL DEFAULT '',  -- the bounce's own Message-ID
	from_addr          TEXT    NOT NULL DEFAULT '',
	subject            TEXT    NOT NULL DEFAULT '',
	date               TEXT,
	to_addr            TEXT    NOT NULL DEFAULT '',
	delivered_to       TEXT    NOT NULL DEFAULT '',
	reporting_mta      TEXT    NOT NULL DEFAULT '',
	arrival_date       TEXT,
	decoder            TEXT    NOT NULL DEFAULT '',
	rule               TEXT    NOT NULL DEFAULT '',
	notes              TEXT    NOT NULL DEFAULT '',  -- JSON array, '' when none
	orig_message_id    TEXT    NOT NULL DEFAULT '',  -- the returned original message
	orig_from          TEXT    NOT NULL DEFAULT '',
	orig_to            TEXT    NOT NULL DEFAULT '',
	orig_subject       TEXT    NOT NULL DEFAULT '',
	orig_date          TEXT    NOT NULL DEFAULT '',
	orig_headers       TEXT    NOT NULL DEFAULT '',  -- JSON object of X- headers, '' when none
	classifier_version TEXT    NOT NULL DEFAULT '',
	disposed_action    TEXT    NOT NULL DEFAULT '',  -- what was done on the server: move:<folder>, flag, delete, leave
	disposed_at        TEXT
);
CREATE UNIQUE INDEX messages_imap ON messages(account, folder, uidvalidity, uid) WHERE uid > 0;
CREATE UNIQUE INDEX messages_file ON messages(path, idx) WHERE uid = 0 AND path <> '';
CREATE UNIQUE INDEX messages_digest ON messages(digest) WHERE duplicate_of IS NULL AND digest IS NOT NULL;
CREATE INDEX messages_at ON messages(at, kind) WHERE duplicate_of IS NULL;
CREATE INDEX messages_pending ON messages(account, folder, uidvalidity) WHERE uid > 0 AND disposed_at IS NULL;
CREATE INDEX messages_duplicate_of ON messages(duplicate_of) WHERE duplicate_of IS NOT NULL;

-- One row per recipient reported by a message, with every field of the
-- verdict's recipient, the returned original's Message-ID and X- headers
-- (to match a bounce with a campaign) and the policy action it caused.
CREATE TABLE outcomes (
	id              INTEGER PRIMARY KEY,
	message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	at              TEXT    NOT NULL,  -- the message's time, copied for reports
	kind            TEXT    NOT NULL,  -- the message's kind, copied for reports
	feedback_type   TEXT    NOT NULL DEFAULT '',
	address         TEXT    NOT NULL,  -- lower case
	domain          TEXT    NOT NULL,
	action          TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL DEFAULT '',
	reply_code      TEXT    NOT NULL DEFAULT '',
	reason          TEXT    NOT NULL DEFAULT '',
	hard            INTEGER NOT NULL DEFAULT 0,
	diagnostic      TEXT    NOT NULL DEFAULT '',
	remote_mta      TEXT    NOT NULL DEFAULT '',
	command         TEXT    NOT NULL DEFAULT '',
	last_attempt    TEXT,
	rule            TEXT    NOT NULL DEFAULT '',
	orig_message_id TEXT    NOT NULL DEFAULT '',
	orig_headers    TEXT    NOT NULL DEFAULT '',
	policy          TEXT    NOT NULL DEFAULT ''  -- suppress | score | alert | ignore
);
CREATE INDEX outcomes_message ON outcomes(message_id);
CREATE INDEX outcomes_address ON outcomes(address, at);
CREATE INDEX outcomes_at ON outcomes(at, reason, domain, kind, hard);
CREATE INDEX outcomes_reason ON outcomes(reason, kind);
CREATE INDEX outcomes_domain ON outcomes(domain, kind, hard);
CREATE INDEX outcomes_orig_message_id ON outcomes(orig_message_id) WHERE orig_message_id <> '';

-- One row per address: its state and what is known of it.
CREATE TABLE recipients (
	address      TEXT    PRIMARY KEY,   -- lower case
	domain       TEXT    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'active',  -- active | suppressed
	reason       TEXT    NOT NULL DEFAULT '',        -- why suppressed: a reason, complaint:<type>, score, manual
	since        TEXT,                               -- when the state began
	manual       INTEGER NOT NULL DEFAULT 0,         -- 1: a person set the state
	note         TEXT    NOT NULL DEFAULT '',
	message_id   INTEGER,                            -- the message that caused the suppression
	score        REAL    NOT NULL DEFAULT 0,         -- soft score at score_at
	score_at     TEXT,
	bounces      INTEGER NOT NULL DEFAULT 0,
	delays       INTEGER NOT NULL DEFAULT 0,
	complaints   INTEGER NOT NULL DEFAULT 0,
	reports      INTEGER NOT NULL DEFAULT 0,
	autoreplies  INTEGER NOT NULL DEFAULT 0,
	delivered    INTEGER NOT NULL DEFAULT 0,
	first_bounce TEXT,
	last_bounce  TEXT,
	updated_at   TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX recipients_state ON recipients(state, since);

-- Every change of a recipient's state, automatic or by hand.
CREATE TABLE recipient_events (
	id         INTEGER PRIMARY KEY,
	address    TEXT    NOT NULL,
	at         TEXT    NOT NULL,
	state      TEXT    NOT NULL,  -- the new state
	reason     TEXT    NOT NULL DEFAULT '',
	set_by     TEXT    NOT NULL,  -- policy | manual | reclassify
	note       TEXT    NOT NULL DEFAULT '',
	score      REAL    NOT NULL DEFAULT 0,
	message_id INTEGER
);
CREATE INDEX recipient_events_address ON recipient_events(address, at);

-- Sender-side problems: the recipient is not to blame (blocked, spamdetected, ...).
CREATE TABLE alerts (
	id         INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	at         TEXT    NOT NULL,
	reason     TEXT    NOT NULL,
	address    TEXT    NOT NULL DEFAULT '',
	domain     TEXT    NOT NULL DEFAULT '',
	status     TEXT    NOT NULL DEFAULT '',
	reply_code TEXT    NOT NULL DEFAULT '',
	remote_mta TEXT    NOT NULL DEFAULT '',
	diagnostic TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alerts_at ON alerts(at, reason, domain);
CREATE INDEX alerts_message ON alerts(message_id);

-- Where the poller is in each IMAP folder.
CREATE TABLE cursors (
	account     TEXT    NOT NULL,
	folder      TEXT    NOT NULL,
	uidvalidity INTEGER NOT NULL,
	last_uid    INTEGER NOT NULL,
	updated_at  TEXT    NOT NULL,
	PRIMARY KEY (account, folder)
) WITHOUT ROWID;

-- One row per poll of one mailbox.
CREATE TABLE runs (
	id         INTEGER PRIMARY KEY,
	account    TEXT    NOT NULL,
	started_at TEXT    NOT NULL,
	ended_at   TEXT,
	fetched    INTEGER NOT NULL DEFAULT 0,
	recorded   INTEGER NOT NULL DEFAULT 0,
	duplicates INTEGER NOT NULL DEFAULT 0,
	skipped    INTEGER NOT NULL DEFAULT 0,
	disposed   INTEGER NOT NULL DEFAULT 0,
	errors     INTEGER NOT NULL DEFAULT 0,
	by_kind    TEXT    NOT NULL DEFAULT '',  -- JSON object kind -> count
	err        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_account ON runs(account, id);

-- The raw mail, compressed, for `bounced reclassify`; pruned after the
-- retention in days.
CREATE TABLE archive (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	stored_at  TEXT    NOT NULL,
	encoding   TEXT    NOT NULL,  -- gzip
	data       BLOB    NOT NULL
);
CREATE INDEX archive_stored_at ON archive(stored_at);

-- Views for people who query the file directly (sqlite3, Datasette, Grafana).
CREATE VIEW suppression_list AS
	SELECT address, reason, since, CASE manual WHEN 1 THEN 'manual' ELSE 'policy' END AS set_by,
	       note, domain, bounces, complaints, score, last_bounce, message_id
	FROM recipients WHERE state = 'suppressed';

CREATE VIEW daily_summary AS
	SELECT date(at) AS day, kind, count(*) AS messages
	FROM messages WHERE duplicate_of IS NULL
	GROUP BY 1, 2;

CREATE VIEW daily_outcomes AS
	SELECT date(at) AS day, kind, reason, domain, count(*) AS outcomes, sum(hard) AS hard
	FROM outcomes
	GROUP BY 1, 2, 3, 4;

CREATE VIEW sender_alerts AS
	SELECT date(at) AS day, reason, domain, count(*) AS alerts, max(at) AS last_at
	FROM alerts
	GROUP BY 1, 2, 3;
