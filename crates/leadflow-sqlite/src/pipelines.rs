//! Sales pipelines: versions, the active one of each name, and where leads are in them.

use leadflow_store::{PipelineClock, PipelineReads, PipelineRecord, PipelineVersion, PipelineWrites};

use super::*;

const PIPELINE_COLUMNS: &str = "p.version, p.name, p.source, p.created_at, p.activated_at, a.version IS NOT NULL";

fn read_pipeline(r: &rusqlite::Row<'_>) -> rusqlite::Result<PipelineRecord> {
    Ok(PipelineRecord {
        version: PipelineVersion(r.get(0)?),
        name: r.get(1)?,
        source: r.get(2)?,
        created_at: Timestamp::from_millis(r.get(3)?),
        activated_at: r.get::<_, Option<i64>>(4)?.map(Timestamp::from_millis),
        active: r.get(5)?,
    })
}

impl PipelineReads for SqliteStore {
    fn pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {PIPELINE_COLUMNS} FROM pipelines p LEFT JOIN active_pipelines a ON a.version = p.version
                 ORDER BY p.version"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([], read_pipeline).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn active_pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {PIPELINE_COLUMNS} FROM pipelines p JOIN active_pipelines a ON a.version = p.version
                 ORDER BY p.name"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([], read_pipeline).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

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
    fn save_pipeline(&mut self, name: &str, source: &str, now: Timestamp) -> Result<PipelineVersion, StoreError> {
        let existing: Option<i64> = self
            .tx
            .query_row("SELECT version FROM pipelines WHERE source = ?1", [source], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(v) = existing {
            return Ok(PipelineVersion(v));
        }
        self.tx
            .execute(
                "INSERT INTO pipelines (name, source, created_at) VALUES (?1, ?2, ?3)",
                params![name, source, now.millis()],
            )
            .map_err(backend)?;
        Ok(PipelineVersion(self.tx.last_insert_rowid()))
    }

    fn activate_pipeline(&mut self, version: PipelineVersion, now: Timestamp) -> Result<(), StoreError> {
        let name: Option<String> = self
            .tx
            .query_row(
                "UPDATE pipelines SET activated_at = ?2 WHERE version = ?1 RETURNING name",
                params![version.0, now.millis()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        let Some(name) = name else {
            return Err(StoreError::NoSuchPipeline(version.0));
        };
        self.tx
            .execute(
                "INSERT INTO active_pipelines (name, version) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                params![name, version.0],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn deactivate_pipeline(&mut self, name: &str) -> Result<bool, StoreError> {
        let n = self.tx.execute("DELETE FROM active_pipelines WHERE name = ?1", [name]).map_err(backend)?;
        Ok(n > 0)
    }

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
