-- Follow-up tasks: the next step with a lead, owned by a user, due at an instant.
CREATE TABLE tasks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id       BIGINT NOT NULL,
    kind          TEXT NOT NULL,      -- call, email, meeting, todo
    title         TEXT NOT NULL,
    owner         TEXT,               -- a user's name
    priority      TEXT NOT NULL,      -- low, normal, high
    status        TEXT NOT NULL,      -- open, snoozed, done, cancelled
    due_at        BIGINT NOT NULL,
    snoozed_until BIGINT,
    outcome       TEXT,               -- how it went (done), or why not (cancelled)
    closed_at     BIGINT,
    created_by    TEXT,               -- the API key, `cli`, or the rule that made it
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX tasks_by_lead ON tasks (lead_id, id);
-- An owner's list of what is still to do, soonest first.
CREATE INDEX tasks_pending_by_owner ON tasks (owner, due_at) WHERE status IN ('open', 'snoozed');
