//! Scores, their history and the kept scoring states.

use leadflow_core::Grade;
use leadflow_core::report::{Names, ScorePoint};

use super::*;

impl ScoreReads for SqliteStore {
    fn score_points(&self, names: &mut Names) -> Result<Vec<(LeadId, ScorePoint)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT lead_id, at, new_total, new_bucket, new_grade FROM score_history ORDER BY lead_id, id")
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let mut points = Vec::new();
        while let Some(r) = rows.next().map_err(backend)? {
            let grade: String = r.get(4).map_err(backend)?;
            let grade = Grade::parse(&grade).ok_or_else(|| StoreError::Corrupt(format!("grade `{grade}`")))?;
            let bucket =
                names.intern(r.get_ref(3).map_err(backend)?.as_str().map_err(|e| StoreError::Corrupt(e.to_string()))?);
            let at = Timestamp::from_millis(r.get(1).map_err(backend)?);
            points.push((
                LeadId(r.get(0).map_err(backend)?),
                ScorePoint { at, total: r.get(2).map_err(backend)?, bucket, grade },
            ));
        }
        Ok(points)
    }

    fn history_of(&self, lead: LeadId, limit: usize) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {HISTORY_COLUMNS} FROM score_history WHERE lead_id = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![lead.0, limit as i64], read_history).map_err(backend)?;
        rows.map(|r| r.map_err(backend)?).collect()
    }

    fn for_each_score(&self, visit: &mut dyn FnMut(LeadId, &StoredScore)) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT s.lead_id, {SCORE_COLUMNS} FROM scores s WHERE s.total IS NOT NULL ORDER BY s.lead_id"
            ))
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let id = LeadId(row.get(0).map_err(backend)?);
            if let Some(score) = read_score(row, 1).map_err(backend)?? {
                visit(id, &score);
            }
        }
        Ok(())
    }
}

impl ScoreWrites for SqliteTx<'_> {
    fn score_state(&mut self, lead: LeadId, model: ModelVersion) -> Result<Option<Vec<u8>>, StoreError> {
        self.tx
            .prepare_cached("SELECT state FROM scores WHERE lead_id = ?1 AND model_version = ?2 AND stale = 0")
            .map_err(backend)?
            .query_row(params![lead.0, model.0], |r| r.get::<_, Option<Vec<u8>>>(0))
            .optional()
            .map_err(backend)
            .map(Option::flatten)
    }

    fn write_score(&mut self, w: &ScoreWrite) -> Result<(), StoreError> {
        write_score(&self.tx, w, None).map(drop)
    }

    fn mark_stale(&mut self, lead: LeadId) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE scores SET stale = 1, revision = revision + 1 WHERE lead_id = ?1")
            .map_err(backend)?
            .execute([lead.0])
            .map_err(backend)?;
        Ok(())
    }

    fn clear_mql(&mut self, lead: LeadId) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE leads SET mql_at = NULL WHERE id = ?1")
            .map_err(backend)?
            .execute([lead.0])
            .map_err(backend)?;
        Ok(())
    }
}
