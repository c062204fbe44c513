//! Events: insertion, shapes, the per-lead reads scoring does, and the touches attribution reads.

use leadflow_core::report::{Names, Touch};
use leadflow_store::TouchReader;

use super::*;

impl EventReads for SqliteStore {
    fn activity(&self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
        activity_with_shapes(&self.conn, lead)
    }

    fn events_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let items = lead_items(&self.conn, lead.0)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.key, e.lead_id, e.ts, sh.type, sh.properties, e.received_at, e.extra
                 FROM events e JOIN event_shapes sh ON sh.id = e.shape_id WHERE e.seq = ?1",
            )
            .map_err(backend)?;
        items.iter().rev().take(limit).map(|it| stmt.query_row([it.seq], read_event).map_err(backend)?).collect()
    }

    fn event_properties(&self) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
        properties::seen(&self.conn)
    }

    fn scan_touches(
        &self,
        as_of: Timestamp,
        names: &mut Names,
        each: &mut dyn FnMut(LeadId, &Touch),
    ) -> Result<(), StoreError> {
        let reader = TouchReader::new(&self.shapes()?, names);
        // The shape ids are the store's own integers: written into the statement, they let
        // SQLite pass over every other event without reading its set-aside properties.
        let ids = reader.touch_shapes().iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT lead_id, ts, shape_id, extra FROM events
                 WHERE ts <= ?1 AND (shape_id IN ({ids}) OR extra IS NOT NULL)"
            ))
            .map_err(backend)?;
        let mut rows = stmt.query([as_of.millis()]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let at = Timestamp::from_millis(row.get(1).map_err(backend)?);
            let extra =
                row.get_ref(3).map_err(backend)?.as_str_or_null().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(touch) = reader.touch(row.get(2).map_err(backend)?, at, extra, names)? {
                each(LeadId(row.get(0).map_err(backend)?), &touch);
            }
        }
        Ok(())
    }

    fn shapes(&self) -> Result<Vec<(ShapeId, EventShape)>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT id, type, properties FROM event_shapes ORDER BY id").map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let id: i64 = r.get(0)?;
                let t: String = r.get(1)?;
                let p: String = r.get(2)?;
                Ok((id as ShapeId, decode_shape(&t, &p)))
            })
            .map_err(backend)?;
        rows.map(|r| {
            let (id, shape) = r.map_err(backend)?;
            Ok((id, shape?))
        })
        .collect()
    }
}

impl EventWrites for SqliteTx<'_> {
    fn insert_event(&mut self, e: &NewEvent, received_at: Timestamp) -> Result<Inserted, StoreError> {
        let (shape, aside) = self.properties.split(&e.shape, &self.property_changes);
        // A duplicate must leave no trace, not even a new shape. Shapes are nearly always known,
        // so the extra look-up happens only for the rare new one.
        if !self.shapes.contains_key(&shape) && self.event_exists(&e.key)? {
            return self.taken(&e.key, e.lead);
        }
        let shape_id = self.shape_id(&shape)?;
        let n = self
            .tx
            .prepare_cached(
                "INSERT INTO events (key, lead_id, ts, shape_id, received_at, extra) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (key) DO NOTHING",
            )
            .map_err(backend)?
            .execute(params![
                e.key.as_str(),
                e.lead.0,
                e.ts.millis(),
                shape_id,
                received_at.millis(),
                properties::encode(&aside)
            ])
            .map_err(backend)?;
        if n == 0 {
            return self.taken(&e.key, e.lead);
        }
        if let Some(aside) = &aside {
            properties::record_seen(&self.tx, &shape, aside, self.properties, &mut self.property_changes)?;
        }
        let shape = shape_id;
        let seq = self.tx.last_insert_rowid();
        match &mut self.bulk {
            // One writer at a time: a transaction's seqs form a range no other transaction's cut.
            Some(range) => {
                let (first, last) = range.get_or_insert((seq, seq));
                *first = (*first).min(seq);
                *last = (*last).max(seq);
            }
            None => self.pending.entry(e.lead.0).or_default().push(activity::Item { ts: e.ts, seq, shape }),
        }
        Ok(Inserted::New)
    }

    fn activity_of(&mut self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
        self.flush_activity()?;
        activity_with_shapes(&self.tx, lead)
    }

    fn keep_properties(&mut self, names: &BTreeSet<String>) -> Result<u64, StoreError> {
        let new = properties::keep(&self.tx, names, self.properties, &mut self.property_changes)?;
        if new.is_empty() {
            return Ok(0);
        }
        self.flush_activity()?;
        let events = properties::to_reshape(&self.tx, &new)?;
        let mut by_lead: FxHashMap<i64, FxHashMap<i64, ShapeId>> = FxHashMap::default();
        for event in &events {
            let (shape, aside) = self.properties.split(&event.sent, &self.property_changes);
            let id = self.shape_id(&shape)?;
            properties::write_reshaped(&self.tx, event, id, properties::encode(&aside).as_deref())?;
            if let (Some(lead), Some(seq)) = (event.lead, event.seq) {
                by_lead.entry(lead).or_default().insert(seq, id);
            }
        }
        // The blobs name shapes too. Events a bulk import deferred are not in them yet: folding
        // reads their new shapes from `events`.
        for (lead, reshaped) in by_lead {
            let mut items = packed_activity(&self.tx, lead)?;
            for item in items.iter_mut() {
                if let Some(shape) = reshaped.get(&item.seq) {
                    item.shape = *shape;
                }
            }
            self.tx
                .prepare_cached("UPDATE activity SET packed = ?2 WHERE lead_id = ?1")
                .map_err(backend)?
                .execute(params![lead, activity::encode(&items)])
                .map_err(backend)?;
            self.mark_stale(LeadId(lead))?;
        }
        Ok(events.len() as u64)
    }
}
