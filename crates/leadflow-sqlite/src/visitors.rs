//! Anonymous visitors and the public endpoint's daily quota, through the ports.

use super::*;

impl VisitorWrites for SqliteTx<'_> {
    fn visitor_lead(&mut self, visitor: &VisitorId) -> Result<Option<LeadId>, StoreError> {
        outbox::visitor_lead(&self.tx, visitor)
    }

    fn insert_anonymous(&mut self, event: &AnonymousEvent, received_at: Timestamp) -> Result<Inserted, StoreError> {
        // Its key may be taken among the leads' events too; checked first, so that a duplicate
        // leaves no trace, not even a new shape.
        if self.event_exists(&event.key)? {
            return Ok(Inserted::Duplicate);
        }
        let (shape, aside) = self.properties.split(&event.shape, &self.property_changes);
        let shape_id = self.shape_id(&shape)?;
        let extra = properties::encode(&aside);
        let row = outbox::AnonymousRow { key: &event.key, visitor: &event.visitor, ts: event.ts, shape: shape_id };
        if !outbox::insert_anonymous(&self.tx, &row, extra.as_deref(), received_at)? {
            return Ok(Inserted::Duplicate);
        }
        if let Some(aside) = &aside {
            properties::record_seen(&self.tx, &shape, aside, self.properties, &mut self.property_changes)?;
        }
        Ok(Inserted::New)
    }

    fn take_public_quota(&mut self, lead: LeadId, day: i64, wanted: u32, limit: u32) -> Result<u32, StoreError> {
        outbox::take_public_quota(&self.tx, lead, day, wanted, limit)
    }

    fn expire_anonymous(&mut self, received_before: Timestamp) -> Result<u64, StoreError> {
        outbox::expire_anonymous(&self.tx, received_before)
    }

    fn identify_visitor(
        &mut self,
        visitor: &VisitorId,
        lead: LeadId,
        now: Timestamp,
    ) -> Result<Vec<AnonymousEvent>, StoreError> {
        let gathered = outbox::identify(&self.tx, visitor, lead, now)?;
        let mut events = Vec::with_capacity(gathered.len());
        for (key, ts, shape, extra) in gathered {
            // The transaction sees the shapes it interned itself.
            let shape = shape_by_id(&self.tx, shape)?.joined(properties::decode(extra.as_deref())?);
            events.push(AnonymousEvent { key, visitor: visitor.clone(), ts, shape });
        }
        Ok(events)
    }
}
