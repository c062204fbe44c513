//! Webhooks and website visitors: what the server needs beyond scoring.

use leadflow_core::{Activity, Email, EventKey, EventShape, LeadRef, Timestamp, Topic, VisitorId};
use leadflow_store::prelude::*;
use leadflow_store::{
    AnonymousEvent, AttemptOutcome, Cause, ClaimedDelivery, DeliveryRecord, Inserted, JobTicket, NewEvent, Store,
    Transaction, WebhookRecord,
};

use crate::{Engine, EngineError, Scored, rescore_lead, resolve_or_create};

/// A page view or form submission from the website-tracking snippet.
#[derive(Clone, Debug, PartialEq)]
pub struct Visit {
    pub visitor: VisitorId,
    /// Given when a form named the visitor. It proves nothing (anyone can type any email): it
    /// creates the lead when the email is new, and is kept as the visitor's claim otherwise.
    pub email: Option<Email>,
    /// Who an identity token (verified by the caller) proves the visitor to be: their lead,
    /// created if it is new (the site vouches for the person).
    pub identity: Option<Email>,
    pub ts: Timestamp,
    pub shape: EventShape,
}

/// What the public endpoint may do to one lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackingLimits {
    /// Events it may add to one lead per day (UTC); the rest are dropped.
    pub events_per_lead_per_day: u32,
}

/// What became of a visit.
#[derive(Clone, Debug, PartialEq)]
pub enum VisitOutcome {
    /// Kept under the visitor id until the visitor is identified.
    Anonymous,
    /// A form named a lead that exists, without proof: kept under the visitor like an
    /// anonymous event (it joins the lead if an identity token later proves the visitor).
    Unproven,
    /// Recorded for the visitor's lead, with `merged` anonymous events that joined it now;
    /// `dropped` events went over the lead's daily limit.
    Lead { scored: Scored, created_lead: bool, merged: usize, dropped: usize },
    /// The same visit was recorded before.
    Duplicate,
    /// The lead's day is full: nothing of this visit reaches it.
    OverLimit,
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

    /// Claims up to `limit` deliveries due now for this process to send, at most `per_webhook`
    /// at a time to one receiver (counting every server's), each this process's alone for
    /// `lease`: after it, a delivery not recorded is another's to send (this one died, say).
    pub fn claim_deliveries(
        &mut self,
        limit: usize,
        per_webhook: usize,
        lease: std::time::Duration,
    ) -> Result<Vec<ClaimedDelivery>, EngineError> {
        let now = self.now();
        let lease_until = Timestamp::from_millis(now.millis().saturating_add(lease.as_millis() as i64));
        let claim = leadflow_store::DeliveryClaim { now, lease_until, per_webhook, limit };
        Ok(self.store.claim_deliveries(&claim)?)
    }

    /// Records how the claimed attempt `ticket` of `delivery` went, in a transaction of its
    /// own: false, with nothing recorded, when the claim no longer holds it (its lease ran out
    /// and another sender took it, or its webhook was deleted).
    pub fn record_attempt(
        &mut self,
        ticket: JobTicket,
        delivery: i64,
        outcome: &AttemptOutcome,
    ) -> Result<bool, EngineError> {
        let now = self.now();
        Ok(self.store.record_attempt(ticket, delivery, outcome, now)?)
    }

    /// Records a website visit, under the policy ARCHITECTURE.md states ("The public tracking
    /// endpoint"): a visitor's events count for a lead only when the visitor is that lead's
    /// (it created the lead with a form, or an identity token proved it), and at most
    /// `limits.events_per_lead_per_day` of them a day.
    pub fn track_visit(&mut self, visit: Visit, limits: TrackingLimits) -> Result<VisitOutcome, EngineError> {
        let crate::Active { version, model, properties: kept } = self.active()?.clone();
        let now = self.now();
        let key = EventKey::derive(&format!("visitor:{}", visit.visitor), visit.ts, &visit.shape);
        let mut tx = self.store.begin()?;
        tx.keep_properties(&kept)?;
        let linked = tx.visitor_lead(&visit.visitor)?;
        let anonymous =
            AnonymousEvent { key: key.clone(), visitor: visit.visitor.clone(), ts: visit.ts, shape: visit.shape };
        let (lead, created_lead, merged) = match (visit.identity, &visit.email) {
            (Some(proven), _) => {
                let (id, created) = resolve_or_create(&mut tx, &LeadRef::Email(proven.clone()), visit.ts, now)?;
                (id, created, tx.identify_visitor(&visit.visitor, id, now)?)
            }
            (None, Some(email)) => match tx.resolve_lead(&LeadRef::Email(email.clone()))? {
                Some(existing) if linked == Some(existing) => (existing, false, Vec::new()),
                Some(_) => return keep_anonymous(tx, &anonymous, now, VisitOutcome::Unproven),
                None => {
                    let (id, created) = resolve_or_create(&mut tx, &LeadRef::Email(email.clone()), visit.ts, now)?;
                    (id, created, tx.identify_visitor(&visit.visitor, id, now)?)
                }
            },
            (None, None) => match linked {
                Some(id) => (id, false, Vec::new()),
                None => return keep_anonymous(tx, &anonymous, now, VisitOutcome::Anonymous),
            },
        };
        let record = tx.lead(&LeadRef::Id(lead))?.ok_or(leadflow_store::StoreError::NoSuchLead(lead))?;
        let merged_count = merged.len();
        // This visit first, then what the visitor did before, newest first: when the day's
        // limit cuts, it keeps what is most recent.
        let mut events: Vec<AnonymousEvent> = merged.into_iter().rev().collect();
        events.insert(0, anonymous);
        let wanted = u32::try_from(events.len()).unwrap_or(u32::MAX);
        let granted = tx.take_public_quota(lead, now.day_index(), wanted, limits.events_per_lead_per_day)?;
        let dropped = events.len() - granted as usize;
        let mut activity = Vec::new();
        for event in events.into_iter().take(granted as usize) {
            let new = NewEvent { key: event.key, lead, ts: event.ts, shape: event.shape };
            if tx.insert_event(&new, now)? == Inserted::New {
                activity.push(Activity { ts: new.ts, matched: model.match_event(&new.shape) });
            }
        }
        if activity.is_empty() && !created_lead {
            tx.commit()?;
            return Ok(if granted == 0 { VisitOutcome::OverLimit } else { VisitOutcome::Duplicate });
        }
        let scored =
            rescore_lead(&mut tx, &model, version, record.id, &activity, now, Cause::Event(key), created_lead)?;
        tx.commit()?;
        Ok(VisitOutcome::Lead { scored, created_lead, merged: merged_count, dropped })
    }
}

/// Keeps a visit under its visitor id, with no lead; `kept` is what a new one is called.
fn keep_anonymous<T: Transaction>(
    mut tx: T,
    event: &AnonymousEvent,
    now: Timestamp,
    kept: VisitOutcome,
) -> Result<VisitOutcome, EngineError> {
    let inserted = tx.insert_anonymous(event, now)?;
    tx.commit()?;
    Ok(match inserted {
        Inserted::New => kept,
        Inserted::Duplicate | Inserted::OtherLead(_) => VisitOutcome::Duplicate,
    })
}
