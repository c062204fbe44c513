-- How many times each score row has been written: a rescore writes its result only over the
-- revision its scan read, so it never undoes a score an event wrote meanwhile (scans hold no
-- locks). Adding a column with a constant default rewrites nothing.
ALTER TABLE scores ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
