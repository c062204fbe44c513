-- Leads in nurture sequences: one row per enrollment, the step it is at and when that step runs;
-- exited enrollments stay, with when and why (re-enrollment policies and metrics read them).
CREATE TABLE enrollments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     BIGINT NOT NULL,
    sequence    TEXT NOT NULL,      -- the sequence's name: a new version takes its enrollments over
    version     BIGINT NOT NULL,   -- the rule file version it was enrolled under
    step        TEXT,               -- the step to run next; null once it has exited
    due_at      BIGINT,            -- when that step runs
    enrolled_by TEXT NOT NULL,      -- `rule`, `cli`, an API key's name, `import`, or a sequence's
    enrolled_at BIGINT NOT NULL,
    exited_at   BIGINT,
    exit_reason TEXT
);
-- Never twice in the same sequence at once.
CREATE UNIQUE INDEX enrollments_active ON enrollments (lead_id, sequence) WHERE exited_at IS NULL;
CREATE INDEX enrollments_by_lead ON enrollments (lead_id, id);
CREATE INDEX enrollments_by_sequence ON enrollments (sequence, id);
-- What the scheduler runs next.
CREATE INDEX enrollments_due ON enrollments (due_at) WHERE exited_at IS NULL;
