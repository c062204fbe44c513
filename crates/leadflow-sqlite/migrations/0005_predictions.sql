-- Trained predictive models (the artifact is opaque to the store), and each lead's latest
-- predicted chance of converting under the active one.
CREATE TABLE trained_models (
    version      INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    artifact     BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER,
    active       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE predictions (
    lead_id     INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL,
    probability REAL NOT NULL,
    at          INTEGER NOT NULL
);
