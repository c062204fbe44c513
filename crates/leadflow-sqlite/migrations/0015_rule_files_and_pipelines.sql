-- Rule files (sales pipelines, assignment rules, SLA policies), stored as written like models:
-- every version kept, one version active per kind and name (several pipelines are active at
-- once: inbound, partner, ...).
CREATE TABLE rule_files (
    version      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,   -- pipeline, assignment, sla
    name         TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    activated_at INTEGER
);
CREATE UNIQUE INDEX rule_files_by_source ON rule_files (kind, source);
CREATE TABLE active_rule_files (
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL REFERENCES rule_files (version),
    PRIMARY KEY (kind, name)
);

-- Where a lead is in its pipeline: the pipeline's name and the stage's id are profile fields
-- (so the change log, profile_at and the stage history cover them); the times say since when,
-- for rotting and for the cycle's end, and recycles how often it went back to nurture.
ALTER TABLE leads ADD COLUMN pipeline TEXT;
ALTER TABLE leads ADD COLUMN pipeline_stage TEXT;
ALTER TABLE leads ADD COLUMN pipeline_entered_at INTEGER;
ALTER TABLE leads ADD COLUMN stage_entered_at INTEGER;
ALTER TABLE leads ADD COLUMN recycles INTEGER NOT NULL DEFAULT 0;
-- The sweep's two questions: whose cycle is over (by stage, since entering the pipeline), and
-- which MQLs wait to enter a pipeline.
CREATE INDEX leads_by_pipeline_stage ON leads (pipeline, pipeline_stage, pipeline_entered_at) WHERE pipeline IS NOT NULL;
CREATE INDEX leads_unrouted_mqls ON leads (id) WHERE mql_at IS NOT NULL AND pipeline IS NULL;

-- Why a change was made, when someone gave a reason (a lost deal's reason, a rule's).
ALTER TABLE lead_changes ADD COLUMN reason TEXT;
