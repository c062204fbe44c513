//! Sales pipelines: versions, the active one of each name, and where leads are in them.

use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{PipelineClock, PipelineReads, PipelineRecord, PipelineVersion, PipelineWrites, StoreError};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

const PIPELINE_COLUMNS: &str = "p.version, p.name, p.source, p.created_at, p.activated_at, a.version IS NOT NULL";

fn read_pipeline(r: &Row) -> PipelineRecord {
    PipelineRecord {
        version: PipelineVersion(r.get(0)),
        name: r.get(1),
        source: r.get(2),
        created_at: Timestamp::from_millis(r.get(3)),
        activated_at: r.get::<_, Option<i64>>(4).map(Timestamp::from_millis),
        active: r.get(5),
    }
}

impl PipelineReads for PgStore {
    fn pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {PIPELINE_COLUMNS} FROM pipelines p LEFT JOIN active_pipelines a ON a.version = p.version
                     ORDER BY p.version"
                ),
                &[],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(read_pipeline).collect())
    }

    fn active_pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {PIPELINE_COLUMNS} FROM pipelines p JOIN active_pipelines a ON a.version = p.version
                     ORDER BY p.name"
                ),
                &[],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(read_pipeline).collect())
    }

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
    fn save_pipeline(&mut self, name: &str, source: &str, now: Timestamp) -> Result<PipelineVersion, StoreError> {
        // Two servers saving the same source at once: the digest's unique index keeps one.
        let inserted = self
            .tx
            .query_opt(
                "INSERT INTO pipelines (name, source, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (md5(source)) DO NOTHING RETURNING version",
                &[&name, &source, &now.millis()],
            )
            .map_err(backend)?;
        let row = match inserted {
            Some(row) => row,
            None => self
                .tx
                .query_one("SELECT version FROM pipelines WHERE md5(source) = md5($1) AND source = $1", &[&source])
                .map_err(backend)?,
        };
        Ok(PipelineVersion(row.get(0)))
    }

    fn activate_pipeline(&mut self, version: PipelineVersion, now: Timestamp) -> Result<(), StoreError> {
        let row = self
            .tx
            .query_opt(
                "UPDATE pipelines SET activated_at = $2 WHERE version = $1 RETURNING name",
                &[&version.0, &now.millis()],
            )
            .map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NoSuchPipeline(version.0));
        };
        let name: String = row.get(0);
        self.tx
            .execute(
                "INSERT INTO active_pipelines (name, version) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                &[&name, &version.0],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn deactivate_pipeline(&mut self, name: &str) -> Result<bool, StoreError> {
        let n = self.tx.execute("DELETE FROM active_pipelines WHERE name = $1", &[&name]).map_err(backend)?;
        Ok(n > 0)
    }

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
