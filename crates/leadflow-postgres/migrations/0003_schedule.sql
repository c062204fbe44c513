-- When each scheduled job (a sweep) is next due: the server whose transaction moves it on runs
-- the job, however many servers share the database (under a lock of the job's own, which
-- the others do not wait for: schedule.rs).
CREATE TABLE schedule (
    job         TEXT PRIMARY KEY,
    next_run_at BIGINT NOT NULL
);
