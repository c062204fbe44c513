//! Events: insertion, shapes, and the per-lead reads scoring does.

use std::collections::{BTreeMap, BTreeSet};

use leadflow_core::{EventShape, LeadId, Timestamp};
use leadflow_store::{EventReads, EventWrites, Inserted, NewEvent, ScoreWrites, ShapeId, StoreError, StoredEvent};
use postgres::GenericClient;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{PgStore, PgTx, backend, decode_shape, properties, read_event, shape_by_id, shape_number};

/// A lead's events as (time, shape), oldest first.
pub(crate) fn activity(
    conn: &mut impl GenericClient,
    lead: LeadId,
) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
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
        activity(&mut *self.conn(), lead)
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
        properties::seen(&mut *self.conn())
    }
}

impl EventWrites for PgTx<'_> {
    fn insert_event(&mut self, e: &NewEvent, received_at: Timestamp) -> Result<Inserted, StoreError> {
        let (shape, aside) = properties::split(&e.shape, self.properties, &self.property_changes);
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
            let (shape, aside) = properties::split(&event.sent, self.properties, &self.property_changes);
            let id = i64::from(self.shape_id(&shape)?);
            properties::write_reshaped(&mut self.tx, event, id, properties::encode(&aside).as_deref())?;
            if let Some((lead, _)) = event.row {
                leads.insert(lead);
            }
        }
        for lead in leads {
            self.mark_stale(LeadId(lead))?;
        }
        Ok(events.len() as u64)
    }
}

impl PgTx<'_> {
    /// What a key already taken means for an event of `lead`.
    pub(crate) fn taken(&mut self, key: &leadflow_core::EventKey, lead: LeadId) -> Result<Inserted, StoreError> {
        Ok(match self.event_lead(key)? {
            Some(other) if other != lead => Inserted::OtherLead(other),
            _ => Inserted::Duplicate,
        })
    }
}
