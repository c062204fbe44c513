-- Webhook deliveries ride the job queue: each is a job of kind `webhook-delivery` keyed by the
-- delivery's id, whose status, attempts, due time, lease and last error are the delivery's. Two
-- columns of the queue keep what the outbox's own claims did: jobs of one lane run one at a time
-- in the order queued (one lead's news to one receiver), and jobs of one pool at most a claim's
-- share at a time (one receiver's deliveries). A delivery keeps what was sent and the receiver's
-- last HTTP status, and goes when its finished job is pruned (after `keep_finished_days`; the
-- deliveries finished before this migration count from when they finished).
ALTER TABLE jobs ADD COLUMN lane TEXT, ADD COLUMN pool TEXT;
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
SELECT 'webhook-delivery', id::TEXT, '{"webhook":' || webhook_id || ',"topic":"' || topic || '"}',
       CASE status WHEN 'delivered' THEN 'done' ELSE status END, next_attempt_at, attempts,
       greatest(50, attempts + 1), last_error, occurred_at,
       CASE WHEN status <> 'pending' THEN coalesce(delivered_at, next_attempt_at) END,
       'webhook:' || webhook_id || ':lead:' || lead_id, 'webhook:' || webhook_id
FROM webhook_deliveries ORDER BY id;

ALTER TABLE webhook_deliveries
    DROP COLUMN status, DROP COLUMN attempts, DROP COLUMN next_attempt_at, DROP COLUMN last_error,
    DROP COLUMN delivered_at, DROP COLUMN claimed_until;
