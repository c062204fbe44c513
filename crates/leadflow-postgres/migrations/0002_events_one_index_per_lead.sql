-- A lead's events are found through one index, not two: the primary key is the time-ordered
-- per-lead index, and carries the shape, so that scoring reads a lead's activity from the index
-- alone. (0001 had a primary key on (lead_id, seq) beside an index on (lead_id, ts, seq); every
-- event paid for both.)
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (lead_id, ts, seq) INCLUDE (shape_id);
DROP INDEX events_by_lead_and_time;
