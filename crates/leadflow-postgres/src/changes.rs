//! The change log: each field's change of a lead, appended in the transaction that made it.

use leadflow_core::change::FieldChange;
use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{ChangeOrigin, ChangeReads, ChangeRow, ChangeWrites, StoreError, StoredChange, read_change};

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

impl ChangeReads for PgStore {
    fn changes_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredChange>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT id, at, field, old, new, cause, actor, reason FROM lead_changes
                 WHERE lead_id = $1 ORDER BY id DESC LIMIT $2",
                &[&lead.0, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let row = ChangeRow { field: r.get(2), old: r.get(3), new: r.get(4) };
                read_change(r.get(0), r.get(1), row, r.get(5), r.get(6), r.get(7))
            })
            .collect()
    }
}

impl ChangeWrites for PgTx<'_> {
    fn record_changes(
        &mut self,
        lead: LeadId,
        at: Timestamp,
        origin: &ChangeOrigin,
        changes: &[FieldChange],
    ) -> Result<(), StoreError> {
        record(&mut self.tx, lead, at, origin, changes)
    }
}

/// One statement for all of them: a lead import changes many fields at once.
pub(crate) fn record(
    conn: &mut impl Sql,
    lead: LeadId,
    at: Timestamp,
    origin: &ChangeOrigin,
    changes: &[FieldChange],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<ChangeRow> = changes.iter().map(ChangeRow::of).collect();
    let fields: Vec<&str> = rows.iter().map(|r| r.field.as_str()).collect();
    let old: Vec<Option<&str>> = rows.iter().map(|r| r.old.as_deref()).collect();
    let new: Vec<Option<&str>> = rows.iter().map(|r| r.new.as_deref()).collect();
    conn.execute(
        "INSERT INTO lead_changes (lead_id, at, field, old, new, cause, actor, reason)
         SELECT $1, $2, f, o, n, $6, $7, $8
         FROM unnest($3::TEXT[], $4::TEXT[], $5::TEXT[]) WITH ORDINALITY AS c (f, o, n, i) ORDER BY i",
        &[&lead.0, &at.millis(), &fields, &old, &new, &origin.cause.as_str(), &origin.actor, &origin.reason],
    )
    .map_err(backend)?;
    Ok(())
}
