//! Emails that come back, recorded against the send they answer: replies, bounces, complaints.
//! An MTA (or a mailbox reader) hands over each message as it arrived; [`classify`] says what it
//! is, and the send it names is found by our Message-ID in what it answers, or by the VERP
//! address it was delivered to (`bounces+ID@DOMAIN`, the sturdier key: many bounces quote
//! nothing of the original).
//!
//! - A person's reply: an `email_reply` event on the lead (it scores like any other), and every
//!   running enrollment of the lead whose sequence exits on a reply ends at once (`replied`). An
//!   automatic reply (out of office) is an `email_auto_reply`, which no rule scores unless it
//!   names it, and ends nothing.
//! - A hard bounce: the address on the do-not-contact list (`bounced`), ending its enrollments,
//!   and an `email_bounced` event (`kind = hard`); a soft one only the event (`kind = soft`).
//! - A complaint: the address on the list (`complained`) and an `email_complained` event.
//!
//! Each is recorded once per send (the event's key is the send's): an MTA retrying a delivery
//! to us changes nothing.

use leadflow_core::LeadId;
use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_core::inbound::{BounceKind, Inbound, classify, verp_send};
use leadflow_core::sequence::{ExitCause, ExitTrigger};
use leadflow_store::Engagement;
use leadflow_store::prelude::*;

use crate::mail::MailLinks;
use crate::nurture::end_enrollment;
use crate::{DoNotContact, Engine, EngineError};

/// What an inbound email was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundKind {
    Reply,
    AutomaticReply,
    HardBounce,
    SoftBounce,
    Complaint,
    /// None of these, or naming no send of ours.
    Ignored,
}

impl InboundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::Reply => "reply",
            InboundKind::AutomaticReply => "automatic_reply",
            InboundKind::HardBounce => "hard_bounce",
            InboundKind::SoftBounce => "soft_bounce",
            InboundKind::Complaint => "complaint",
            InboundKind::Ignored => "ignored",
        }
    }
}

/// What an inbound email came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub kind: InboundKind,
    pub send: Option<i64>,
    pub lead: Option<LeadId>,
    /// Enrollments it ended.
    pub ended: usize,
}

impl Received {
    fn ignored() -> Received {
        Received { kind: InboundKind::Ignored, send: None, lead: None, ended: 0 }
    }
}

impl<S: Store> Engine<S> {
    /// Records what an inbound email says about one of our sends. `delivered_to` is the envelope
    /// recipient it came to (for bounces: the VERP address), when the MTA says.
    pub fn receive_email(
        &mut self,
        links: &MailLinks,
        raw: &[u8],
        delivered_to: Option<&str>,
    ) -> Result<Received, EngineError> {
        let inbound = classify(raw);
        let verp = delivered_to.and_then(|to| verp_send(to, links.domain()));
        let by_id = |ids: &[String]| ids.iter().find_map(|id| links.send_of_message_id(id));
        let (send, kind) = match &inbound {
            Inbound::Reply(reply) => {
                let kind = if reply.automatic { InboundKind::AutomaticReply } else { InboundKind::Reply };
                (by_id(&reply.answers), kind)
            }
            Inbound::Bounce(bounce) => {
                let kind = match bounce.kind {
                    BounceKind::Hard => InboundKind::HardBounce,
                    BounceKind::Soft => InboundKind::SoftBounce,
                };
                (verp.or_else(|| by_id(&bounce.message_ids)), kind)
            }
            Inbound::Complaint { message_ids, .. } => (verp.or_else(|| by_id(message_ids)), InboundKind::Complaint),
            Inbound::Other => return Ok(Received::ignored()),
        };
        let Some(send) = send else { return Ok(Received::ignored()) };
        let Some(record) = self.sent(send)?.filter(|r| r.sent_at.is_some()) else { return Ok(Received::ignored()) };
        let address = record.to.clone().unwrap_or_default();
        let mut ended = 0;
        let (event, engagement) = match kind {
            InboundKind::Reply => {
                ended = self.end_on_reply(record.lead)?;
                ("email_reply", Some(Engagement::Replied))
            }
            InboundKind::AutomaticReply => ("email_auto_reply", None),
            InboundKind::HardBounce => {
                ended = self.list(&address, SuppressionReason::Bounced, send)?;
                ("email_bounced", Some(Engagement::Bounced))
            }
            InboundKind::SoftBounce => ("email_bounced", None),
            InboundKind::Complaint => {
                ended = self.list(&address, SuppressionReason::Complained, send)?;
                ("email_complained", Some(Engagement::Complained))
            }
            InboundKind::Ignored => return Ok(Received::ignored()),
        };
        let bounce = match kind {
            InboundKind::HardBounce => Some(("kind", "hard")),
            InboundKind::SoftBounce => Some(("kind", "soft")),
            _ => None,
        };
        let key = format!("{}-{send}", event.replace('_', "-"));
        self.record_send_event(&record, event, &key, bounce.as_slice(), engagement)?;
        Ok(Received { kind, send: Some(send), lead: Some(record.lead), ended })
    }

    /// Ends the lead's running enrollments in sequences that exit on a reply.
    fn end_on_reply(&mut self, lead: LeadId) -> Result<usize, EngineError> {
        let sequences = self.active_sequences_by_name()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let mut ended = 0;
        for enrollment in tx.enrollments_now(lead, None)?.into_iter().filter(|e| e.is_active()) {
            let exits_on_reply =
                sequences.get(&enrollment.sequence).is_some_and(|(s, _)| s.exits().on.contains(&ExitTrigger::Reply));
            if exits_on_reply {
                end_enrollment(&mut tx, &enrollment, &ExitCause::Replied.reason(), now)?;
                ended += 1;
            }
        }
        tx.commit()?;
        Ok(ended)
    }

    /// Lists the address a send went to, as the send's; the enrollments that ended.
    fn list(&mut self, address: &str, reason: SuppressionReason, send: i64) -> Result<usize, EngineError> {
        let by = format!("send {send}");
        let listing = DoNotContact { address, channel: Channel::Email, reason, note: None, by: &by };
        Ok(self.add_do_not_contact(&listing)?.exited)
    }
}
