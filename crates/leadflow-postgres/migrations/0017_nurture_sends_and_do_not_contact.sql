-- Which run of its steps an enrollment is at: the idempotency key of what a step does is the
-- enrollment and this count, so a step run twice (a claim lost, two servers) does it once.
ALTER TABLE enrollments ADD COLUMN runs BIGINT NOT NULL DEFAULT 0;

-- Each email a sequence step sends: planned when its step runs, sent by a job on the queue.
CREATE TABLE email_sends (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id    BIGINT NOT NULL,
    run              BIGINT NOT NULL,  -- the enrollment's run of steps that planned it
    lead_id          BIGINT NOT NULL,
    sequence         TEXT NOT NULL,
    step             TEXT NOT NULL,
    variant          TEXT,              -- the A/B variant, for a send step that has several
    template         TEXT NOT NULL,
    template_version BIGINT,           -- the version rendered, once sent
    status           TEXT NOT NULL,     -- scheduled, sent, failed, cancelled
    due_at           BIGINT NOT NULL,  -- when it goes (under the cap, in the lead's send hours)
    to_address       TEXT,              -- as sent
    from_address     TEXT,
    message_id       TEXT,
    sent_at          BIGINT,
    error            TEXT,              -- why it failed or was cancelled
    created_at       BIGINT NOT NULL
);
-- Sent at most once per run of a step.
CREATE UNIQUE INDEX email_sends_once ON email_sends (enrollment_id, run);
-- The frequency cap reads a lead's recent sends.
CREATE INDEX email_sends_by_lead ON email_sends (lead_id, due_at);
CREATE INDEX email_sends_by_sequence ON email_sends (sequence, id);
-- Replies and bounces name the message they answer.
CREATE INDEX email_sends_by_message ON email_sends (message_id) WHERE message_id IS NOT NULL;

-- The do-not-contact list: an address not to contact on a channel, and why. Kept by address,
-- not by lead, so that it outlives the lead (deleted, merged, imported again).
CREATE TABLE do_not_contact (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    address    TEXT NOT NULL,   -- lower-cased, as leads' emails are
    channel    TEXT NOT NULL,   -- email, phone
    reason     TEXT NOT NULL,   -- unsubscribed, bounced, complained, manual
    note       TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX do_not_contact_once ON do_not_contact (address, channel);
