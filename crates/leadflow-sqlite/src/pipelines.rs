//! Where leads are in their pipelines.

use leadflow_store::{PipelineClock, PipelineReads, PipelineWrites};

use super::*;

impl PipelineReads for SqliteStore {
    fn stage_counts(&self, pipeline: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT pipeline_stage, count(*) FROM leads WHERE pipeline = ?1
                 GROUP BY pipeline_stage ORDER BY pipeline_stage",
            )
            .map_err(backend)?;
        let rows = stmt.query_map([pipeline], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn mqls_to_route(
        &self,
        waiting: &[(String, String)],
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut ids = ids_of(
            &self.conn,
            "SELECT id FROM leads WHERE mql_at IS NOT NULL AND pipeline IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
            params![after.0, limit],
        )?;
        for (pipeline, stage) in waiting {
            ids.extend(ids_of(
                &self.conn,
                "SELECT id FROM leads WHERE pipeline = ?3 AND pipeline_stage = ?4 AND mql_at IS NOT NULL AND id > ?1
                 ORDER BY id LIMIT ?2",
                params![after.0, limit, pipeline, stage],
            )?);
        }
        ids.sort_unstable();
        ids.truncate(limit as usize);
        Ok(ids)
    }

    fn cycles_ended(
        &self,
        pipeline: &str,
        stages: &[String],
        entered_before: Timestamp,
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut ids = Vec::new();
        for stage in stages {
            ids.extend(ids_of(
                &self.conn,
                "SELECT id FROM leads WHERE pipeline = ?3 AND pipeline_stage = ?4 AND pipeline_entered_at < ?5
                 AND id > ?1 ORDER BY id LIMIT ?2",
                params![after.0, limit, pipeline, stage, entered_before.millis()],
            )?);
        }
        ids.sort_unstable();
        ids.truncate(limit as usize);
        Ok(ids)
    }
}

fn ids_of(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<LeadId>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params, |r| r.get(0).map(LeadId)).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

impl PipelineWrites for SqliteTx<'_> {
    fn set_pipeline_clock(&mut self, lead: LeadId, clock: &PipelineClock) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        let n = self
            .tx
            .prepare_cached(
                "UPDATE leads SET pipeline_entered_at = ?2, stage_entered_at = ?3, recycles = ?4 WHERE id = ?1",
            )
            .map_err(backend)?
            .execute(params![lead.0, millis(clock.entered_at), millis(clock.stage_entered_at), clock.recycles])
            .map_err(backend)?;
        if n == 0 { Err(StoreError::NoSuchLead(lead)) } else { Ok(()) }
    }
}
