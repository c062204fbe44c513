//! API keys, kept as hashes.

use leadflow_core::{Role, Timestamp};
use leadflow_store::{ApiKeyRecord, KeyReads, KeyWrites, StoreError};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend, corrupt};

const KEY_COLUMNS: &str = "id, name, role, prefix, created_at, revoked_at";

fn read_api_key(r: &Row) -> Result<ApiKeyRecord, StoreError> {
    let role: String = r.get(2);
    Ok(ApiKeyRecord {
        id: r.get(0),
        name: r.get(1),
        role: Role::parse(&role).ok_or_else(|| corrupt(format!("api key role `{role}`")))?,
        prefix: r.get(3),
        created_at: Timestamp::from_millis(r.get(4)),
        revoked_at: r.get::<_, Option<i64>>(5).map(Timestamp::from_millis),
    })
}

impl KeyReads for PgStore {
    fn api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows =
            self.conn().query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY id"), &[]).map_err(backend)?;
        rows.iter().map(read_api_key).collect()
    }

    fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = self
            .conn()
            .query_opt(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE hash = $1 AND revoked_at IS NULL"), &[&hash])
            .map_err(backend)?;
        row.as_ref().map(read_api_key).transpose()
    }
}

impl KeyWrites for PgTx<'_> {
    fn create_api_key(
        &mut self,
        name: &str,
        role: Role,
        hash: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let row = self
            .tx
            .query_one(
                "INSERT INTO api_keys (name, role, hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&name, &role.name(), &hash, &prefix, &now.millis()],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn revoke_api_key(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &now.millis()])
            .map_err(backend)?;
        Ok(n > 0)
    }
}
