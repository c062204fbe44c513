//! How leads ended: what backtests judge against.

use leadflow_core::{LeadId, Outcome, OutcomeKind, Timestamp};
use leadflow_store::{OutcomeReads, OutcomeWrites, StoreError};

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend, corrupt};

impl OutcomeReads for PgStore {
    fn outcomes(&self) -> Result<Vec<(LeadId, Outcome)>, StoreError> {
        let rows =
            self.conn().query("SELECT lead_id, kind, at FROM outcomes ORDER BY lead_id", &[]).map_err(backend)?;
        rows.iter()
            .map(|r| {
                let kind: String = r.get(1);
                let kind = OutcomeKind::parse(&kind).ok_or_else(|| corrupt(format!("outcome `{kind}`")))?;
                Ok((LeadId(r.get(0)), Outcome { kind, at: Timestamp::from_millis(r.get(2)) }))
            })
            .collect()
    }
}

impl OutcomeWrites for PgTx<'_> {
    fn set_outcome(&mut self, lead: LeadId, outcome: Option<Outcome>, now: Timestamp) -> Result<(), StoreError> {
        match outcome {
            Some(o) => self.tx.execute(
                "INSERT INTO outcomes (lead_id, kind, at, recorded_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (lead_id) DO UPDATE SET kind = excluded.kind, at = excluded.at,
                     recorded_at = excluded.recorded_at",
                &[&lead.0, &o.kind.as_str(), &o.at.millis(), &now.millis()],
            ),
            None => self.tx.execute("DELETE FROM outcomes WHERE lead_id = $1", &[&lead.0]),
        }
        .map_err(backend)?;
        Ok(())
    }
}
