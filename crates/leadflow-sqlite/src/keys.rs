//! API keys, kept as hashes.

use super::*;

impl KeyReads for SqliteStore {
    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id")
            .map_err(backend)?;
        let rows = stmt.query_map([], read_api_key).map_err(backend)?;
        rows.map(|r| r.map_err(backend)?).collect()
    }

    fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
            )
            .map_err(backend)?
            .query_row([hash], read_api_key)
            .optional()
            .map_err(backend)?
            .transpose()
    }
}

impl KeyWrites for SqliteTx<'_> {
    fn create_api_key(
        &mut self,
        name: &str,
        role: Role,
        hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        self.tx
            .execute(
                "INSERT INTO api_keys (name, role, hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, role.name(), hash, prefix, now.millis()],
            )
            .map_err(backend)?;
        Ok(self.tx.last_insert_rowid())
    }

    fn revoke_api_key(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now.millis()],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }
}
