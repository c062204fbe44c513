-- The sweep starts the SLA clocks of leads a rescore or an import made marketing-qualified: it
-- looks for the recent MQLs without one.
CREATE INDEX leads_by_mql_time ON leads (mql_at) WHERE mql_at IS NOT NULL;
