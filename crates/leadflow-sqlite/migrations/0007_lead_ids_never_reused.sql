-- A deleted lead's id is never given to another lead (AUTOINCREMENT): the ids that webhooks
-- already delivered, exports and CRMs hold go on naming the lead they named, or none.
-- SQLite adds AUTOINCREMENT only to a new table: the same columns, copied over.
CREATE TABLE leads_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
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
    custom         TEXT NOT NULL DEFAULT '{}',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    mql_at         INTEGER
);
INSERT INTO leads_new SELECT * FROM leads;
DROP TABLE leads;
ALTER TABLE leads_new RENAME TO leads;
CREATE INDEX leads_by_owner ON leads (owner);
CREATE INDEX leads_by_created ON leads (created_at);
