//! Anonymous visitors and the public endpoint's daily quota.

use leadflow_core::{EventKey, LeadId, Timestamp, VisitorId};
use leadflow_store::{AnonymousEvent, Inserted, StoreError, VisitorWrites};

use crate::sql::Sql;
use crate::{PgTx, backend, corrupt, properties, shape_by_id, shape_number};

impl VisitorWrites for PgTx<'_> {
    fn visitor_lead(&mut self, visitor: &VisitorId) -> Result<Option<LeadId>, StoreError> {
        let row = self
            .tx
            .query_opt("SELECT lead_id FROM visitors WHERE visitor_id = $1", &[&visitor.as_str()])
            .map_err(backend)?;
        Ok(row.map(|r| LeadId(r.get(0))))
    }

    fn insert_anonymous(&mut self, event: &AnonymousEvent, received_at: Timestamp) -> Result<Inserted, StoreError> {
        // Its key may be taken among the leads' events too; checked first, so that a duplicate
        // leaves no trace, not even a new shape.
        if self.event_lead(&event.key)?.is_some() {
            return Ok(Inserted::Duplicate);
        }
        let (shape, aside) = self.properties.split(&event.shape, &self.property_changes);
        let shape_id = i64::from(self.shape_id(&shape)?);
        let extra = properties::encode(&aside);
        let n = self
            .tx
            .execute(
                "INSERT INTO visitor_events (key, visitor_id, ts, shape_id, received_at, extra)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                &[
                    &event.key.as_str(),
                    &event.visitor.as_str(),
                    &event.ts.millis(),
                    &shape_id,
                    &received_at.millis(),
                    &extra,
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Ok(Inserted::Duplicate);
        }
        if let Some(aside) = &aside {
            properties::record_seen(&mut self.tx, &shape, aside, self.properties, &mut self.property_changes)?;
        }
        Ok(Inserted::New)
    }

    /// The day's row is locked by its upsert, so that two servers granting at once never grant
    /// more than the limit between them.
    fn take_public_quota(&mut self, lead: LeadId, day: i64, wanted: u32, limit: u32) -> Result<u32, StoreError> {
        self.tx
            .execute(
                "INSERT INTO public_quota (lead_id, day, used) VALUES ($1, $2, 0) ON CONFLICT (lead_id, day) DO NOTHING",
                &[&lead.0, &day],
            )
            .map_err(backend)?;
        let used: i64 = self
            .tx
            .query_one("SELECT used FROM public_quota WHERE lead_id = $1 AND day = $2 FOR UPDATE", &[&lead.0, &day])
            .map_err(backend)?
            .get(0);
        let granted = i64::from(wanted).min((i64::from(limit) - used).max(0));
        if granted > 0 {
            self.tx
                .execute(
                    "UPDATE public_quota SET used = used + $3 WHERE lead_id = $1 AND day = $2",
                    &[&lead.0, &day, &granted],
                )
                .map_err(backend)?;
        }
        Ok(granted as u32)
    }

    fn expire_anonymous(&mut self, received_before: Timestamp) -> Result<u64, StoreError> {
        let n = self
            .tx
            .execute("DELETE FROM visitor_events WHERE received_at < $1", &[&received_before.millis()])
            .map_err(backend)?;
        self.tx.execute("DELETE FROM public_quota WHERE day < $1", &[&received_before.day_index()]).map_err(backend)?;
        Ok(n)
    }

    fn identify_visitor(
        &mut self,
        visitor: &VisitorId,
        lead: LeadId,
        now: Timestamp,
    ) -> Result<Vec<AnonymousEvent>, StoreError> {
        self.tx
            .execute(
                "INSERT INTO visitors (visitor_id, lead_id, identified_at) VALUES ($1, $2, $3)
                 ON CONFLICT (visitor_id) DO UPDATE SET lead_id = excluded.lead_id, identified_at = excluded.identified_at",
                &[&visitor.as_str(), &lead.0, &now.millis()],
            )
            .map_err(backend)?;
        let rows = self
            .tx
            .query(
                "DELETE FROM visitor_events WHERE visitor_id = $1 RETURNING key, ts, shape_id, extra",
                &[&visitor.as_str()],
            )
            .map_err(backend)?;
        let mut gathered: Vec<(String, i64, i64, Option<String>)> =
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        gathered.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        let mut events = Vec::with_capacity(gathered.len());
        for (key, ts, shape, extra) in gathered {
            // The transaction sees the shapes it interned itself.
            let shape = shape_by_id(&mut self.tx, shape_number(shape)?)?.joined(properties::decode(extra.as_deref())?);
            events.push(AnonymousEvent {
                key: EventKey::parse(&key).map_err(corrupt)?,
                visitor: visitor.clone(),
                ts: Timestamp::from_millis(ts),
                shape,
            });
        }
        Ok(events)
    }
}
