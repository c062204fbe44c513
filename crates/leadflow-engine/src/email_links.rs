//! What comes back through the links of an email, each an event on the lead that scores like
//! any other: an open of its pixel (`email_open`; a machine's apart, `email_machine_open`), a
//! click of one of its links (`email_click`, then on to where it leads; a link scanner's apart,
//! `email_scanner_click`), an unsubscribe (the RFC 8058 one-click POST or the page's button:
//! `email_unsubscribed`, and the address on the do-not-contact list).
//!
//! A link names its send by a token only this server's secret signs ([`MailLinks`]), so that
//! nobody unsubscribes somebody else by changing a number, and a click link leads only where it
//! was signed to lead. The first open of a send, and the first click of each of its links, are
//! recorded; later ones change nothing (the event's key is the send's, and the link's).

use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_core::sequence::signals;
use leadflow_core::{EventKey, EventShape, EventType, LeadRef};
use leadflow_store::prelude::*;
use leadflow_store::{Engagement, SendQuery, SendRecord};

use sha2::{Digest, Sha256};

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

/// Which kind of link came back, for its event.
enum Came<'a> {
    Open { user_agent: Option<&'a str> },
    Click { target: &'a str, user_agent: Option<&'a str> },
}

impl<S: Store> Engine<S> {
    /// Records the open an open pixel's token names, if this server signed it and its email
    /// went; whatever the answer, the caller serves the pixel.
    pub fn record_open(&mut self, links: &MailLinks, token: &str, user_agent: Option<&str>) -> Result<(), EngineError> {
        let send = links.verify_open(token).ok_or(EngineError::BadLink)?;
        self.record_link(send, Came::Open { user_agent })
    }

    /// Records the click a click link names, if it was signed for `target`: then `target` is
    /// where the reader goes on to (anything else leads nowhere: no open redirect).
    pub fn record_click(
        &mut self,
        links: &MailLinks,
        token: &str,
        target: &str,
        user_agent: Option<&str>,
    ) -> Result<(), EngineError> {
        let send = links.verify_click(token, target).ok_or(EngineError::BadLink)?;
        self.record_link(send, Came::Click { target, user_agent })
    }

    fn record_link(&mut self, send: i64, came: Came<'_>) -> Result<(), EngineError> {
        let record = self.sent(send)?.ok_or(EngineError::BadLink)?;
        // An email that never went cannot have been opened: its links are not valid yet.
        let sent = record.sent_at.ok_or(EngineError::BadLink)?;
        let now = self.now();
        // A person's open or click also counts for the send's metrics; a machine's does not.
        let (kind, key, engagement) = match came {
            Came::Open { user_agent } if signals::machine_open(user_agent, sent, now) => {
                ("email_machine_open", format!("email-machine-open-{send}"), None)
            }
            Came::Open { .. } => ("email_open", format!("email-open-{send}"), Some(Engagement::Opened)),
            Came::Click { target, user_agent } => {
                let link = &hex::encode(Sha256::digest(target.as_bytes()))[..16];
                if signals::scanner_click(user_agent, sent, now) {
                    ("email_scanner_click", format!("email-scanner-click-{send}-{link}"), None)
                } else {
                    ("email_click", format!("email-click-{send}-{link}"), Some(Engagement::Clicked))
                }
            }
        };
        // A target too long for a property is still followed; the event keeps the rest.
        let url = match came {
            Came::Click { target, .. } => Some(("url", target)),
            Came::Open { .. } => None,
        };
        self.record_send_event(&record, kind, &key, url.as_slice(), engagement)
    }

    /// The address an unsubscribe token's send went to, for the page that asks to confirm.
    pub fn unsubscribe_address(&mut self, links: &MailLinks, token: &str) -> Result<String, EngineError> {
        let send = links.verify_unsubscribe(token).ok_or(EngineError::BadLink)?;
        self.sent(send)?.and_then(|r| r.to).ok_or(EngineError::BadLink)
    }

    /// Unsubscribes the address a token's send went to: on the do-not-contact list (ending its
    /// lead's enrollments at once), and an `email_unsubscribed` event on the lead.
    pub fn unsubscribe(&mut self, links: &MailLinks, token: &str) -> Result<Unsubscribed, EngineError> {
        let send = links.verify_unsubscribe(token).ok_or(EngineError::BadLink)?;
        let record = self.sent(send)?.ok_or(EngineError::BadLink)?;
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
        let key = format!("email-unsubscribed-{send}");
        self.record_send_event(&record, UNSUBSCRIBED, &key, &[], Some(Engagement::Unsubscribed))?;
        Ok(Unsubscribed { address, already: !listed.added })
    }

    /// The send of this id, read without holding anything (public links and inbound mail read
    /// it before they change anything).
    pub(crate) fn sent(&self, id: i64) -> Result<Option<SendRecord>, EngineError> {
        let query = SendQuery { id: Some(id), limit: 1, ..Default::default() };
        Ok(self.store.sends(&query)?.into_iter().next())
    }

    /// What came back of a send, recorded: the mark its figures count (`engagement`, when it
    /// counts), and an event on the lead naming the sequence, step and send (and `extra`),
    /// keyed by `key` so that it is recorded once. A lead erased since keeps nothing; the rest
    /// stands.
    pub(crate) fn record_send_event(
        &mut self,
        send: &SendRecord,
        event: &str,
        key: &str,
        extra: &[(&str, &str)],
        engagement: Option<Engagement>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        if let Some(engagement) = engagement {
            let mut tx = self.store.begin()?;
            tx.mark_engagement(send.id, engagement, now)?;
            tx.commit()?;
        }
        let mut shape = EventShape::new(EventType::parse(event).expect("a valid type"));
        shape.set_property("sequence", &send.sequence).expect("a sequence name is a valid value");
        shape.set_property("step", &send.step).expect("a step id is a valid value");
        shape.set_property("send", &send.id.to_string()).expect("a number is a valid value");
        for (name, value) in extra {
            // A value too long for a property is left out; the event keeps the rest.
            let _ = shape.set_property(name, value);
        }
        let input = EventInput {
            key: Some(EventKey::parse(key).expect("a valid key")),
            lead: LeadRef::Id(send.lead),
            ts: now,
            shape,
        };
        match self.track(input) {
            Ok(_) | Err(EngineError::NoSuchLead(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The event an unsubscribe records.
pub const UNSUBSCRIBED: &str = "email_unsubscribed";
