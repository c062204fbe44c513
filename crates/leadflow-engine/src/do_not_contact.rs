//! The do-not-contact list's use cases: listing an address stops everything at once.
//!
//! An email address listed ends, in the same unit of work, every running enrollment of the lead
//! with that address in a sequence that sends, and cancels the emails they had planned: no email
//! goes to it after the listing commits, whatever job was about to send one (a send checks the
//! list again right before it goes).

use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_core::sequence::ExitCause;
use leadflow_core::{Email, LeadRef};
use leadflow_store::prelude::*;
use leadflow_store::{DoNotContactQuery, DoNotContactRecord, NewDoNotContact};

use crate::nurture::end_enrollment;
use crate::{Engine, EngineError};

/// An address to list.
#[derive(Clone, Copy, Debug)]
pub struct DoNotContact<'a> {
    pub address: &'a str,
    pub channel: Channel,
    pub reason: SuppressionReason,
    pub note: Option<&'a str>,
    /// Who listed it: `cli`, an API key's name, a send it answered.
    pub by: &'a str,
}

/// What listing an address did.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// The entry as it stands (the first reason, when it was listed already).
    pub entry: DoNotContactRecord,
    /// False when it was listed already.
    pub added: bool,
    /// Enrollments it ended.
    pub exited: usize,
}

impl<S: Store> Engine<S> {
    pub fn add_do_not_contact(&mut self, listing: &DoNotContact<'_>) -> Result<Listed, EngineError> {
        let address = normalized(listing.address, listing.channel)?;
        let now = self.now();
        let sequences = self.active_sequences_by_name()?;
        let mut tx = self.store.begin()?;
        let new = NewDoNotContact {
            address: &address,
            channel: listing.channel,
            reason: listing.reason,
            note: listing.note.map(str::trim).filter(|n| !n.is_empty()),
            created_by: listing.by,
        };
        let added = tx.add_do_not_contact(&new, now)?;
        let entry = tx.do_not_contact_now(&address, listing.channel)?.expect("listed");
        let mut exited = 0;
        if listing.channel == Channel::Email {
            let email = Email::parse(&address).expect("normalized above");
            if let Some(lead) = tx.resolve_lead(&LeadRef::Email(email))? {
                let cause = ExitCause::listed(entry.reason);
                for enrollment in tx.enrollments_now(lead, None)? {
                    // A sequence paused or retired may still hold planned sends: ended all the same.
                    let sends = sequences.get(&enrollment.sequence).is_none_or(|(s, _)| s.sends());
                    if enrollment.is_active() && sends {
                        end_enrollment(&mut tx, &enrollment, &cause.reason(), now)?;
                        exited += 1;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(Listed { entry, added, exited })
    }

    /// Takes an address off a channel's list; whether it was on it. Enrollments it ended stay
    /// ended.
    pub fn remove_do_not_contact(&mut self, address: &str, channel: Channel) -> Result<bool, EngineError> {
        let address = normalized(address, channel)?;
        let mut tx = self.store.begin()?;
        let removed = tx.remove_do_not_contact(&address, channel)?;
        tx.commit()?;
        Ok(removed)
    }

    pub fn do_not_contact(&self, query: &DoNotContactQuery) -> Result<Vec<DoNotContactRecord>, EngineError> {
        let query = match &query.address {
            // Email addresses are kept lower-cased: look them up so.
            Some(a) if a.contains('@') => DoNotContactQuery { address: Some(a.trim().to_lowercase()), ..query.clone() },
            _ => query.clone(),
        };
        Ok(self.store.do_not_contact(&query)?)
    }
}

/// An address as the list keeps it: an email as leads' are (trimmed, lower-cased, checked), a
/// phone number trimmed.
fn normalized(address: &str, channel: Channel) -> Result<String, EngineError> {
    match channel {
        Channel::Email => Email::parse(address)
            .map(|e| e.as_str().to_string())
            .map_err(|e| EngineError::BadAddress { channel, why: e.to_string() }),
        Channel::Phone => match address.trim() {
            "" => Err(EngineError::BadAddress { channel, why: "the phone number is empty".into() }),
            trimmed => Ok(trimmed.to_string()),
        },
    }
}
