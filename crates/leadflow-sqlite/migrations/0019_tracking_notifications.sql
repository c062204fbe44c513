-- Webhook topics of lead tracking (lead.assigned, lead.stage_changed, lead.recycled, task.due,
-- task.overdue, sla.breached): a delivery may be of a lead not scored yet, so its score columns
-- may be empty, and it carries what happened (`detail`, JSON). SQLite cannot drop NOT NULL in
-- place, so the table is rebuilt, every row and id kept.
CREATE TABLE webhook_deliveries_new (
    id              INTEGER PRIMARY KEY,
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
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    claimed_until   INTEGER
);
INSERT INTO webhook_deliveries_new
    (id, webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement, total, bucket, grade,
     previous_bucket, status, attempts, next_attempt_at, last_status, last_error, delivered_at, claimed_until)
SELECT id, webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement, total, bucket, grade,
       previous_bucket, status, attempts, next_attempt_at, last_status, last_error, delivered_at, claimed_until
FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_lead ON webhook_deliveries (lead_id);

-- A task's reminders (task.due at its due time, task.overdue once its owner's day is over), each
-- sent once per due time: `remind_at` is when the next is due (NULL: none left), so that the sweep
-- reads only what it has to tell; a snooze makes the task due anew.
ALTER TABLE tasks ADD COLUMN due_notified_at INTEGER;
ALTER TABLE tasks ADD COLUMN overdue_notified_at INTEGER;
ALTER TABLE tasks ADD COLUMN remind_at INTEGER;
UPDATE tasks SET remind_at = CASE status WHEN 'open' THEN due_at WHEN 'snoozed' THEN snoozed_until END;
CREATE INDEX tasks_to_remind ON tasks (remind_at, id) WHERE remind_at IS NOT NULL;
