//! Scores, their history and the kept scoring states.

use super::*;

impl ScoreReads for SqliteStore {
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
