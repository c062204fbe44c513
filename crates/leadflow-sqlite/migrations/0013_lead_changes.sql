-- The change log: every change of a lead's profile, one row per field, with the values before
-- and after (JSON of the typed value, NULL for "not set"), appended in the transaction that
-- made the change.
CREATE TABLE lead_changes (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    field   TEXT NOT NULL,
    old     TEXT,
    new     TEXT,
    cause   TEXT NOT NULL,   -- api, cli, import, tracking, rule
    actor   TEXT             -- the API key's name, the file, the rule
);
CREATE INDEX lead_changes_by_lead ON lead_changes (lead_id, id);
