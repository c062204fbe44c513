-- API keys for `leadflow serve`. Only a SHA-256 of each secret is kept.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    prefix     TEXT NOT NULL,              -- the secret's first characters, to tell keys apart
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
