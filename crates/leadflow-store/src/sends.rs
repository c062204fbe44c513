//! The emails nurture sequences send, as stored: one row per send, planned when its step runs
//! (due under the frequency cap and in the lead's send hours), sent by a job on the queue, and
//! kept with what went out (addresses, Message-ID, template version) or why it did not.

use leadflow_core::{LeadId, Timestamp};

use crate::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Planned: its job sends it at `due_at`.
    Scheduled,
    Sent,
    /// The mail server refused it for good, or every retry ran out.
    Failed,
    /// Not sent: the enrollment ended, or the address is on the do-not-contact list.
    Cancelled,
}

impl SendStatus {
    pub const ALL: [SendStatus; 4] =
        [SendStatus::Scheduled, SendStatus::Sent, SendStatus::Failed, SendStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Scheduled => "scheduled",
            SendStatus::Sent => "sent",
            SendStatus::Failed => "failed",
            SendStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<SendStatus> {
        SendStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SendRecord {
    pub id: i64,
    pub enrollment: i64,
    /// The enrollment's run of steps that planned it: one send per (enrollment, run).
    pub run: u32,
    pub lead: LeadId,
    pub sequence: String,
    pub step: String,
    pub variant: Option<String>,
    pub template: String,
    /// The template version rendered, once sent.
    pub template_version: Option<i64>,
    pub status: SendStatus,
    pub due_at: Timestamp,
    pub to: Option<String>,
    pub from: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<Timestamp>,
    pub error: Option<String>,
    pub created_at: Timestamp,
}

/// Something that came back of a sent email.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engagement {
    /// By a person (a machine's open is not one).
    Opened,
    /// By a person (a link scanner's click is not one).
    Clicked,
    /// A person's reply (not an automatic one).
    Replied,
    /// A hard bounce.
    Bounced,
    Unsubscribed,
    Complained,
}

impl Engagement {
    /// The column that keeps when it first came.
    pub fn column(self) -> &'static str {
        match self {
            Engagement::Opened => "opened_at",
            Engagement::Clicked => "clicked_at",
            Engagement::Replied => "replied_at",
            Engagement::Bounced => "bounced_at",
            Engagement::Unsubscribed => "unsubscribed_at",
            Engagement::Complained => "complained_at",
        }
    }
}

/// The sends of one step, variant and template of a sequence, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub sequence: String,
    pub step: String,
    pub variant: Option<String>,
    pub template: String,
    pub scheduled: u64,
    pub sent: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub opened: u64,
    pub clicked: u64,
    pub replied: u64,
    pub bounced: u64,
    pub unsubscribed: u64,
    pub complained: u64,
    /// Leads sent one that became marketing-qualified at or after it went (each lead once per
    /// group).
    pub mql_after: u64,
    /// Leads sent one that were won at or after it went.
    pub won_after: u64,
}

/// What [`SendReads::send_counts`] counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendGrouping {
    /// Each step, variant and template of each sequence.
    Step,
    /// Each sequence (`step` and `template` empty): its leads counted once each.
    Sequence,
    /// Each template over every sequence (`sequence` and `step` empty).
    Template,
}

/// [`SendReads::send_counts`] in SQL both backends run: `param` (`?1`, `$1::TEXT`) is the
/// sequence or null.
pub fn send_counts_sql(param: &str, by: SendGrouping) -> String {
    let count = |status: &str| format!("SUM(CASE WHEN s.status = '{status}' THEN 1 ELSE 0 END)");
    let (keys, group) = match by {
        SendGrouping::Step => {
            ("s.sequence, s.step, s.variant, s.template", "s.sequence, s.step, s.variant, s.template")
        }
        SendGrouping::Sequence => ("s.sequence, '', CAST(NULL AS TEXT), ''", "s.sequence"),
        SendGrouping::Template => ("'', '', CAST(NULL AS TEXT), s.template", "s.template"),
    };
    format!(
        "SELECT {keys}, {}, {}, {}, {},
           COUNT(s.opened_at), COUNT(s.clicked_at), COUNT(s.replied_at), COUNT(s.bounced_at),
           COUNT(s.unsubscribed_at), COUNT(s.complained_at),
           COUNT(DISTINCT CASE WHEN l.mql_at >= s.sent_at THEN s.lead_id END),
           COUNT(DISTINCT CASE WHEN o.kind = 'won' AND o.at >= s.sent_at THEN s.lead_id END)
         FROM email_sends s
         LEFT JOIN leads l ON l.id = s.lead_id
         LEFT JOIN outcomes o ON o.lead_id = s.lead_id
         WHERE ({param} IS NULL OR s.sequence = {param})
         GROUP BY {group}
         ORDER BY MIN(s.sequence), MIN(s.id)",
        count("scheduled"),
        count("sent"),
        count("failed"),
        count("cancelled"),
    )
}

/// A send to plan.
#[derive(Clone, Copy, Debug)]
pub struct NewSend<'a> {
    pub enrollment: i64,
    pub run: u32,
    pub lead: LeadId,
    pub sequence: &'a str,
    pub step: &'a str,
    pub variant: Option<&'a str>,
    pub template: &'a str,
    pub due_at: Timestamp,
}

/// What went out.
#[derive(Clone, Copy, Debug)]
pub struct SentEmail<'a> {
    pub to: &'a str,
    pub from: &'a str,
    pub message_id: &'a str,
    pub template_version: i64,
    pub at: Timestamp,
}

/// Which sends to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct SendQuery {
    /// The one send of this id.
    pub id: Option<i64>,
    pub enrollment: Option<i64>,
    pub lead: Option<LeadId>,
    pub sequence: Option<String>,
    pub limit: usize,
}

pub trait SendReads {
    fn sends(&self, query: &SendQuery) -> Result<Vec<SendRecord>, StoreError>;
    /// The sends of one sequence (or of all), counted as `by` says, in the order each group's
    /// first send was planned (by sequence name first).
    fn send_counts(&self, sequence: Option<&str>, by: SendGrouping) -> Result<Vec<SendCounts>, StoreError>;
}

pub trait SendWrites {
    /// Plans a send; `None`, and nothing written, when this run of the enrollment planned one
    /// already.
    fn schedule_send(&mut self, new: &NewSend<'_>, now: Timestamp) -> Result<Option<i64>, StoreError>;
    /// The send as this unit of work sees it.
    fn send_now(&mut self, id: i64) -> Result<Option<SendRecord>, StoreError>;
    /// When the lead's sends went or are planned to go, from `since` on (sent and scheduled
    /// ones: what the frequency cap counts).
    fn lead_send_times(&mut self, lead: LeadId, since: Timestamp) -> Result<Vec<Timestamp>, StoreError>;
    /// Plans a scheduled send for later (the cap or the send hours moved it).
    fn postpone_send(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError>;
    /// Marks a scheduled send as sent, with what went out.
    fn mark_sent(&mut self, id: i64, sent: &SentEmail<'_>) -> Result<(), StoreError>;
    /// Ends a scheduled send unsent (`Failed` or `Cancelled`), saying why; false when it was not
    /// scheduled any more.
    fn end_send(&mut self, id: i64, status: SendStatus, why: &str) -> Result<bool, StoreError>;
    /// Cancels every scheduled send of an enrollment (it ended), saying why; how many.
    fn cancel_sends(&mut self, enrollment: i64, why: &str) -> Result<u64, StoreError>;
    /// Marks what came back of a send, the first time only; whether this was the first.
    fn mark_engagement(&mut self, id: i64, what: Engagement, at: Timestamp) -> Result<bool, StoreError>;
}

/// A send's row, as both backends read it back.
pub struct SendRow {
    pub id: i64,
    pub enrollment: i64,
    pub run: i64,
    pub lead: i64,
    pub sequence: String,
    pub step: String,
    pub variant: Option<String>,
    pub template: String,
    pub template_version: Option<i64>,
    pub status: String,
    pub due_at: i64,
    pub to: Option<String>,
    pub from: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
}

/// The columns [`SendRow`] reads, in its order.
pub const SEND_COLUMNS: &str = "id, enrollment_id, run, lead_id, sequence, step, variant, template, template_version, \
     status, due_at, to_address, from_address, message_id, sent_at, error, created_at";

impl TryFrom<SendRow> for SendRecord {
    type Error = StoreError;

    fn try_from(r: SendRow) -> Result<SendRecord, StoreError> {
        let status = SendStatus::parse(&r.status)
            .ok_or_else(|| StoreError::Corrupt(format!("send {} has status {:?}", r.id, r.status)))?;
        Ok(SendRecord {
            id: r.id,
            enrollment: r.enrollment,
            run: u32::try_from(r.run).unwrap_or(u32::MAX),
            lead: LeadId(r.lead),
            sequence: r.sequence,
            step: r.step,
            variant: r.variant,
            template: r.template,
            template_version: r.template_version,
            status,
            due_at: Timestamp::from_millis(r.due_at),
            to: r.to,
            from: r.from,
            message_id: r.message_id,
            sent_at: r.sent_at.map(Timestamp::from_millis),
            error: r.error,
            created_at: Timestamp::from_millis(r.created_at),
        })
    }
}
