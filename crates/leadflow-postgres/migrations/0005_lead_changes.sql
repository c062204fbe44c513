-- The change log: every change of a lead's profile, one row per field, with the values before
-- and after (JSON of the typed value, NULL for "not set"), appended in the transaction that
-- made the change. Keyed by lead first, as every per-lead table.
CREATE TABLE lead_changes (
    lead_id BIGINT NOT NULL,
    id      BIGINT GENERATED ALWAYS AS IDENTITY,
    at      BIGINT NOT NULL,
    field   TEXT NOT NULL,
    old     TEXT,
    new     TEXT,
    cause   TEXT NOT NULL,   -- api, cli, import, tracking, rule
    actor   TEXT,            -- the API key's name, the file, the rule
    PRIMARY KEY (lead_id, id)
);
