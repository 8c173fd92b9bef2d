-- The schema after every migration, as SQLite stores it (sqlite_master).
-- Generated: go test ./storage -run TestSchemaGolden -update. Do not edit.

-- index alerts_at
CREATE INDEX alerts_at ON alerts(at);

-- index alerts_message
CREATE INDEX alerts_message ON alerts(message_id);

-- index archive_block
CREATE INDEX archive_block ON archive(block) WHERE block IS NOT NULL;

-- index archive_blocks_stored_at
CREATE INDEX archive_blocks_stored_at ON archive_blocks(stored_at);

-- index archive_stored_at
CREATE INDEX archive_stored_at ON archive(stored_at);

-- index messages_account_kind_at
CREATE INDEX messages_account_kind_at ON messages(account, kind, at);

-- index messages_at
CREATE INDEX messages_at ON messages(at);

-- index messages_digest
CREATE UNIQUE INDEX messages_digest ON messages(digest) WHERE duplicate_of IS NULL AND digest IS NOT NULL;

-- index messages_duplicate_of
CREATE INDEX messages_duplicate_of ON messages(duplicate_of) WHERE duplicate_of IS NOT NULL;

-- index messages_file
CREATE UNIQUE INDEX messages_file ON messages(path, idx) WHERE uid = 0 AND path <> '';

-- index messages_flagged
CREATE INDEX messages_flagged ON messages(account, folder, uidvalidity) WHERE uid > 0 AND disposed_action GLOB 'flag instead of *';

-- index messages_imap
CREATE UNIQUE INDEX messages_imap ON messages(account, folder, uidvalidity, uid) WHERE uid > 0;

-- index messages_pending
CREATE INDEX messages_pending ON messages(account, folder, uidvalidity) WHERE uid > 0 AND disposed_at IS NULL;

-- index outbox_at
CREATE INDEX outbox_at ON outbox(at);

-- index outcomes_address
CREATE INDEX outcomes_address ON outcomes(address, policy, at);

-- index outcomes_message
CREATE INDEX outcomes_message ON outcomes(message_id);

-- index recipient_events_address
CREATE INDEX recipient_events_address ON recipient_events(address, at);

-- index recipients_suppressed
CREATE INDEX recipients_suppressed ON recipients(suppressed_at, address) WHERE state = 'suppressed';

-- index recipients_suppressed_domain
CREATE INDEX recipients_suppressed_domain ON recipients(domain, suppressed_at, address) WHERE state = 'suppressed';

-- index recipients_suppressed_reason
CREATE INDEX recipients_suppressed_reason ON recipients(reason, suppressed_at, address) WHERE state = 'suppressed';

-- index runs_account
CREATE INDEX runs_account ON runs(account, id);

-- index stats_alerts_day
CREATE INDEX stats_alerts_day ON stats_alerts(day, reason, domain, alerts, last_at);

-- index stats_domains_day
CREATE INDEX stats_domains_day ON stats_domains(day, domain, outcomes, failed, hard);

-- index verifications_result
CREATE INDEX verifications_result ON verifications(result, mode);

-- index webhook_deliveries_dead
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries(target, id) WHERE state = 'dead';

-- index webhook_deliveries_event
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

-- index webhook_deliveries_pending
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(target, id) WHERE state = 'pending';

-- table alerts
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

-- table archive
CREATE TABLE archive (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	stored_at  TEXT    NOT NULL,
	encoding   TEXT    NOT NULL,  -- gzip
	data       BLOB    NOT NULL
, block INTEGER REFERENCES archive_blocks(id), block_offset INTEGER NOT NULL DEFAULT 0, block_size INTEGER NOT NULL DEFAULT 0);

-- table archive_blocks
CREATE TABLE archive_blocks (
	id        INTEGER PRIMARY KEY,
	stored_at TEXT    NOT NULL,
	encoding  TEXT    NOT NULL,  -- gzip: the raw mails one after the other
	data      BLOB    NOT NULL
);

-- table cursors
CREATE TABLE cursors (
	account     TEXT    NOT NULL,
	folder      TEXT    NOT NULL,
	uidvalidity INTEGER NOT NULL,
	last_uid    INTEGER NOT NULL,
	updated_at  TEXT    NOT NULL,
	PRIMARY KEY (account, folder)
) WITHOUT ROWID;

-- table health_state
CREATE TABLE health_state (
	mailbox    TEXT    PRIMARY KEY,
	checks     TEXT    NOT NULL DEFAULT '',  -- the failing checks, sorted, comma-separated; '' when healthy
	updated_at TEXT    NOT NULL
) WITHOUT ROWID;

-- table messages
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
, disposing_action TEXT NOT NULL DEFAULT '', disposing_at TEXT);

-- table outbox
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY,
	uid        TEXT    NOT NULL UNIQUE,
	type       TEXT    NOT NULL,              -- suppression.added | suppression.removed | complaint | sender_alert | mailbox_health
	at         TEXT    NOT NULL,              -- when bounced recorded it (the transaction's time)
	address    TEXT    NOT NULL DEFAULT '',
	mailbox    TEXT    NOT NULL DEFAULT '',
	reason     TEXT    NOT NULL DEFAULT '',
	payload    TEXT    NOT NULL
);

-- table outcomes
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

-- table recipient_events
CREATE TABLE recipient_events (
	id         INTEGER PRIMARY KEY,
	address    TEXT    NOT NULL,
	at         TEXT    NOT NULL,
	state      TEXT    NOT NULL,  -- the new state
	reason     TEXT    NOT NULL DEFAULT '',
	set_by     TEXT    NOT NULL,  -- policy | manual | reclassify
	note       TEXT    NOT NULL DEFAULT '',
	score      REAL    NOT NULL DEFAULT 0,
	stored_id INTEGER
);

-- table recipients
CREATE TABLE recipients (
	address      TEXT    PRIMARY KEY,   -- lower case
	domain       TEXT    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'active',  -- active | suppressed
	reason       TEXT    NOT NULL DEFAULT '',        -- why suppressed: a reason, complaint:<type>, score, manual
	since        TEXT,                               -- when the state began
	manual       INTEGER NOT NULL DEFAULT 0,         -- 1: a person set the state
	note         TEXT    NOT NULL DEFAULT '',
	stored_id   INTEGER,                            -- the message that caused the suppression
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
, suppressed_at TEXT) WITHOUT ROWID;

-- table runs
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
, listed INTEGER NOT NULL DEFAULT 0, backlog INTEGER NOT NULL DEFAULT 0);

-- table schema_migrations
CREATE TABLE schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL);

-- table stats_alerts
CREATE TABLE stats_alerts (
	reason  TEXT    NOT NULL,
	domain  TEXT    NOT NULL,
	day     TEXT    NOT NULL,
	alerts  INTEGER NOT NULL DEFAULT 0,
	last_at TEXT    NOT NULL,
	PRIMARY KEY (reason, domain, day)
) WITHOUT ROWID;

-- table stats_domains
CREATE TABLE stats_domains (
	domain   TEXT    NOT NULL,
	day      TEXT    NOT NULL,
	outcomes INTEGER NOT NULL DEFAULT 0,
	failed   INTEGER NOT NULL DEFAULT 0,
	hard     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (domain, day)
) WITHOUT ROWID;

-- table stats_messages
CREATE TABLE stats_messages (
	day        TEXT    NOT NULL,  -- YYYY-MM-DD of messages.at
	kind       TEXT    NOT NULL,
	messages   INTEGER NOT NULL DEFAULT 0,  -- distinct mails
	duplicates INTEGER NOT NULL DEFAULT 0,
	skipped    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (day, kind)
) WITHOUT ROWID;

-- table stats_outcomes
CREATE TABLE stats_outcomes (
	day      TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	action   TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	hard     INTEGER NOT NULL,
	policy   TEXT    NOT NULL,
	outcomes INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (day, kind, action, reason, hard, policy)
) WITHOUT ROWID;

-- table verifications
CREATE TABLE verifications (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	mode       TEXT NOT NULL,             -- record | enforce (as configured when it was recorded)
	result     TEXT NOT NULL,             -- verified | unverified | none (it named nobody to act on)
	recipient  TEXT NOT NULL DEFAULT '',  -- whom its valid token was issued for
	failure    TEXT NOT NULL DEFAULT ''   -- why it is unverified
);

-- table webhook_deliveries
CREATE TABLE webhook_deliveries (
	id           INTEGER PRIMARY KEY,
	event_id     INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
	target       TEXT    NOT NULL,
	state        TEXT    NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_at      TEXT    NOT NULL,                    -- pending: not before then
	last_at      TEXT,                                -- the last attempt
	last_status  INTEGER NOT NULL DEFAULT 0,          -- its HTTP status; 0 for none (no answer)
	last_error   TEXT    NOT NULL DEFAULT '',
	delivered_at TEXT,
	UNIQUE (target, event_id)
);

-- table webhook_targets
CREATE TABLE webhook_targets (
	name       TEXT    PRIMARY KEY,
	last_event INTEGER NOT NULL,
	added_at   TEXT    NOT NULL
) WITHOUT ROWID;

-- trigger alerts_stats_delete
CREATE TRIGGER alerts_stats_delete AFTER DELETE ON alerts BEGIN
	UPDATE stats_alerts SET alerts = alerts - 1
	WHERE reason = OLD.reason AND domain = OLD.domain AND day = substr(OLD.at, 1, 10);
END;

-- trigger messages_stats_update
CREATE TRIGGER messages_stats_update AFTER UPDATE OF at, kind, skipped, duplicate_of ON messages BEGIN
	UPDATE stats_messages SET messages = messages - (OLD.duplicate_of IS NULL),
		duplicates = duplicates - (OLD.duplicate_of IS NOT NULL),
		skipped = skipped - (OLD.duplicate_of IS NULL AND OLD.skipped <> '')
	WHERE day = substr(OLD.at, 1, 10) AND kind = OLD.kind;
	INSERT INTO stats_messages(day, kind, messages, duplicates, skipped)
	VALUES (substr(NEW.at, 1, 10), NEW.kind, NEW.duplicate_of IS NULL, NEW.duplicate_of IS NOT NULL,
		NEW.duplicate_of IS NULL AND NEW.skipped <> '')
	ON CONFLICT(day, kind) DO UPDATE SET messages = messages + excluded.messages,
		duplicates = duplicates + excluded.duplicates, skipped = skipped + excluded.skipped;
END;

-- trigger outcomes_stats_delete
CREATE TRIGGER outcomes_stats_delete AFTER DELETE ON outcomes BEGIN
	UPDATE stats_outcomes SET outcomes = outcomes - 1
	WHERE day = substr(OLD.at, 1, 10) AND kind = OLD.kind AND action = OLD.action AND reason = OLD.reason
		AND hard = OLD.hard AND policy = OLD.policy;
	UPDATE stats_domains SET outcomes = outcomes - 1, failed = failed - (OLD.action = 'failed'), hard = hard - OLD.hard
	WHERE domain = OLD.domain AND day = substr(OLD.at, 1, 10);
END;

-- view daily_domains
CREATE VIEW daily_domains AS
	SELECT day, domain, outcomes, failed, hard
	FROM stats_domains WHERE outcomes > 0;

-- view daily_outcomes
CREATE VIEW daily_outcomes AS
	SELECT day, kind, action, reason, hard, policy, outcomes
	FROM stats_outcomes WHERE outcomes > 0;

-- view daily_summary
CREATE VIEW daily_summary AS
	SELECT day, kind, messages, duplicates, skipped
	FROM stats_messages WHERE messages > 0 OR duplicates > 0;

-- view sender_alerts
CREATE VIEW sender_alerts AS
	SELECT day, reason, domain, alerts, last_at
	FROM stats_alerts WHERE alerts > 0;

-- view suppression_list
CREATE VIEW suppression_list AS
	SELECT address, reason, since, CASE manual WHEN 1 THEN 'manual' ELSE 'policy' END AS set_by,
	       note, domain, bounces, complaints, score, last_bounce, stored_id, suppressed_at
	FROM recipients WHERE state = 'suppressed';
