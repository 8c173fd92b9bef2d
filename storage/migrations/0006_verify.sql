-- 0006_verify: what a mail proved about the mail it answers, for mailboxes
-- with verify = "record" or "enforce" (see package verp): one row per mail
-- read with verify on; a mail read with verify off has none.
CREATE TABLE verifications (
	message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	mode       TEXT NOT NULL,             -- record | enforce (as configured when it was recorded)
	result     TEXT NOT NULL,             -- verified | unverified | none (it named nobody to act on)
	recipient  TEXT NOT NULL DEFAULT '',  -- whom its valid token was issued for
	failure    TEXT NOT NULL DEFAULT ''   -- why it is unverified
);
CREATE INDEX verifications_result ON verifications(result, mode);
