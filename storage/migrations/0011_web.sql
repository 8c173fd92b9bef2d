-- 0011_web: indexes for the web report (package web, docs/web.md). Each of
-- its pages reads a bounded slice of an index, whatever the history.

-- The front page reads the last 30 days of the domain and alert rollups;
-- their primary keys start with the domain and the reason, so without
-- these it would read every day ever kept. Covering: no table lookups.
CREATE INDEX stats_domains_day ON stats_domains(day, domain, outcomes, failed, hard);
CREATE INDEX stats_alerts_day ON stats_alerts(day, reason, domain, alerts, last_at);

-- /suppressions filtered by domain or by reason, newest first, one page at
-- a time: the filter and the order in one index, so a page stops after
-- its rows instead of sorting every suppression of that reason. The new
-- recipients_suppressed_reason serves the old one's queries (it starts
-- with reason), so that one goes.
CREATE INDEX recipients_suppressed_domain ON recipients(domain, suppressed_at, address) WHERE state = 'suppressed';
DROP INDEX recipients_suppressed_reason;
CREATE INDEX recipients_suppressed_reason ON recipients(reason, suppressed_at, address) WHERE state = 'suppressed';

-- The health checks (status, /readyz, the web report's front page) count
-- the sender-side alerts of the last days: without an index on their time
-- that read every alert ever kept (2.6 s over a million outcomes).
CREATE INDEX alerts_at ON alerts(at);
