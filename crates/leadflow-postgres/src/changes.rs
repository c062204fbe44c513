//! The change log: each field's change of a lead, appended in the transaction that made it.

use leadflow_core::change::FieldChange;
use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{ChangeOrigin, ChangeReads, ChangeRow, ChangeWrites, StoreError, StoredChange, read_change};

use leadflow_core::report::{LeadPlaces, Names, PlaceChange};
use leadflow_store::{ChangeEntry, LoggedPlace, PlaceDecoder, place_text};
use postgres::IsolationLevel;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

impl ChangeReads for PgStore {
    fn changes_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredChange>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT id, at, field, old, new, cause, actor, reason FROM lead_changes
                 WHERE lead_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
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

    fn scan_places(&self, names: &mut Names, each: &mut dyn FnMut(&LeadPlaces<'_>, &Names)) -> Result<(), StoreError> {
        self.scan_places_in(names, each)
    }
}

/// Rows a report's scan fetches at a time from each of its two cursors.
const SCAN_ROWS: i32 = 20_000;

impl PgStore {
    fn scan_places_in(
        &self,
        names: &mut Names,
        each: &mut dyn FnMut(&LeadPlaces<'_>, &Names),
    ) -> Result<(), StoreError> {
        // Two cursors in lead order, merged, in one snapshot (a repeatable read transaction that
        // only reads); the changes come from `lead_changes_by_place`, an index-only scan.
        let mut client = self.client.borrow_mut();
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(backend)?;
        let leads = tx
            .bind("SELECT id, created_at, owner, source, pipeline, pipeline_stage FROM leads ORDER BY id", &[])
            .map_err(backend)?;
        let changes = tx
            .bind(
                "SELECT lead_id, at, field, old, new, reason FROM lead_changes
             WHERE field IN ('pipeline', 'pipeline_stage') ORDER BY lead_id, at, id",
                &[],
            )
            .map_err(backend)?;
        let mut decoder = PlaceDecoder::default();
        let mut pending: std::collections::VecDeque<postgres::Row> =
            tx.query_portal(&changes, SCAN_ROWS).map_err(backend)?.into();
        let mut list = Vec::new();
        loop {
            let lead_rows = tx.query_portal(&leads, SCAN_ROWS).map_err(backend)?;
            if lead_rows.is_empty() {
                return Ok(());
            }
            for row in &lead_rows {
                let id: i64 = row.get(0);
                list.clear();
                loop {
                    if pending.is_empty() {
                        pending = tx.query_portal(&changes, SCAN_ROWS).map_err(backend)?.into();
                        if pending.is_empty() {
                            break;
                        }
                    }
                    let change = &pending[0];
                    let lead: i64 = change.get(0);
                    if lead > id {
                        break;
                    }
                    if lead == id {
                        list.push(PlaceChange {
                            at: Timestamp::from_millis(change.get(1)),
                            field: PlaceDecoder::field(change.get(2))?,
                            old: decoder.value(change.get(3), names)?,
                            new: decoder.value(change.get(4), names)?,
                            reason: change.get::<_, Option<&str>>(5).map(|r| names.intern(r)),
                        });
                    }
                    // A change of a lead that is gone (erased since) is passed over.
                    pending.pop_front();
                }
                let mut name = |i: usize| row.get::<_, Option<&str>>(i).map(|s| names.intern(s));
                let (owner, source, pipeline, stage) = (name(2), name(3), name(4), name(5));
                let lead = LeadPlaces {
                    lead: LeadId(id),
                    created_at: Timestamp::from_millis(row.get(1)),
                    owner,
                    source,
                    pipeline,
                    stage,
                    changes: &list,
                };
                each(&lead, names);
            }
        }
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

    /// One statement per thousands of them: a history import writes a million.
    fn record_change_entries(&mut self, entries: &[ChangeEntry<'_>]) -> Result<(), StoreError> {
        for chunk in entries.chunks(ENTRIES_PER_STATEMENT) {
            let rows: Vec<ChangeRow> = chunk.iter().map(|e| ChangeRow::of(e.change)).collect();
            let leads: Vec<i64> = chunk.iter().map(|e| e.lead.0).collect();
            let ats: Vec<i64> = chunk.iter().map(|e| e.at.millis()).collect();
            let fields: Vec<&str> = rows.iter().map(|r| r.field.as_str()).collect();
            let old: Vec<Option<&str>> = rows.iter().map(|r| r.old.as_deref()).collect();
            let new: Vec<Option<&str>> = rows.iter().map(|r| r.new.as_deref()).collect();
            let causes: Vec<&str> = chunk.iter().map(|e| e.origin.cause.as_str()).collect();
            let actors: Vec<Option<&str>> = chunk.iter().map(|e| e.origin.actor.as_deref()).collect();
            let reasons: Vec<Option<&str>> = chunk.iter().map(|e| e.origin.reason.as_deref()).collect();
            self.tx
                .execute(
                    "INSERT INTO lead_changes (lead_id, at, field, old, new, cause, actor, reason)
                     SELECT l, a, f, o, n, c, w, r
                     FROM unnest($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[],
                                 $7::TEXT[], $8::TEXT[]) WITH ORDINALITY AS e (l, a, f, o, n, c, w, r, i)
                     ORDER BY i",
                    &[&leads, &ats, &fields, &old, &new, &causes, &actors, &reasons],
                )
                .map_err(backend)?;
        }
        Ok(())
    }

    fn place_changes_of(&mut self, leads: &[LeadId]) -> Result<Vec<LoggedPlace>, StoreError> {
        let ids: Vec<i64> = leads.iter().map(|l| l.0).collect();
        let rows = self
            .tx
            .query(
                "SELECT c.lead_id, c.at, c.field, c.old, c.new FROM unnest($1::BIGINT[]) k (id)
                 JOIN lead_changes c ON c.lead_id = k.id AND c.field IN ('pipeline', 'pipeline_stage')
                 ORDER BY c.lead_id, c.at, c.id",
                &[&ids],
            )
            .map_err(backend)?;
        let mut by_lead: std::collections::HashMap<i64, Vec<LoggedPlace>> = std::collections::HashMap::new();
        for r in rows {
            let lead: i64 = r.get(0);
            by_lead.entry(lead).or_default().push(LoggedPlace {
                lead: LeadId(lead),
                at: Timestamp::from_millis(r.get(1)),
                field: PlaceDecoder::field(r.get(2))?,
                old: place_text(r.get(3))?,
                new: place_text(r.get(4))?,
            });
        }
        // In the order the leads were asked for, as SQLite gives them.
        Ok(leads.iter().flat_map(|l| by_lead.remove(&l.0).unwrap_or_default()).collect())
    }
}

/// Rows of a history import per INSERT: large enough that round trips do not count.
const ENTRIES_PER_STATEMENT: usize = 5_000;

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
