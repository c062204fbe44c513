-- Webhooks with a persistent outbox, and anonymous website visitors.

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,              -- signs deliveries (HMAC-SHA256), so kept as given
    topics     TEXT NOT NULL,              -- space-separated: "lead.mql lead.created"
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);

-- One row per notification per subscribed webhook, written in the transaction that caused it:
-- a committed change is never without its deliveries, and a restart loses none.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    topic           TEXT NOT NULL,
    lead_id         INTEGER NOT NULL,
    email           TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    fit             REAL NOT NULL,
    engagement      REAL NOT NULL,
    total           REAL NOT NULL,
    bucket          TEXT NOT NULL,
    grade           TEXT NOT NULL,
    previous_bucket TEXT,
    status          TEXT NOT NULL,         -- pending, delivered, failed, cancelled
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_lead ON webhook_deliveries (lead_id);

CREATE TABLE visitors (
    visitor_id    TEXT PRIMARY KEY,
    lead_id       INTEGER NOT NULL,
    identified_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visitors_by_lead ON visitors (lead_id);

-- Events of visitors not yet identified; they move to the lead's events when the visitor is.
CREATE TABLE visitor_events (
    key         TEXT PRIMARY KEY,
    visitor_id  TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    shape_id    INTEGER NOT NULL REFERENCES event_shapes (id),
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX visitor_events_by_visitor ON visitor_events (visitor_id, ts);
