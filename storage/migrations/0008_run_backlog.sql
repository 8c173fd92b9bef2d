-- 0008_run_backlog: how far behind a run left its mailbox. listed is the
-- number of mails above the cursor when the run listed the folder; backlog
-- is how many of them the run did not get to (it failed or was stopped).
ALTER TABLE runs ADD COLUMN listed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
-- The newest bounce of a mailbox, for the "no bounce for N days" health
-- check: a search, not a walk back through all mail. Its keys grow in time
-- order within each (account, kind), so inserts append.
CREATE INDEX messages_account_kind_at ON messages(account, kind, at);
