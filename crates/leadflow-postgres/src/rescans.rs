//! Bulk scans over every lead, a batch at a time by lead id (keyset), each batch one query for
//! the leads and one for their events: no lock is held between batches, so ingest goes on.

use std::collections::HashMap;

use crate::sql::{Cached, Sql};
use leadflow_core::LeadId;
use leadflow_core::Timestamp;
use leadflow_store::{
    Rescans, RescoreItem, RescoreVisitor, ScanRequest, ScanScope, ScanWrite, ScoreRevision, ScoreWrite, StoreError,
};

use crate::{LEAD_COLUMN_COUNT, LEAD_COLUMNS, PgStore, backend, read_lead, scores, shape_number};

impl Rescans for PgStore {
    fn scan_for_rescore(
        &mut self,
        request: ScanRequest,
        visit: &mut RescoreVisitor<'_, Self>,
    ) -> Result<(), StoreError> {
        let mut after = i64::MIN;
        loop {
            let items =
                read_batch(&mut Cached { conn: self.client.get_mut(), statements: &self.statements }, &request, after)?;
            let Some(last) = items.last().map(|i| i.id.0) else {
                return Ok(());
            };
            after = last;
            visit(self, items)?;
        }
    }

    fn load_activity(&self, items: &mut [RescoreItem]) -> Result<(), StoreError> {
        load_activity(&mut self.conn(), items)
    }

    fn count_for_rescore(&self, scope: ScanScope) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let n: i64 = match scope {
            ScanScope::All => conn.query_one("SELECT count(*) FROM leads", &[]),
            ScanScope::NeedingRescore(model) => conn.query_one(
                "SELECT count(*) FROM scores s WHERE s.stale OR s.total IS NULL OR s.model_version IS DISTINCT FROM $1",
                &[&model.0],
            ),
        }
        .map_err(backend)?
        .get(0);
        Ok(n as u64)
    }

    fn write_scores(&mut self, writes: &[ScanWrite]) -> Result<Vec<LeadId>, StoreError> {
        let mut tx = self.own_transaction()?;
        let mut left = Vec::new();
        // Locked in lead id order, as `hold_for_scoring` takes them: in any other order (an
        // UPDATE's join order, a batch's second chances after the rest) this write could wait on
        // a server holding one lead while that server waits for one this write holds: a deadlock,
        // and the rescore fails. So sorted, and each chunk's rows locked first.
        let mut sorted: Vec<&ScanWrite> = writes.iter().collect();
        sorted.sort_by_key(|w| w.write.lead.0);
        for chunk in sorted.chunks(scores::WRITES_PER_STATEMENT) {
            let (scores, reads): (Vec<&ScoreWrite>, Vec<ScoreRevision>) =
                chunk.iter().map(|w| (&w.write, w.read)).unzip();
            let ids: Vec<i64> = scores.iter().map(|w| w.lead.0).collect();
            tx.query(
                "SELECT s.lead_id FROM unnest($1::BIGINT[]) k (id) JOIN scores s ON s.lead_id = k.id
                     ORDER BY s.lead_id FOR NO KEY UPDATE OF s",
                &[&ids],
            )
            .map_err(backend)?;
            left.extend(scores::write_scores(&mut tx, &scores, Some(&reads))?);
        }
        tx.conn.commit().map_err(backend)?;
        Ok(left)
    }
}

/// The next batch of a scan: leads after `after`, with their activity where no state stands in.
fn read_batch(conn: &mut impl Sql, request: &ScanRequest, after: i64) -> Result<Vec<RescoreItem>, StoreError> {
    let batch = i64::try_from(request.batch.max(1)).unwrap_or(i64::MAX);
    // A state is worth reading only if it may be used.
    let state = if request.states_of.is_some() { "s.state" } else { "NULL::BYTEA" };
    let state = format!("{state}, s.revision");
    let rows = match request.scope {
        ScanScope::All => conn.query(
            &format!(
                "SELECT {LEAD_COLUMNS}, {state} FROM leads l JOIN scores s ON s.lead_id = l.id
                 WHERE l.id > $1 ORDER BY l.id LIMIT $2"
            ),
            &[&after, &batch],
        ),
        ScanScope::NeedingRescore(model) => conn.query(
            &format!(
                "SELECT {LEAD_COLUMNS}, {state} FROM leads l JOIN scores s ON s.lead_id = l.id
                 WHERE l.id > $1 AND (s.stale OR s.total IS NULL OR s.model_version IS DISTINCT FROM $3)
                 ORDER BY l.id LIMIT $2"
            ),
            &[&after, &batch, &model.0],
        ),
    }
    .map_err(backend)?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let revision = ScoreRevision(row.get(LEAD_COLUMN_COUNT + 1));
        items.push(RescoreItem::of(read_lead(&row)?, row.get(LEAD_COLUMN_COUNT), request.states_of, revision));
    }
    load_activity(conn, &mut items)?;
    Ok(items)
}

/// One query for the events of the batch's leads without a state, in time order per lead.
fn load_activity(conn: &mut impl Sql, items: &mut [RescoreItem]) -> Result<(), StoreError> {
    let need: Vec<usize> = (0..items.len()).filter(|&i| items[i].state.is_none()).collect();
    if need.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = need.iter().map(|&i| items[i].id.0).collect();
    let index: HashMap<i64, usize> = need.iter().map(|&i| (items[i].id.0, i)).collect();
    for &i in &need {
        items[i].activity.clear();
    }
    let rows = conn
        .query("SELECT lead_id, ts, shape_id FROM events WHERE lead_id = ANY($1) ORDER BY lead_id, ts, seq", &[&ids])
        .map_err(backend)?;
    for r in rows {
        let Some(&slot) = index.get(&r.get::<_, i64>(0)) else { continue };
        items[slot].activity.push((Timestamp::from_millis(r.get(1)), shape_number(r.get(2))?));
    }
    Ok(())
}
