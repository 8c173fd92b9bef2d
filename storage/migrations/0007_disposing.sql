-- 0007_disposing: where a mail is going, written before it goes. The poller
-- records the action it is about to take on the server (move:<folder>,
-- flag, delete) in a transaction of its own before it sends the command,
-- and disposed_action once the command succeeded. A kill in between leaves
-- the destination here: the next run finds the mail gone from the folder
-- and marks it disposed with this action instead of 'gone'.
ALTER TABLE messages ADD COLUMN disposing_action TEXT NOT NULL DEFAULT '';  -- the last action about to be taken; '' when none was
ALTER TABLE messages ADD COLUMN disposing_at TEXT;                          -- when it was written
