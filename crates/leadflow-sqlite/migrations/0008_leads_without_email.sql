-- A lead is named by an email, an external id (a CRM's id, case kept), or both: a CRM's lead
-- without an email is a real lead, no longer given a made-up `<id>@no-email.invalid` address.
-- Both columns are unique where set (SQLite's UNIQUE lets NULLs repeat; BINARY collation keeps
-- `00Q5g...A` and `00Q5g...a` two ids).
CREATE TABLE leads_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT UNIQUE,
    external_id    TEXT UNIQUE,
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
    mql_at         INTEGER,
    CHECK (email IS NOT NULL OR external_id IS NOT NULL)
);

-- Imports kept a CRM id as `custom.external_id`; the oldest lead with each id takes it as its
-- external id (a later one with the same id keeps it as a custom field, as before).
CREATE TEMP TABLE first_with_external_id AS
    SELECT json_extract(custom, '$.external_id.value') AS external_id, min(id) AS lead_id
    FROM leads
    WHERE json_extract(custom, '$.external_id.type') = 'text'
      AND trim(json_extract(custom, '$.external_id.value')) = json_extract(custom, '$.external_id.value')
      AND length(json_extract(custom, '$.external_id.value')) BETWEEN 1 AND 255
      AND json_extract(custom, '$.external_id.value') NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')
    GROUP BY 1;

INSERT INTO leads_new
SELECT l.id,
       CASE WHEN f.lead_id IS NOT NULL AND l.email LIKE '%@no-email.invalid' THEN NULL ELSE l.email END,
       f.external_id,
       l.first_name, l.last_name, l.company, l.job_title, l.department, l.industry, l.employees,
       l.annual_revenue, l.country, l.city, l.company_type, l.source, l.owner, l.stage,
       CASE WHEN f.lead_id IS NOT NULL THEN json_remove(l.custom, '$.external_id') ELSE l.custom END,
       l.created_at, l.updated_at, l.mql_at
FROM leads l LEFT JOIN first_with_external_id f ON f.lead_id = l.id;

DROP TABLE first_with_external_id;

-- Ids of deleted leads stay used: the new table continues the old one's sequence, even when
-- every lead was deleted (and the copy above gave the new table no sequence of its own).
INSERT INTO sqlite_sequence (name, seq)
SELECT 'leads_new', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'leads_new');
UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'leads'), 0))
WHERE name = 'leads_new';
DROP TABLE leads;
ALTER TABLE leads_new RENAME TO leads;
CREATE INDEX leads_by_owner ON leads (owner);
CREATE INDEX leads_by_created ON leads (created_at);

-- A notification names the lead as the lead was named then: by email, external id, or both.
CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    topic           TEXT NOT NULL,
    lead_id         INTEGER NOT NULL,
    email           TEXT,
    external_id     TEXT,
    occurred_at     INTEGER NOT NULL,
    fit             REAL NOT NULL,
    engagement      REAL NOT NULL,
    total           REAL NOT NULL,
    bucket          TEXT NOT NULL,
    grade           TEXT NOT NULL,
    previous_bucket TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);
INSERT INTO webhook_deliveries_new
SELECT d.id, d.webhook_id, d.topic, d.lead_id,
       CASE WHEN d.email LIKE '%@no-email.invalid' AND l.external_id IS NOT NULL THEN NULL ELSE d.email END,
       l.external_id,
       d.occurred_at, d.fit, d.engagement, d.total, d.bucket, d.grade, d.previous_bucket, d.status,
       d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at
FROM webhook_deliveries d LEFT JOIN leads l ON l.id = d.lead_id;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_lead ON webhook_deliveries (lead_id);
