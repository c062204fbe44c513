//! What nurture emails did, and the do-not-contact list, as the API gives them.

use leadflow_core::Timestamp;
use leadflow_store::{DoNotContactRecord, SendCounts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Sends counted, with the rates marketing compares: of the emails delivered (sent and not
/// bounced), the share opened and clicked by a person, replied to, unsubscribed from; of those
/// sent, the share bounced. Rates are null with nothing to divide by.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SendFigures {
    /// Planned, waiting for their time (the cap, the send hours, a wait).
    pub scheduled: u64,
    pub sent: u64,
    /// Sent and not bounced.
    pub delivered: u64,
    pub failed: u64,
    /// Not sent: the enrollment ended first, or the address was listed.
    pub cancelled: u64,
    pub opened: u64,
    pub clicked: u64,
    pub replied: u64,
    pub bounced: u64,
    pub unsubscribed: u64,
    pub complained: u64,
    pub open_rate: Option<f64>,
    pub click_rate: Option<f64>,
    pub reply_rate: Option<f64>,
    pub bounce_rate: Option<f64>,
    pub unsubscribe_rate: Option<f64>,
    /// Leads that became marketing-qualified after an email of these went, each once.
    pub mql_after: u64,
    /// Leads won after an email of these went, each once.
    pub won_after: u64,
}

impl From<&SendCounts> for SendFigures {
    fn from(c: &SendCounts) -> SendFigures {
        let delivered = c.sent.saturating_sub(c.bounced);
        let share = |n: u64, of: u64| (of > 0).then(|| n as f64 / of as f64);
        SendFigures {
            scheduled: c.scheduled,
            sent: c.sent,
            delivered,
            failed: c.failed,
            cancelled: c.cancelled,
            opened: c.opened,
            clicked: c.clicked,
            replied: c.replied,
            bounced: c.bounced,
            unsubscribed: c.unsubscribed,
            complained: c.complained,
            open_rate: share(c.opened, delivered),
            click_rate: share(c.clicked, delivered),
            reply_rate: share(c.replied, delivered),
            bounce_rate: share(c.bounced, c.sent),
            unsubscribe_rate: share(c.unsubscribed, delivered),
            mql_after: c.mql_after,
            won_after: c.won_after,
        }
    }
}

/// One step's sends of one variant and template.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StepFigures {
    pub step: String,
    /// The A/B variant, for a send step that has several.
    pub variant: Option<String>,
    pub template: String,
    #[serde(flatten)]
    pub figures: SendFigures,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceMetrics {
    pub sequence: String,
    pub total: SendFigures,
    /// In the order each was first planned.
    pub steps: Vec<StepFigures>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TemplateMetrics {
    pub template: String,
    #[serde(flatten)]
    pub figures: SendFigures,
}

/// The figures of one sequence or of all, and of each template over the sequences counted.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct NurtureMetrics {
    pub sequences: Vec<SequenceMetrics>,
    pub templates: Vec<TemplateMetrics>,
}

impl From<&leadflow_engine::SendMetrics> for NurtureMetrics {
    fn from(m: &leadflow_engine::SendMetrics) -> NurtureMetrics {
        NurtureMetrics {
            sequences: m
                .sequences
                .iter()
                .map(|s| SequenceMetrics {
                    sequence: s.total.sequence.clone(),
                    total: (&s.total).into(),
                    steps: s
                        .steps
                        .iter()
                        .map(|c| StepFigures {
                            step: c.step.clone(),
                            variant: c.variant.clone(),
                            template: c.template.clone(),
                            figures: c.into(),
                        })
                        .collect(),
                })
                .collect(),
            templates: m
                .templates
                .iter()
                .map(|c| TemplateMetrics { template: c.template.clone(), figures: c.into() })
                .collect(),
        }
    }
}

/// An address not to contact on a channel.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DoNotContactEntry {
    pub id: i64,
    pub address: String,
    /// `email` or `phone`.
    pub channel: &'static str,
    /// `unsubscribed`, `bounced`, `complained` or `manual`.
    pub reason: &'static str,
    pub note: Option<String>,
    /// Who listed it: an API key's name, `cli`, or the send it answered (`send 12`).
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&DoNotContactRecord> for DoNotContactEntry {
    fn from(r: &DoNotContactRecord) -> DoNotContactEntry {
        DoNotContactEntry {
            id: r.id,
            address: r.address.clone(),
            channel: r.channel.as_str(),
            reason: r.reason.as_str(),
            note: r.note.clone(),
            created_by: r.created_by.clone(),
            created_at: r.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DoNotContactList {
    pub entries: Vec<DoNotContactEntry>,
    /// Pass as `after` for the next page; null on the last.
    pub next_after: Option<i64>,
}

/// An address to list.
#[derive(Clone, Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoNotContactRequest {
    pub address: String,
    /// `email` (the default) or `phone`.
    #[serde(default)]
    pub channel: Option<String>,
    /// `unsubscribed`, `bounced`, `complained` or `manual` (the default).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What listing did.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DoNotContactListed {
    #[serde(flatten)]
    pub entry: DoNotContactEntry,
    /// False when it was listed already (the entry keeps its first reason).
    pub added: bool,
    /// Enrollments it ended.
    pub enrollments_ended: usize,
}

/// What an inbound email came to.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct InboundReceived {
    /// `reply`, `automatic_reply`, `hard_bounce`, `soft_bounce`, `complaint`, or `ignored` (none
    /// of these, or naming no send of ours).
    pub kind: &'static str,
    /// The send it answers.
    pub send_id: Option<i64>,
    pub lead_id: Option<i64>,
    /// Enrollments it ended (a reply, in sequences that exit on one; a hard bounce or a
    /// complaint, every one that sends).
    pub enrollments_ended: usize,
}

impl From<&leadflow_engine::Received> for InboundReceived {
    fn from(r: &leadflow_engine::Received) -> InboundReceived {
        InboundReceived {
            kind: r.kind.as_str(),
            send_id: r.send,
            lead_id: r.lead.map(|l| l.0),
            enrollments_ended: r.ended,
        }
    }
}
