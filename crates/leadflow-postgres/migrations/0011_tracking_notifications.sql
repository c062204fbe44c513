-- Webhook topics of lead tracking (lead.assigned, lead.stage_changed, lead.recycled, task.due,
-- task.overdue, sla.breached): a delivery may be of a lead not scored yet, so its score columns
-- may be empty, and it carries what happened (`detail`, JSON).
ALTER TABLE webhook_deliveries ALTER COLUMN fit DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN engagement DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN total DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN bucket DROP NOT NULL;
ALTER TABLE webhook_deliveries ALTER COLUMN grade DROP NOT NULL;
ALTER TABLE webhook_deliveries ADD COLUMN detail TEXT;

-- A task's reminders (task.due at its due time, task.overdue once its owner's day is over), each
-- sent once per due time: `remind_at` is when the next is due (NULL: none left), so that the sweep
-- reads only what it has to tell; a snooze makes the task due anew.
ALTER TABLE tasks ADD COLUMN due_notified_at BIGINT;
ALTER TABLE tasks ADD COLUMN overdue_notified_at BIGINT;
ALTER TABLE tasks ADD COLUMN remind_at BIGINT;
UPDATE tasks SET remind_at = CASE status WHEN 'open' THEN due_at WHEN 'snoozed' THEN snoozed_until END;
CREATE INDEX tasks_to_remind ON tasks (remind_at, id) WHERE remind_at IS NOT NULL;
