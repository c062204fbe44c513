//! The change log: each field's change of a lead, appended in the transaction that made it.

use leadflow_core::report::{LeadPlaces, Name, Names, PlaceChange};
use leadflow_store::{ChangeEntry, LoggedPlace, PlaceDecoder, place_text};

use super::*;

impl ChangeReads for SqliteStore {
    fn changes_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredChange>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, at, field, old, new, cause, actor, reason FROM lead_changes
                 WHERE lead_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
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

    fn scan_places(&self, names: &mut Names, each: &mut dyn FnMut(&LeadPlaces<'_>, &Names)) -> Result<(), StoreError> {
        // Two cursors in lead order, merged: both statements are open at once, so they read one
        // snapshot (SQLite's read transaction lasts while any statement runs). The changes come
        // from `lead_changes_by_place` alone.
        let mut leads = self
            .conn
            .prepare("SELECT id, created_at, owner, source, pipeline, pipeline_stage FROM leads ORDER BY id")
            .map_err(backend)?;
        let mut changes = self
            .conn
            .prepare(
                "SELECT lead_id, at, field, old, new, reason FROM lead_changes
                 WHERE field IN ('pipeline', 'pipeline_stage') ORDER BY lead_id, at, id",
            )
            .map_err(backend)?;
        let mut lead_rows = leads.query([]).map_err(backend)?;
        let mut change_rows = changes.query([]).map_err(backend)?;
        let mut decoder = PlaceDecoder::default();
        let mut next_change = change_rows.next().map_err(backend)?;
        let mut list = Vec::new();
        while let Some(row) = lead_rows.next().map_err(backend)? {
            let id: i64 = row.get(0).map_err(backend)?;
            list.clear();
            while let Some(change) = next_change {
                let lead: i64 = change.get(0).map_err(backend)?;
                if lead > id {
                    break;
                }
                if lead == id {
                    let field = PlaceDecoder::field(text(change, 2)?.unwrap_or_default())?;
                    list.push(PlaceChange {
                        at: Timestamp::from_millis(change.get(1).map_err(backend)?),
                        field,
                        old: decoder.value(text(change, 3)?, names)?,
                        new: decoder.value(text(change, 4)?, names)?,
                        reason: text(change, 5)?.map(|r| names.intern(r)),
                    });
                }
                // A change of a lead that is gone (erased since) is passed over.
                next_change = change_rows.next().map_err(backend)?;
            }
            let mut name =
                |i: usize| -> Result<Option<Name>, StoreError> { Ok(text(row, i)?.map(|s| names.intern(s))) };
            let (owner, source, pipeline, stage) = (name(2)?, name(3)?, name(4)?, name(5)?);
            let lead = LeadPlaces {
                lead: LeadId(id),
                created_at: Timestamp::from_millis(row.get(1).map_err(backend)?),
                owner,
                source,
                pipeline,
                stage,
                changes: &list,
            };
            each(&lead, names);
        }
        Ok(())
    }
}

/// A text column read in place, without a copy.
fn text<'r>(row: &'r rusqlite::Row<'_>, i: usize) -> Result<Option<&'r str>, StoreError> {
    let value = row.get_ref(i).map_err(backend)?;
    value.as_str_or_null().map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
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

    fn record_change_entries(&mut self, entries: &[ChangeEntry<'_>]) -> Result<(), StoreError> {
        entries.iter().try_for_each(|e| record(&self.tx, e.lead, e.at, e.origin, std::slice::from_ref(e.change)))
    }

    fn place_changes_of(&mut self, leads: &[LeadId]) -> Result<Vec<LoggedPlace>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT at, field, old, new FROM lead_changes
                 WHERE lead_id = ?1 AND field IN ('pipeline', 'pipeline_stage') ORDER BY at, id",
            )
            .map_err(backend)?;
        let mut logged = Vec::new();
        for &lead in leads {
            let rows = stmt
                .query_map([lead.0], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?, r.get(3)?))
                })
                .map_err(backend)?;
            for row in rows {
                let (at, field, old, new) = row.map_err(backend)?;
                logged.push(LoggedPlace {
                    lead,
                    at: Timestamp::from_millis(at),
                    field: PlaceDecoder::field(&field)?,
                    old: place_text(old)?,
                    new: place_text(new)?,
                });
            }
        }
        Ok(logged)
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
