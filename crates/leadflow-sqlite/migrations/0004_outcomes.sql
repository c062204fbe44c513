-- How leads ended (won or lost, and when): what backtests judge a model against.
CREATE TABLE outcomes (
    lead_id     INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,             -- won, lost
    at          INTEGER NOT NULL,          -- when it happened
    recorded_at INTEGER NOT NULL
);
