-- When each scheduled job (a sweep) is next due: the server whose transaction moves it on runs
-- the job, however many servers share the database.
CREATE TABLE schedule (
    job         TEXT PRIMARY KEY,
    next_run_at INTEGER NOT NULL
);
