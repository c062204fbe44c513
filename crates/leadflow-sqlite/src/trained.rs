//! Trained models and each lead's latest prediction.

use super::*;

impl TrainedReads for SqliteStore {
    fn trained_models(&self) -> Result<Vec<TrainedRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT version, name, artifact, created_at, active FROM trained_models ORDER BY version")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(TrainedRecord {
                    version: r.get(0)?,
                    name: r.get(1)?,
                    artifact: r.get(2)?,
                    created_at: Timestamp::from_millis(r.get(3)?),
                    active: r.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)).collect()
    }

    fn prediction(&self, lead: LeadId) -> Result<Option<StoredPrediction>, StoreError> {
        self.conn
            .prepare_cached("SELECT version, probability, at FROM predictions WHERE lead_id = ?1")
            .and_then(|mut s| {
                s.query_row([lead.0], |r| {
                    Ok(StoredPrediction {
                        version: r.get(0)?,
                        probability: r.get(1)?,
                        at: Timestamp::from_millis(r.get(2)?),
                    })
                })
                .optional()
            })
            .map_err(backend)
    }

    fn write_predictions(
        &mut self,
        version: i64,
        at: Timestamp,
        predictions: &[(LeadId, f64)],
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(backend)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO predictions (lead_id, version, probability, at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (lead_id) DO UPDATE SET version = excluded.version,
                         probability = excluded.probability, at = excluded.at",
                )
                .map_err(backend)?;
            for (lead, p) in predictions {
                stmt.execute(params![lead.0, version, p, at.millis()]).map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }
}

impl TrainedWrites for SqliteTx<'_> {
    fn save_trained(&mut self, name: &str, artifact: &[u8], now: Timestamp) -> Result<i64, StoreError> {
        self.tx
            .prepare_cached("INSERT INTO trained_models (name, artifact, created_at) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![name, artifact, now.millis()]))
            .map_err(backend)?;
        Ok(self.tx.last_insert_rowid())
    }

    fn activate_trained(&mut self, version: i64, now: Timestamp) -> Result<(), StoreError> {
        let exists = self
            .tx
            .prepare_cached("SELECT 1 FROM trained_models WHERE version = ?1")
            .and_then(|mut s| s.exists([version]))
            .map_err(backend)?;
        if !exists {
            return Err(StoreError::NoSuchModel(version));
        }
        self.tx
            .execute(
                "UPDATE trained_models SET active = (version = ?1),
                     activated_at = CASE WHEN version = ?1 THEN ?2 ELSE activated_at END",
                params![version, now.millis()],
            )
            .map_err(backend)?;
        Ok(())
    }
}
