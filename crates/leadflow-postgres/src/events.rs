//! Events: insertion, shapes, the per-lead reads scoring does, and the touches attribution reads.

use std::collections::{BTreeMap, BTreeSet};

use crate::sql::Sql;
use leadflow_core::report::{Names, Touch};
use leadflow_core::{EventShape, LeadId, Timestamp};
use leadflow_store::{EventReads, EventWrites, Inserted, NewEvent, ShapeId, StoreError, StoredEvent, TouchReader};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{PgStore, PgTx, backend, decode_shape, properties, read_event, shape_by_id, shape_number};

/// A lead's events as (time, shape), oldest first.
pub(crate) fn activity(conn: &mut impl Sql, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
    let rows = conn
        .query("SELECT ts, shape_id FROM events WHERE lead_id = $1 ORDER BY ts, seq", &[&lead.0])
        .map_err(backend)?;
    let mut shapes: FxHashMap<i64, EventShape> = FxHashMap::default();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.get(1);
        let shape = match shapes.get(&id) {
            Some(s) => s.clone(),
            None => {
                let s = shape_by_id(conn, shape_number(id)?)?;
                shapes.insert(id, s.clone());
                s
            }
        };
        out.push((Timestamp::from_millis(r.get(0)), shape));
    }
    Ok(out)
}

impl EventReads for PgStore {
    fn activity(&self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
        activity(&mut self.conn(), lead)
    }

    fn events_of(&self, lead: LeadId, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT e.key, e.lead_id, e.ts, sh.type, sh.properties, e.received_at, e.extra
                 FROM events e JOIN event_shapes sh ON sh.id = e.shape_id
                 WHERE e.lead_id = $1 ORDER BY e.ts DESC, e.seq DESC LIMIT $2",
                &[&lead.0, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_event).collect()
    }

    fn shapes(&self) -> Result<Vec<(ShapeId, EventShape)>, StoreError> {
        let rows =
            self.conn().query("SELECT id, type, properties FROM event_shapes ORDER BY id", &[]).map_err(backend)?;
        rows.iter().map(|r| Ok((shape_number(r.get(0))?, decode_shape(r.get(1), r.get(2))?))).collect()
    }

    fn event_properties(&self) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
        properties::seen(&mut self.conn())
    }

    fn scan_touches(
        &self,
        as_of: Timestamp,
        names: &mut Names,
        each: &mut dyn FnMut(LeadId, &Touch),
    ) -> Result<(), StoreError> {
        let reader = TouchReader::new(&self.shapes()?, names);
        let shapes: Vec<i64> = reader.touch_shapes().into_iter().map(i64::from).collect();
        // Through a cursor, a chunk at a time: the events are never held at once.
        let mut client = self.client.borrow_mut();
        let mut tx = client.build_transaction().read_only(true).start().map_err(backend)?;
        let portal = tx
            .bind(
                "SELECT lead_id, ts, shape_id, extra FROM events
                 WHERE ts <= $1 AND (shape_id = ANY($2) OR extra IS NOT NULL)",
                &[&as_of.millis(), &shapes],
            )
            .map_err(backend)?;
        loop {
            let rows = tx.query_portal(&portal, TOUCHES_PER_FETCH).map_err(backend)?;
            if rows.is_empty() {
                return Ok(());
            }
            for r in &rows {
                let shape = ShapeId::try_from(r.get::<_, i64>(2))
                    .map_err(|_| StoreError::Corrupt("an event's shape id is out of range".into()))?;
                if let Some(touch) = reader.touch(shape, Timestamp::from_millis(r.get(1)), r.get(3), names)? {
                    each(LeadId(r.get(0)), &touch);
                }
            }
        }
    }
}

/// Events read from the cursor at a time.
const TOUCHES_PER_FETCH: i32 = 50_000;

impl EventWrites for PgTx<'_> {
    fn insert_event(&mut self, e: &NewEvent, received_at: Timestamp) -> Result<Inserted, StoreError> {
        let (shape, aside) = self.properties.split(&e.shape, &self.property_changes);
        // A duplicate must leave no trace, not even a new shape. Shapes are nearly always known,
        // so the extra look-up happens only for the rare new one.
        if !self.shapes.contains_key(&shape) && self.event_lead(&e.key)?.is_some() {
            return self.taken(&e.key, e.lead);
        }
        let shape_id = i64::from(self.shape_id(&shape)?);
        let extra = properties::encode(&aside);
        let n = self
            .tx
            .execute(
                "INSERT INTO events (key, lead_id, ts, shape_id, received_at, extra) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (key) DO NOTHING",
                &[&e.key.as_str(), &e.lead.0, &e.ts.millis(), &shape_id, &received_at.millis(), &extra],
            )
            .map_err(backend)?;
        if n == 0 {
            return self.taken(&e.key, e.lead);
        }
        if let Some(aside) = &aside {
            properties::record_seen(&mut self.tx, &shape, aside, self.properties, &mut self.property_changes)?;
        }
        if let Some(leads) = &mut self.bulk {
            leads.insert(e.lead.0);
        }
        Ok(Inserted::New)
    }

    /// A few statements for the batch, not one per event: the rows go as arrays, and those
    /// whose key was taken are told apart afterwards (duplicates, or another lead's).
    fn insert_events(&mut self, events: &[NewEvent], received_at: Timestamp) -> Result<Vec<Inserted>, StoreError> {
        let mut outcomes = Vec::with_capacity(events.len());
        for chunk in events.chunks(BATCH_ROWS) {
            outcomes.extend(self.insert_chunk(chunk, received_at)?);
        }
        Ok(outcomes)
    }

    fn activity_of(&mut self, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
        activity(&mut self.tx, lead)
    }

    fn keep_properties(&mut self, names: &BTreeSet<String>) -> Result<u64, StoreError> {
        let new = properties::keep(&mut self.tx, names, self.properties, &mut self.property_changes)?;
        if new.is_empty() {
            return Ok(0);
        }
        let events = properties::to_reshape(&mut self.tx, &new)?;
        let mut leads: FxHashSet<i64> = FxHashSet::default();
        for event in &events {
            let (shape, aside) = self.properties.split(&event.sent, &self.property_changes);
            let id = i64::from(self.shape_id(&shape)?);
            properties::write_reshaped(&mut self.tx, event, id, properties::encode(&aside).as_deref())?;
            if let Some((lead, _)) = event.row {
                leads.insert(lead);
            }
        }
        crate::mark_leads_stale(&mut self.tx, &leads.into_iter().collect::<Vec<_>>())?;
        Ok(events.len() as u64)
    }
}

/// Events per statement of a batch insert: big enough that round trips do not count, small
/// enough for the arrays to stay a few megabytes.
const BATCH_ROWS: usize = 5_000;

impl PgTx<'_> {
    fn insert_chunk(&mut self, all: &[NewEvent], received_at: Timestamp) -> Result<Vec<Inserted>, StoreError> {
        // A duplicate leaves no trace, not even a new shape: the rare event of a shape not seen
        // yet is looked up first (as `insert_event` does).
        let mut known = Vec::with_capacity(all.len());
        let mut events = Vec::with_capacity(all.len());
        let mut shapes = Vec::with_capacity(all.len());
        let mut extras = Vec::with_capacity(all.len());
        let mut asides = Vec::with_capacity(all.len());
        for e in all {
            let (shape, aside) = self.properties.split(&e.shape, &self.property_changes);
            let unseen = !self.shapes.contains_key(&shape) && !self.new_shapes.contains_key(&shape);
            if unseen && self.event_lead(&e.key)?.is_some() {
                known.push(Some(self.taken(&e.key, e.lead)?));
                continue;
            }
            known.push(None);
            events.push(e);
            shapes.push(i64::from(self.shape_id(&shape)?));
            extras.push(properties::encode(&aside));
            asides.push(aside.map(|a| (shape.into_owned(), a)));
        }
        let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
        let stored = self.copy_events(&events, &shapes, &extras, received_at)?;
        let new: FxHashSet<String> = stored.iter().map(|r| r.get(0)).collect();
        let taken: Vec<&str> = keys.iter().copied().filter(|k| !new.contains(*k)).collect();
        let owners: FxHashMap<String, i64> = if taken.is_empty() {
            FxHashMap::default()
        } else {
            let rows =
                self.tx.query("SELECT key, lead_id FROM events WHERE key = ANY($1)", &[&taken]).map_err(backend)?;
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        let mut outcomes = Vec::with_capacity(events.len());
        for (e, aside) in events.iter().zip(asides) {
            if !new.contains(e.key.as_str()) {
                outcomes.push(match owners.get(e.key.as_str()) {
                    Some(&other) if other != e.lead.0 => Inserted::OtherLead(LeadId(other)),
                    _ => Inserted::Duplicate,
                });
                continue;
            }
            if let Some((shape, aside)) = aside {
                properties::record_seen(&mut self.tx, &shape, &aside, self.properties, &mut self.property_changes)?;
            }
            if let Some(bulk) = &mut self.bulk {
                bulk.insert(e.lead.0);
            }
            outcomes.push(Inserted::New);
        }
        // Back in the order sent, with those found taken before.
        let mut inserted = outcomes.into_iter();
        Ok(known.into_iter().map(|k| k.unwrap_or_else(|| inserted.next().expect("one outcome per event"))).collect())
    }

    /// The events through `COPY` into a temporary table, then one `INSERT .. SELECT` that skips
    /// the keys already taken; returns the keys that went in.
    fn copy_events(
        &mut self,
        events: &[&NewEvent],
        shapes: &[i64],
        extras: &[Option<String>],
        received_at: Timestamp,
    ) -> Result<Vec<postgres::Row>, StoreError> {
        // Created once per session; emptied here, as a transaction may bring several batches.
        self.tx
            .conn
            .batch_execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS event_import
                     (key TEXT, lead_id INT8, ts INT8, shape_id INT8, extra TEXT) ON COMMIT DELETE ROWS;
                 TRUNCATE event_import",
            )
            .map_err(backend)?;
        let copy = self
            .tx
            .conn
            .copy_in("COPY event_import (key, lead_id, ts, shape_id, extra) FROM STDIN (FORMAT binary)")
            .map_err(backend)?;
        let types = [Type::TEXT, Type::INT8, Type::INT8, Type::INT8, Type::TEXT];
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        for ((e, shape), extra) in events.iter().zip(shapes).zip(extras) {
            let (lead, ts) = (e.lead.0, e.ts.millis());
            writer.write(&[&e.key.as_str(), &lead, &ts, shape, extra]).map_err(backend)?;
        }
        writer.finish().map_err(backend)?;
        self.tx
            .query(
                "INSERT INTO events (key, lead_id, ts, shape_id, received_at, extra)
                 SELECT key, lead_id, ts, shape_id, $1, extra FROM event_import
                 ON CONFLICT (key) DO NOTHING RETURNING key",
                &[&received_at.millis()],
            )
            .map_err(backend)
    }

    /// What a key already taken means for an event of `lead`.
    pub(crate) fn taken(&mut self, key: &leadflow_core::EventKey, lead: LeadId) -> Result<Inserted, StoreError> {
        Ok(match self.event_lead(key)? {
            Some(other) if other != lead => Inserted::OtherLead(other),
            _ => Inserted::Duplicate,
        })
    }
}
