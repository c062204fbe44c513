//! Where leads are in their pipelines.

use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{PipelineClock, PipelineReads, PipelineWrites, StoreError};

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

impl PipelineReads for PgStore {
    fn stage_counts(&self, pipeline: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT pipeline_stage, count(*) FROM leads WHERE pipeline = $1
                 GROUP BY pipeline_stage ORDER BY pipeline_stage",
                &[&pipeline],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i64>(1) as u64)).collect())
    }

    fn mqls_to_route(
        &self,
        waiting: &[(String, String)],
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let (pipelines, stages): (Vec<&str>, Vec<&str>) = waiting.iter().map(|(p, s)| (p.as_str(), s.as_str())).unzip();
        let rows = self
            .conn()
            .query(
                "SELECT id FROM leads WHERE mql_at IS NOT NULL AND pipeline IS NULL AND id > $1
                 UNION
                 SELECT l.id FROM leads l JOIN unnest($3::TEXT[], $4::TEXT[]) AS w (pipeline, stage)
                     ON l.pipeline = w.pipeline AND l.pipeline_stage = w.stage
                 WHERE l.mql_at IS NOT NULL AND l.id > $1
                 ORDER BY id LIMIT $2",
                &[&after.0, &i64::try_from(limit).unwrap_or(i64::MAX), &pipelines, &stages],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| LeadId(r.get(0))).collect())
    }

    fn cycles_ended(
        &self,
        pipeline: &str,
        stages: &[String],
        entered_before: Timestamp,
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT id FROM leads
                 WHERE pipeline = $3 AND pipeline_stage = ANY($4) AND pipeline_entered_at < $5 AND id > $1
                 ORDER BY id LIMIT $2",
                &[&after.0, &i64::try_from(limit).unwrap_or(i64::MAX), &pipeline, &stages, &entered_before.millis()],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| LeadId(r.get(0))).collect())
    }
}

impl PipelineWrites for PgTx<'_> {
    fn set_pipeline_clock(&mut self, lead: LeadId, clock: &PipelineClock) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        let n = self
            .tx
            .execute(
                "UPDATE leads SET pipeline_entered_at = $2, stage_entered_at = $3, recycles = $4 WHERE id = $1",
                &[&lead.0, &millis(clock.entered_at), &millis(clock.stage_entered_at), &i64::from(clock.recycles)],
            )
            .map_err(backend)?;
        if n == 0 { Err(StoreError::NoSuchLead(lead)) } else { Ok(()) }
    }
}
