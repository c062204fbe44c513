//! Webhooks: their registrations, their deliveries, and what a receiver gets.

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use leadflow_store::NotificationDetail;

use crate::Values;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    #[schema(value_type = Vec<crate::schema::Topic>)]
    pub topics: Vec<&'static str>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Only in the answer that creates it: the receiver needs it to check signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Webhook {
    /// The webhook as lists show it, without its secret.
    pub fn listed(w: &leadflow_store::WebhookRecord) -> Webhook {
        Webhook {
            id: w.id,
            url: w.url.clone(),
            topics: w.topics.iter().map(|t| t.as_str()).collect(),
            created_at: w.created_at,
            secret: None,
        }
    }

    /// The webhook as its creation shows it, once, with its secret.
    pub fn created(w: &leadflow_store::WebhookRecord) -> Webhook {
        Webhook { secret: Some(w.secret.clone()), ..Webhook::listed(w) }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<Webhook>,
}

/// One delivery of a webhook and how it went.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Delivery {
    pub id: i64,
    #[schema(value_type = crate::schema::Topic)]
    pub topic: &'static str,
    pub lead_id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(value_type = crate::schema::DeliveryStatus)]
    pub status: &'static str,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Timestamp>,
}

impl From<&leadflow_store::DeliveryRecord> for Delivery {
    fn from(d: &leadflow_store::DeliveryRecord) -> Delivery {
        Delivery {
            id: d.id,
            topic: d.notification.topic.as_str(),
            lead_id: d.notification.lead.0,
            occurred_at: d.notification.at,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<Delivery>,
}

/// The body a receiver gets (signed as sent).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Payload {
    pub delivery_id: i64,
    #[schema(value_type = crate::schema::Topic)]
    pub topic: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    pub lead: PayloadLead,
    /// The lead's score then; null for a lead not scored yet (one assigned or moved as it was
    /// created).
    pub score: Option<Values>,
    /// For `lead.bucket_changed`: the bucket it left.
    pub previous_bucket: Option<String>,
    /// For `lead.assigned`: who owns it now, who did, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment: Option<PayloadAssignment>,
    /// For `lead.stage_changed` and `lead.recycled`: the move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<PayloadStage>,
    /// For `task.due` and `task.overdue`: the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<PayloadTask>,
    /// For `sla.breached`: the clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<PayloadSla>,
    /// For `sequence.step`: the sequence and the step the lead reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<PayloadSequenceStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadSequenceStep {
    pub sequence: String,
    pub step: String,
    /// The enrollment's id (`GET /v1/sequences/{name}/enrollments`).
    pub enrollment: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadAssignment {
    pub owner: String,
    pub previous_owner: Option<String>,
    /// The rule, its strategy and whom it passed over; or the reason given by hand.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadStage {
    pub pipeline: String,
    /// The stage it left; null when it entered the pipeline.
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadTask {
    pub id: i64,
    /// `call`, `email`, `meeting` or `todo`.
    pub kind: String,
    pub title: String,
    pub owner: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadSla {
    /// The clock's id (`GET /v1/sla/clocks`).
    pub clock: i64,
    pub rule: String,
    pub rule_name: String,
    /// Whose working time it counted in.
    pub owner: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
}

/// The lead, as it was named when the delivery was made.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PayloadLead {
    pub id: i64,
    pub email: Option<String>,
    pub external_id: Option<String>,
}

impl From<&leadflow_store::DeliveryRecord> for Payload {
    fn from(d: &leadflow_store::DeliveryRecord) -> Payload {
        let n = &d.notification;
        Payload {
            delivery_id: d.id,
            topic: n.topic.as_str(),
            occurred_at: n.at,
            lead: PayloadLead {
                id: n.lead.0,
                email: n.email.as_ref().map(ToString::to_string),
                external_id: n.external_id.as_ref().map(ToString::to_string),
            },
            score: n.score.as_ref().map(Into::into),
            previous_bucket: n.previous_bucket.clone(),
            assignment: None,
            stage: None,
            task: None,
            sla: None,
            sequence: None,
        }
        .with_detail(n.detail.as_ref())
    }
}

impl Payload {
    fn with_detail(self, detail: Option<&NotificationDetail>) -> Payload {
        match detail.cloned() {
            None => self,
            Some(NotificationDetail::Assigned { owner, previous_owner, reason }) => {
                Payload { assignment: Some(PayloadAssignment { owner, previous_owner, reason }), ..self }
            }
            Some(NotificationDetail::StageChanged { pipeline, from_stage, to_stage, reason }) => {
                Payload { stage: Some(PayloadStage { pipeline, from: from_stage, to: to_stage, reason }), ..self }
            }
            Some(NotificationDetail::Task { task, task_kind, title, owner, due_at }) => {
                Payload { task: Some(PayloadTask { id: task, kind: task_kind, title, owner, due_at }), ..self }
            }
            Some(NotificationDetail::SlaBreached { clock, rule, rule_name, owner, due_at }) => {
                Payload { sla: Some(PayloadSla { clock, rule, rule_name, owner, due_at }), ..self }
            }
            Some(NotificationDetail::SequenceStep { sequence, step, enrollment }) => {
                Payload { sequence: Some(PayloadSequenceStep { sequence, step, enrollment }), ..self }
            }
        }
    }
}
