-- SLA clocks: one per rule of the SLA policy a lead's clock runs for, in one owner's working
-- time, from its start until it is met or stopped.
CREATE TABLE sla_clocks (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id          BIGINT NOT NULL,
    policy_version   BIGINT NOT NULL,   -- rule_files.version of the SLA policy
    rule_id          TEXT NOT NULL,
    owner            TEXT,               -- NULL while the lead waits for an owner
    started_at       BIGINT,            -- NULL while it waits
    due_at           BIGINT,            -- NULL while it waits, or with no working time to count
    met_at           BIGINT,
    met_how          TEXT,               -- accepted, rejected, touched, stage_left
    breached_at      BIGINT,            -- when the sweep recorded it past due
    escalations_done TEXT NOT NULL DEFAULT '',  -- the steps run, comma-separated indices
    check_at         BIGINT,            -- when the sweep looks next; NULL: nothing to do
    stopped_at       BIGINT,
    stopped_why      TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX sla_clocks_by_lead ON sla_clocks (lead_id, id);
-- The sweep's question: what is due to be looked at.
CREATE INDEX sla_clocks_to_check ON sla_clocks (check_at, id)
    WHERE check_at IS NOT NULL AND met_at IS NULL AND stopped_at IS NULL;
-- Compliance and an owner's clocks, by when they started.
CREATE INDEX sla_clocks_by_owner ON sla_clocks (owner, started_at);
