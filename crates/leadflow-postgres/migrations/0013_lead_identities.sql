-- Every identity a lead is reached through: its emails, external ids, ids in other systems and
-- phone numbers, the profile's primary email and external id among them. The primary key makes
-- each name one lead at most, across kinds' places (a lead's primary email is nobody's second
-- one), and two writers giving one identity to two leads wait for each other on it. Ids that
-- differ by case stay apart (PostgreSQL's collations compare bytes for equality); emails are
-- stored lower-cased. Keyed by (kind, value), not by lead: under a distributed engine it is the lookup
-- table of identities, distributed by value.
CREATE TABLE lead_identities (
    kind     TEXT NOT NULL,
    value    TEXT NOT NULL,
    lead_id  BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX lead_identities_by_lead ON lead_identities (lead_id);

INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'email', email, id, created_at FROM leads WHERE email IS NOT NULL;
INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'external', external_id, id, created_at FROM leads WHERE external_id IS NOT NULL;

-- Leads are found through their identities now: the profile's email and external id are
-- copies that no lookup reads, and their unique indexes would cost every new lead two more
-- index writes for nothing.
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_email_key, DROP CONSTRAINT IF EXISTS leads_external_id_key;
