-- leadflow schema, version 1. Shipped migrations are never edited: add a new file instead.

CREATE TABLE leads (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    first_name     TEXT,
    last_name      TEXT,
    company        TEXT,
    job_title      TEXT,
    department     TEXT,
    industry       TEXT,
    employees      REAL,
    annual_revenue REAL,
    country        TEXT,
    city           TEXT,
    company_type   TEXT,
    source         TEXT,
    owner          TEXT,
    stage          TEXT NOT NULL,
    custom         TEXT NOT NULL DEFAULT '{}',   -- JSON object of typed custom values
    created_at     INTEGER NOT NULL,              -- milliseconds since the epoch, UTC
    updated_at     INTEGER NOT NULL,
    mql_at         INTEGER
);
CREATE INDEX leads_by_owner ON leads (owner);
CREATE INDEX leads_by_created ON leads (created_at);

-- One row per distinct (type, properties): rules match shapes, not events.
CREATE TABLE event_shapes (
    id         INTEGER PRIMARY KEY,
    type       TEXT NOT NULL,
    properties TEXT NOT NULL,                     -- canonical JSON object of strings
    UNIQUE (type, properties)
);

CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,              -- arrival order
    key         TEXT NOT NULL UNIQUE,             -- the client's idempotency key
    lead_id     INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    shape_id    INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);

-- Per lead, its events' (ts, shape_id, seq) packed in one blob, oldest first: what scoring reads,
-- and how the timeline and deletes find a lead's rows (see src/activity.rs).
CREATE TABLE activity (
    lead_id INTEGER PRIMARY KEY,
    packed  BLOB NOT NULL
);

-- Ranges of events stored by bulk transactions and not yet folded into `activity`.
CREATE TABLE activity_tail (
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL
);

-- Every lead has exactly one row; total is NULL until it is first scored.
CREATE TABLE scores (
    lead_id        INTEGER PRIMARY KEY,
    model_version  INTEGER,
    as_of          INTEGER,
    fit            REAL,
    engagement     REAL,
    total          REAL,
    bucket         TEXT,
    grade          TEXT,
    stale          INTEGER NOT NULL DEFAULT 1,
    recorded_total REAL,                          -- total at the last history entry
    state          BLOB                           -- the incremental scoring state (core's encoding)
);
-- Buckets are ranges of the total, so this index serves bucket filters too.
CREATE INDEX scores_by_total ON scores (total);
CREATE INDEX scores_stale ON scores (stale) WHERE stale = 1;

CREATE TABLE score_history (
    id             INTEGER PRIMARY KEY,
    lead_id        INTEGER NOT NULL,
    at             INTEGER NOT NULL,
    cause          TEXT NOT NULL,
    detail         TEXT,
    model_version  INTEGER NOT NULL,
    old_fit        REAL,
    old_engagement REAL,
    old_total      REAL,
    old_bucket     TEXT,
    old_grade      TEXT,
    new_fit        REAL NOT NULL,
    new_engagement REAL NOT NULL,
    new_total      REAL NOT NULL,
    new_bucket     TEXT NOT NULL,
    new_grade      TEXT NOT NULL,
    became_mql     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX history_by_lead ON score_history (lead_id, id);

CREATE TABLE models (
    version      INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    source       TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
