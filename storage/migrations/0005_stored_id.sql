-- 0005_stored_id: message_id means a mail's Message-ID everywhere people
-- read it (messages.message_id, the logs, the verdict's JSON); the row of
-- messages that caused a recipient's state is stored_id.
DROP VIEW suppression_list;
ALTER TABLE recipients RENAME COLUMN message_id TO stored_id;        -- messages.id of the mail that caused the state
ALTER TABLE recipient_events RENAME COLUMN message_id TO stored_id;  -- messages.id of the mail that caused the change
CREATE VIEW suppression_list AS
	SELECT address, reason, since, CASE manual WHEN 1 THEN 'manual' ELSE 'policy' END AS set_by,
	       note, domain, bounces, complaints, score, last_bounce, stored_id, suppressed_at
	FROM recipients WHERE state = 'suppressed';
