-- 0009_flagged: mail flagged because the server could not move or delete
-- it safely (neither MOVE nor UIDPLUS, or so it seemed), recorded as
-- "flag instead of move:<folder>" or "flag instead of delete". A later run
-- on a server that can does the action (Flagged). Partial: only such mail
-- is in it.
CREATE INDEX messages_flagged ON messages(account, folder, uidvalidity) WHERE uid > 0 AND disposed_action GLOB 'flag instead of *';
