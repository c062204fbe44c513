-- The job queue: what must happen later or on whichever server gets to it first (scheduled
-- rescores, sweeps, and next the tracking timers). A job's kind and key are unique while it is
-- kept, done or not: queueing it again is a no-op. Scheduled work is a chain of jobs keyed by
-- their time slot, which replaces the schedule table's turns. Claims skip rows another claim
-- has locked (jobs.rs), so several servers claim at once without waiting on each other.
CREATE TABLE jobs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    due_at        BIGINT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    max_attempts  BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL,
    finished_at   BIGINT,
    UNIQUE (kind, key)
);
CREATE INDEX jobs_due ON jobs (due_at, id) WHERE status = 'pending';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status <> 'pending';
DROP TABLE schedule;
