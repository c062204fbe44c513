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
-- sent once per due time: a snooze clears them.
ALTER TABLE tasks ADD COLUMN due_notified_at BIGINT;
ALTER TABLE tasks ADD COLUMN overdue_notified_at BIGINT;
CREATE INDEX tasks_to_remind ON tasks (due_at) WHERE overdue_notified_at IS NULL AND status IN ('open', 'snoozed');
