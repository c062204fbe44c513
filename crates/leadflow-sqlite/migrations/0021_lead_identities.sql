-- Every identity a lead is reached through: its emails, external ids, ids in other systems and
-- phone numbers, the profile's primary email and external id among them. The primary key makes
-- each name one lead at most, across kinds' places (a lead's primary email is nobody's second
-- one). BINARY collation keeps ids that differ by case apart; emails are stored lower-cased.
CREATE TABLE lead_identities (
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    lead_id  INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;

INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'email', email, id, created_at FROM leads WHERE email IS NOT NULL;
INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'external', external_id, id, created_at FROM leads WHERE external_id IS NOT NULL;
CREATE INDEX lead_identities_by_lead ON lead_identities (lead_id);

-- Leads are found through their identities now: the profile's email and external id are
-- copies that no lookup reads, and their unique indexes (which only a rebuild of the table can
-- drop) would cost every new lead two more index writes for nothing.
CREATE TABLE leads_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT,
    external_id         TEXT,
    first_name          TEXT,
    last_name           TEXT,
    company             TEXT,
    job_title           TEXT,
    department          TEXT,
    industry            TEXT,
    employees           REAL,
    annual_revenue      REAL,
    country             TEXT,
    city                TEXT,
    company_type        TEXT,
    source              TEXT,
    owner               TEXT,
    stage               TEXT NOT NULL,
    custom              TEXT NOT NULL DEFAULT '{}',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    mql_at              INTEGER,
    pipeline            TEXT,
    pipeline_stage      TEXT,
    pipeline_entered_at INTEGER,
    stage_entered_at    INTEGER,
    recycles            INTEGER NOT NULL DEFAULT 0,
    CHECK (email IS NOT NULL OR external_id IS NOT NULL)
);
INSERT INTO leads_new (
    id, email, external_id, first_name, last_name, company, job_title, department, industry, employees,
    annual_revenue, country, city, company_type, source, owner, stage, custom, created_at, updated_at, mql_at,
    pipeline, pipeline_stage, pipeline_entered_at, stage_entered_at, recycles)
SELECT
    id, email, external_id, first_name, last_name, company, job_title, department, industry, employees,
    annual_revenue, country, city, company_type, source, owner, stage, custom, created_at, updated_at, mql_at,
    pipeline, pipeline_stage, pipeline_entered_at, stage_entered_at, recycles
FROM leads;
-- Ids of deleted leads stay used (see 0007).
INSERT INTO sqlite_sequence (name, seq)
SELECT 'leads_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'leads_new');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'leads'), 0))
WHERE name = 'leads_new';
DROP TABLE leads;
ALTER TABLE leads_new RENAME TO leads;
CREATE INDEX leads_by_owner ON leads (owner);
CREATE INDEX leads_by_created ON leads (created_at);
CREATE INDEX leads_by_pipeline_stage ON leads (pipeline, pipeline_stage, pipeline_entered_at) WHERE pipeline IS NOT NULL;
CREATE INDEX leads_unrouted_mqls ON leads (id) WHERE mql_at IS NOT NULL AND pipeline IS NULL;
CREATE INDEX leads_by_mql_time ON leads (mql_at) WHERE mql_at IS NOT NULL;
