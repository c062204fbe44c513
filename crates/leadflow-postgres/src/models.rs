//! Scoring models: versions and which one is active.

use leadflow_core::Timestamp;
use leadflow_store::{ModelReads, ModelRecord, ModelVersion, ModelWrites, StoreError};

use crate::sql::Sql;
use crate::{PgStore, PgTx, active_version, backend, read_model};

const MODEL_COLUMNS: &str = "version, name, source, created_at, activated_at";

impl ModelReads for PgStore {
    fn models(&self) -> Result<Vec<ModelRecord>, StoreError> {
        let mut conn = self.conn();
        let active = active_version(&mut conn)?;
        let rows = conn.query(&format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY version"), &[]).map_err(backend)?;
        Ok(rows.iter().map(|r| read_model(r, active)).collect())
    }

    fn active_model(&self) -> Result<Option<ModelRecord>, StoreError> {
        let mut conn = self.conn();
        let Some(active) = active_version(&mut conn)? else {
            return Ok(None);
        };
        let row = conn
            .query_opt(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE version = $1"), &[&active.0])
            .map_err(backend)?;
        Ok(row.map(|r| read_model(&r, Some(active))))
    }

    fn active_version(&self) -> Result<Option<ModelVersion>, StoreError> {
        active_version(&mut self.conn())
    }
}

impl ModelWrites for PgTx<'_> {
    fn save_model(&mut self, name: &str, source: &str, now: Timestamp) -> Result<ModelVersion, StoreError> {
        // Two servers saving the same source at once: the digest's unique index keeps one.
        let inserted = self
            .tx
            .query_opt(
                "INSERT INTO models (name, source, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (md5(source)) DO NOTHING RETURNING version",
                &[&name, &source, &now.millis()],
            )
            .map_err(backend)?;
        let row = match inserted {
            Some(row) => row,
            None => self
                .tx
                .query_one("SELECT version FROM models WHERE md5(source) = md5($1) AND source = $1", &[&source])
                .map_err(backend)?,
        };
        Ok(ModelVersion(row.get(0)))
    }

    fn activate_model(&mut self, version: ModelVersion, now: Timestamp) -> Result<(), StoreError> {
        let n = self
            .tx
            .execute("UPDATE models SET activated_at = $2 WHERE version = $1", &[&version.0, &now.millis()])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NoSuchModel(version.0));
        }
        self.tx
            .execute(
                "INSERT INTO settings (key, value) VALUES ('active_model', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&version.0.to_string()],
            )
            .map_err(backend)?;
        Ok(())
    }
}
