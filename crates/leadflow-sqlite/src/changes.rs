//! The change log: each field's change of a lead, appended in the transaction that made it.

use super::*;

impl ChangeReads for SqliteStore {
    fn changes_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, at, field, old, new, cause, actor, reason FROM lead_changes
                 WHERE lead_id = ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![lead.0, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                let row = ChangeRow { field: r.get(2)?, old: r.get(3)?, new: r.get(4)? };
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, row, r.get::<_, String>(5)?, r.get(6)?, r.get(7)?))
            })
            .map_err(backend)?;
        rows.map(|row| {
            let (id, at, row, cause, actor, reason) = row.map_err(backend)?;
            read_change(id, at, row, &cause, actor, reason)
        })
        .collect()
    }
}

impl ChangeWrites for SqliteTx<'_> {
    fn record_changes(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        origin: &ChangeOrigin,
        changes: &[FieldChange],
    ) -> Result<(), StoreError> {
        record(&self.tx, lead, at, origin, changes)
    }
}

pub(crate) fn record(
    conn: &Connection,
    lead: LeadId,
    at: Timestamp,
    origin: &ChangeOrigin,
    changes: &[FieldChange],
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO lead_changes (lead_id, at, field, old, new, cause, actor, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(backend)?;
    for change in changes {
        let row = ChangeRow::of(change);
        let cause = origin.cause.as_str();
        stmt.execute(params![lead.0, at.millis(), row.field, row.old, row.new, cause, origin.actor, origin.reason])
            .map_err(backend)?;
    }
    Ok(())
}
