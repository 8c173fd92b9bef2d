-- 0010_outbox: webhooks, never lost. An event (a suppression added or
-- removed, a complaint, a sender-side alert, a change of a mailbox's
-- health) is written to the outbox in the same transaction as the change
-- that caused it; a worker delivers it to every webhook target later, and
-- marks it delivered only after the receiver said 2xx. A crash between the
-- commit and the delivery, or between the delivery and its mark, delivers
-- it (once more) after the restart: at least once, never zero times.

-- One row per event. uid is the event's id as sent: unique per event, the
-- same on every delivery and every retry, for the receiver to deduplicate.
-- payload is the event's JSON as a generic target receives it.
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
CREATE INDEX outbox_at ON outbox(at);

-- Per webhook target, the last outbox event it has a delivery row for. A
-- target seen for the first time starts after the newest event: it gets
-- the events from then on, not the history.
CREATE TABLE webhook_targets (
	name       TEXT    PRIMARY KEY,
	last_event INTEGER NOT NULL,
	added_at   TEXT    NOT NULL
) WITHOUT ROWID;

-- One row per event and target that takes it: its state, attempts and the
-- time of the next attempt.
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
-- The worker's queue: a target's pending deliveries in event order.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(target, id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries(target, id) WHERE state = 'dead';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

-- Per mailbox, the health checks that failed when it was last judged, so
-- that a change (a check failing, or passing again) is an event once.
CREATE TABLE health_state (
	mailbox    TEXT    PRIMARY KEY,
	checks     TEXT    NOT NULL DEFAULT '',  -- the failing checks, sorted, comma-separated; '' when healthy
	updated_at TEXT    NOT NULL
) WITHOUT ROWID;
