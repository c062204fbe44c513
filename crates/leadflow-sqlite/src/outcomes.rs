//! How leads ended: what backtests judge against.

use super::*;

impl OutcomeReads for SqliteStore {
    fn outcomes(&self) -> Result<Vec<(LeadId, Outcome)>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT lead_id, kind, at FROM outcomes ORDER BY lead_id").map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            .map_err(backend)?;
        rows.map(|row| {
            let (lead, kind, at) = row.map_err(backend)?;
            let kind = OutcomeKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("outcome `{kind}`")))?;
            Ok((LeadId(lead), Outcome { kind, at: Timestamp::from_millis(at) }))
        })
        .collect()
    }
}

impl OutcomeWrites for SqliteTx<'_> {
    fn set_outcome(&mut self, lead: LeadId, outcome: Option<Outcome>, now: Timestamp) -> Result<(), StoreError> {
        match outcome {
            Some(o) => self.tx.prepare_cached(
                "INSERT INTO outcomes (lead_id, kind, at, recorded_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (lead_id) DO UPDATE SET kind = excluded.kind, at = excluded.at, recorded_at = excluded.recorded_at",
            )
            .and_then(|mut s| s.execute(params![lead.0, o.kind.as_str(), o.at.millis(), now.millis()])),
            None => self.tx.prepare_cached("DELETE FROM outcomes WHERE lead_id = ?1").and_then(|mut s| s.execute([lead.0])),
        }
        .map_err(backend)?;
        Ok(())
    }
}
