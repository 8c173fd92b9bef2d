-- 0002_batch_rollups: Record keeps the daily rollups itself, with one
-- aggregated upsert per batch computed in Go, instead of per-row triggers
-- (four upserts per recorded mail). The update and delete triggers stay:
-- only reclassify updates and deletes, one mail at a time.
DROP TRIGGER messages_stats_insert;
DROP TRIGGER outcomes_stats_insert;
DROP TRIGGER alerts_stats_insert;

-- No query looks outcomes up by the original's Message-ID (campaigns are
-- matched by X- headers, read with json_extract over a recipient's or a
-- day's outcomes), and its random keys cost a page write per outcome.
DROP INDEX outcomes_orig_message_id;
