-- 0004_suppressed_at: when bounced decided a suppression. recipients.since
-- is when the failure that caused it happened (the bounce's own time), which
-- may be long before bounced saw the mail (a backfill, a daemon that was
-- down): an incremental feed ("suppressions --since 1h") must filter on the
-- time the suppression was recorded, or it misses every late one.
ALTER TABLE recipients ADD COLUMN suppressed_at TEXT;  -- when bounced recorded the suppression; NULL when active

-- Suppressions recorded before this migration: the time their mail was
-- recorded, never before since (a manual one: since, the time of the act).
UPDATE recipients SET suppressed_at = max(coalesce(since, updated_at),
	coalesce((SELECT m.recorded_at FROM messages m WHERE m.id = recipients.message_id), ''))
WHERE state = 'suppressed';

-- The suppression list is read in the order it was recorded.
DROP INDEX recipients_suppressed;
CREATE INDEX recipients_suppressed ON recipients(suppressed_at, address) WHERE state = 'suppressed';

DROP VIEW suppression_list;
CREATE VIEW suppression_list AS
	SELECT address, reason, since, CASE manual WHEN 1 THEN 'manual' ELSE 'policy' END AS set_by,
	       note, domain, bounces, complaints, score, last_bounce, message_id, suppressed_at
	FROM recipients WHERE state = 'suppressed';
