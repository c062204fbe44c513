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
CREATE INDEX lead_identities_by_lead ON lead_identities (lead_id);

INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'email', email, id, created_at FROM leads WHERE email IS NOT NULL;
INSERT INTO lead_identities (kind, value, lead_id, added_at)
SELECT 'external', external_id, id, created_at FROM leads WHERE external_id IS NOT NULL;
