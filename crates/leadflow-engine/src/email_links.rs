//! What comes back through the links of an email: an unsubscribe (the RFC 8058 one-click POST
//! or the page's button), each an event on the lead (`email_unsubscribed`) that scores like any
//! other, and the address on the do-not-contact list.
//!
//! A link names its send by a token only this server's secret signs ([`MailLinks`]), so that
//! nobody unsubscribes somebody else by changing a number. Following it again changes nothing
//! (the event's key is the send's).

use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_core::{EventKey, EventShape, EventType, LeadRef};
use leadflow_store::prelude::*;

use crate::mail::MailLinks;
use crate::{DoNotContact, Engine, EngineError, EventInput};

/// What following an unsubscribe link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribed {
    /// The address taken off every sequence.
    pub address: String,
    /// It was on the list already (the link was followed before, or it was listed otherwise).
    pub already: bool,
}

impl<S: Store> Engine<S> {
    /// The address an unsubscribe token's send went to, for the page that asks to confirm.
    pub fn unsubscribe_address(&mut self, links: &MailLinks, token: &str) -> Result<String, EngineError> {
        let send = links.verify_unsubscribe(token).ok_or(EngineError::BadLink)?;
        let mut tx = self.store.begin()?;
        let record = tx.send_now(send)?.ok_or(EngineError::BadLink)?;
        record.to.ok_or(EngineError::BadLink)
    }

    /// Unsubscribes the address a token's send went to: on the do-not-contact list (ending its
    /// lead's enrollments at once), and an `email_unsubscribed` event on the lead.
    pub fn unsubscribe(&mut self, links: &MailLinks, token: &str) -> Result<Unsubscribed, EngineError> {
        let send = links.verify_unsubscribe(token).ok_or(EngineError::BadLink)?;
        let mut tx = self.store.begin()?;
        let record = tx.send_now(send)?.ok_or(EngineError::BadLink)?;
        drop(tx);
        let address = record.to.clone().ok_or(EngineError::BadLink)?;
        let by = format!("send {send}");
        let listing = DoNotContact {
            address: &address,
            channel: Channel::Email,
            reason: SuppressionReason::Unsubscribed,
            note: Some("unsubscribe link"),
            by: &by,
        };
        let listed = self.add_do_not_contact(&listing)?;
        let mut shape = EventShape::new(EventType::parse(UNSUBSCRIBED).expect("a valid type"));
        shape.set_property("sequence", &record.sequence).expect("a sequence name is a valid value");
        shape.set_property("step", &record.step).expect("a step id is a valid value");
        let input = EventInput {
            key: Some(EventKey::parse(&format!("email-unsubscribed-{send}")).expect("a valid key")),
            lead: LeadRef::Id(record.lead),
            ts: self.now(),
            shape,
        };
        match self.track(input) {
            // The lead may have been erased since; the address stays listed all the same.
            Ok(_) | Err(EngineError::NoSuchLead(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Unsubscribed { address, already: !listed.added })
    }
}

/// The event an unsubscribe records.
pub const UNSUBSCRIBED: &str = "email_unsubscribed";
