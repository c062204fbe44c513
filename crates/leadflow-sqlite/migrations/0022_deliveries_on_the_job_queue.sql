-- Webhook deliveries ride the job queue: each is a job of kind `webhook-delivery` keyed by the
-- delivery's id, whose status, attempts, due time, lease and last error are the delivery's. Two
-- columns of the queue keep what the outbox's own claims did: jobs of one lane run one at a time
-- in the order queued (one lead's news to one receiver), and jobs of one pool at most a claim's
-- share at a time (one receiver's deliveries). A delivery keeps what was sent and the receiver's
-- last HTTP status, and goes when its finished job is pruned (after `keep_finished_days`; the
-- deliveries finished before this migration count from when they finished).
ALTER TABLE jobs ADD COLUMN lane TEXT;
ALTER TABLE jobs ADD COLUMN pool TEXT;
-- A claim reads the soonest due pending jobs of a kind in no pool from one index, and those of
-- each pool from another (the pools found by skipping through it); it counts the leases each
-- pool holds from the claimed jobs alone; and a job waits for the earlier pending ones of its
-- lane. None of it reads the backlog behind what is taken.
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (kind, due_at, id) WHERE status = 'pending' AND pool IS NULL;
CREATE INDEX jobs_pooled ON jobs (kind, pool, due_at, id) WHERE status = 'pending' AND pool IS NOT NULL;
CREATE INDEX jobs_held ON jobs (pool) WHERE status = 'pending' AND claimed_until IS NOT NULL;
CREATE INDEX jobs_by_lane ON jobs (lane, id) WHERE status = 'pending' AND lane IS NOT NULL;

INSERT INTO jobs (kind, key, payload, status, due_at, attempts, max_attempts, last_error, created_at, finished_at,
                  lane, pool)
SELECT 'webhook-delivery', CAST(id AS TEXT), '{"webhook":' || webhook_id || ',"topic":"' || topic || '"}',
       CASE status WHEN 'delivered' THEN 'done' ELSE status END, next_attempt_at, attempts, max(50, attempts + 1),
       last_error, occurred_at, CASE WHEN status <> 'pending' THEN coalesce(delivered_at, next_attempt_at) END,
       'webhook:' || webhook_id || ':lead:' || lead_id, 'webhook:' || webhook_id
FROM webhook_deliveries ORDER BY id;

-- Rebuilt without the columns the job now holds, its ids never reused (AUTOINCREMENT): a
-- receiver tells deliveries apart by their id.
CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id),
    topic           TEXT NOT NULL,
    lead_id         INTEGER NOT NULL,
    email           TEXT,
    external_id     TEXT,
    occurred_at     INTEGER NOT NULL,
    fit             REAL,
    engagement      REAL,
    total           REAL,
    bucket          TEXT,
    grade           TEXT,
    previous_bucket TEXT,
    detail          TEXT,
    last_status     INTEGER
);
INSERT INTO webhook_deliveries_new
    (id, webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement, total, bucket, grade,
     previous_bucket, detail, last_status)
SELECT id, webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement, total, bucket, grade,
       previous_bucket, detail, last_status
FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_lead ON webhook_deliveries (lead_id);
