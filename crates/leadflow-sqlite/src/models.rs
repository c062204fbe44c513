//! Scoring models: versions and which one is active.

use super::*;

impl ModelReads for SqliteStore {
    fn models(&self) -> Result<Vec<ModelRecord>, StoreError> {
        let active = active_version(&self.conn)?;
        let mut stmt = self
            .conn
            .prepare("SELECT version, name, source, created_at, activated_at FROM models ORDER BY version")
            .map_err(backend)?;
        let rows = stmt.query_map([], |r| read_model(r, active)).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn active_model(&self) -> Result<Option<ModelRecord>, StoreError> {
        let Some(active) = active_version(&self.conn)? else {
            return Ok(None);
        };
        self.conn
            .query_row(
                "SELECT version, name, source, created_at, activated_at FROM models WHERE version = ?1",
                [active.0],
                |r| read_model(r, Some(active)),
            )
            .optional()
            .map_err(backend)
    }

    fn active_version(&self) -> Result<Option<ModelVersion>, StoreError> {
        active_version(&self.conn)
    }
}

impl ModelWrites for SqliteTx<'_> {
    fn save_model(&mut self, name: &str, source: &str, now: Timestamp) -> Result<ModelVersion, StoreError> {
        let existing: Option<i64> = self
            .tx
            .query_row("SELECT version FROM models WHERE source = ?1", [source], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(v) = existing {
            return Ok(ModelVersion(v));
        }
        self.tx
            .execute(
                "INSERT INTO models (name, source, created_at) VALUES (?1, ?2, ?3)",
                params![name, source, now.millis()],
            )
            .map_err(backend)?;
        Ok(ModelVersion(self.tx.last_insert_rowid()))
    }

    fn activate_model(&mut self, version: ModelVersion, now: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .execute("UPDATE models SET activated_at = ?2 WHERE version = ?1", params![version.0, now.millis()])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NoSuchModel(version.0));
        }
        self.tx
            .execute(
                "INSERT INTO settings (key, value) VALUES ('active_model', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [version.0.to_string()],
            )
            .map_err(backend)?;
        Ok(())
    }
}
