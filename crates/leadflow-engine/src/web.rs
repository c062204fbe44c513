//! Webhooks and website visitors: what the server needs beyond scoring.

use leadflow_core::{Activity, Email, EventKey, EventShape, LeadRef, Timestamp, Topic, VisitorId};
use leadflow_store::{
    AnonymousEvent, AttemptOutcome, Cause, DeliveryRecord, Inserted, NewEvent, Store, Transaction, WebhookRecord,
};

use crate::{Engine, EngineError, Scored, rescore_lead, resolve_or_create};

/// A page view or form submission from the website-tracking snippet.
#[derive(Clone, Debug, PartialEq)]
pub struct Visit {
    pub visitor: VisitorId,
    /// Given when a form named the visitor: it joins (or creates) the lead with this email.
    pub email: Option<Email>,
    pub ts: Timestamp,
    pub shape: EventShape,
}

/// What became of a visit.
#[derive(Clone, Debug, PartialEq)]
pub enum VisitOutcome {
    /// Kept under the visitor id until a form identifies it.
    Anonymous,
    /// Recorded for the visitor's lead, with `merged` anonymous events that joined it now.
    Lead { scored: Scored, created_lead: bool, merged: usize },
    /// The same visit was recorded before.
    Duplicate,
}

impl<S: Store> Engine<S> {
    pub fn create_webhook(&mut self, url: &str, topics: &[Topic]) -> Result<WebhookRecord, EngineError> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| EngineError::Randomness(e.to_string()))?;
        let secret = format!("whsec_{}", hex::encode(bytes));
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.create_webhook(url, &secret, topics, now)?;
        tx.commit()?;
        Ok(WebhookRecord { id, url: url.to_string(), secret, topics: topics.to_vec(), created_at: now })
    }

    pub fn delete_webhook(&mut self, id: i64) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let deleted = tx.delete_webhook(id, now)?;
        tx.commit()?;
        Ok(deleted)
    }

    pub fn webhooks(&self) -> Result<Vec<WebhookRecord>, EngineError> {
        Ok(self.store.webhooks()?)
    }

    pub fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>, EngineError> {
        Ok(self.store.deliveries(webhook, limit)?)
    }

    /// Deliveries due now, oldest first.
    pub fn due_deliveries(&self, limit: usize) -> Result<Vec<(DeliveryRecord, WebhookRecord)>, EngineError> {
        Ok(self.store.due_deliveries(self.now(), limit)?)
    }

    pub fn record_attempt(&mut self, delivery: i64, outcome: &AttemptOutcome) -> Result<(), EngineError> {
        let now = self.now();
        Ok(self.store.record_attempt(delivery, outcome, now)?)
    }

    /// Records a website visit. An identified visitor's events count for its lead at once; an
    /// anonymous one's wait under its visitor id, and join the lead (and its score) when a form
    /// names the visitor by email.
    pub fn track_visit(&mut self, visit: Visit) -> Result<VisitOutcome, EngineError> {
        let (version, model) = self.active_model()?;
        let now = self.now();
        let key = EventKey::derive(&format!("visitor:{}", visit.visitor), visit.ts, &visit.shape);
        let mut tx = self.store.begin()?;
        let (lead, created_lead, merged) = match &visit.email {
            Some(email) => {
                let (id, created) = resolve_or_create(&mut tx, &LeadRef::Email(email.clone()), visit.ts, now)?;
                (id, created, tx.identify_visitor(&visit.visitor, id, now)?)
            }
            None => match tx.visitor_lead(&visit.visitor)? {
                Some(id) => (id, false, Vec::new()),
                None => {
                    let event = AnonymousEvent { key, visitor: visit.visitor, ts: visit.ts, shape: visit.shape };
                    let inserted = tx.insert_anonymous(&event, now)?;
                    tx.commit()?;
                    return Ok(match inserted {
                        Inserted::New => VisitOutcome::Anonymous,
                        Inserted::Duplicate => VisitOutcome::Duplicate,
                    });
                }
            },
        };
        let record = tx.lead(&LeadRef::Id(lead))?.ok_or(leadflow_store::StoreError::NoSuchLead(lead))?;
        let mut activity = Vec::new();
        let merged_count = merged.len();
        let this = AnonymousEvent { key: key.clone(), visitor: visit.visitor, ts: visit.ts, shape: visit.shape };
        for event in merged.into_iter().chain(std::iter::once(this)) {
            let new = NewEvent { key: event.key, lead, ts: event.ts, shape: event.shape };
            if tx.insert_event(&new, now)? == Inserted::New {
                activity.push(Activity { ts: new.ts, matched: model.match_event(&new.shape) });
            }
        }
        if activity.is_empty() {
            tx.commit()?;
            return Ok(VisitOutcome::Duplicate);
        }
        let scored = rescore_lead(&mut tx, &model, version, &record, &activity, now, Cause::Event(key), created_lead)?;
        tx.commit()?;
        Ok(VisitOutcome::Lead { scored, created_lead, merged: merged_count })
    }
}
