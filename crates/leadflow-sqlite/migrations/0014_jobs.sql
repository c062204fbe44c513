-- The job queue: what must happen later or on whichever server gets to it first (scheduled
-- rescores, sweeps, and next the tracking timers). A job's kind and key are unique while it is
-- kept, done or not: queueing it again is a no-op. Scheduled work is a chain of jobs keyed by
-- their time slot, which replaces the schedule table's turns.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',  -- pending, done, failed, cancelled
    due_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,       -- claims taken, the running one included
    max_attempts  INTEGER NOT NULL,
    claimed_until INTEGER,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due ON jobs (due_at, id) WHERE status = 'pending';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status <> 'pending';
DROP TABLE schedule;
