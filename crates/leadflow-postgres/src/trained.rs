//! Trained models and each lead's latest prediction.

use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{StoreError, StoredPrediction, TrainedReads, TrainedRecord, TrainedWrites};

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

impl TrainedReads for PgStore {
    fn trained_models(&self) -> Result<Vec<TrainedRecord>, StoreError> {
        let rows = self
            .conn()
            .query("SELECT version, name, artifact, created_at, active FROM trained_models ORDER BY version", &[])
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| TrainedRecord {
                version: r.get(0),
                name: r.get(1),
                artifact: r.get(2),
                created_at: Timestamp::from_millis(r.get(3)),
                active: r.get(4),
            })
            .collect())
    }

    fn prediction(&self, lead: LeadId) -> Result<Option<StoredPrediction>, StoreError> {
        let row = self
            .conn()
            .query_opt("SELECT version, probability, at FROM predictions WHERE lead_id = $1", &[&lead.0])
            .map_err(backend)?;
        Ok(row.map(|r| StoredPrediction {
            version: r.get(0),
            probability: r.get(1),
            at: Timestamp::from_millis(r.get(2)),
        }))
    }

    fn write_predictions(
        &mut self,
        version: i64,
        at: Timestamp,
        predictions: &[(LeadId, f64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.own_transaction()?;
        let leads: Vec<i64> = predictions.iter().map(|(l, _)| l.0).collect();
        let probabilities: Vec<f64> = predictions.iter().map(|(_, p)| *p).collect();
        // One statement for the batch: the arrays are unnested into rows.
        tx.execute(
            "INSERT INTO predictions (lead_id, version, probability, at)
             SELECT lead_id, $3, probability, $4 FROM unnest($1::BIGINT[], $2::DOUBLE PRECISION[]) AS p (lead_id, probability)
             ON CONFLICT (lead_id) DO UPDATE SET version = excluded.version, probability = excluded.probability,
                 at = excluded.at",
            &[&leads, &probabilities, &version, &at.millis()],
        )
        .map_err(backend)?;
        tx.conn.commit().map_err(backend)
    }
}

impl TrainedWrites for PgTx<'_> {
    fn save_trained(&mut self, name: &str, artifact: &[u8], now: Timestamp) -> Result<i64, StoreError> {
        let row = self
            .tx
            .query_one(
                "INSERT INTO trained_models (name, artifact, created_at) VALUES ($1, $2, $3) RETURNING version",
                &[&name, &artifact, &now.millis()],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn activate_trained(&mut self, version: i64, now: Timestamp) -> Result<(), StoreError> {
        let exists =
            self.tx.query_opt("SELECT 1 FROM trained_models WHERE version = $1", &[&version]).map_err(backend)?;
        if exists.is_none() {
            return Err(StoreError::NoSuchModel(version));
        }
        self.tx
            .execute(
                "UPDATE trained_models SET active = (version = $1),
                     activated_at = CASE WHEN version = $1 THEN $2 ELSE activated_at END",
                &[&version, &now.millis()],
            )
            .map_err(backend)?;
        Ok(())
    }
}
