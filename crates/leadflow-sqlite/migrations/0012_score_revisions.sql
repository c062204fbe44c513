-- How many times each score row has been written: a rescore writes its result only over the
-- revision its scan read, so it never undoes a score an event wrote meanwhile.
ALTER TABLE scores ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
