//! Webhooks: their registrations, their deliveries, and what a receiver gets.

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

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
    pub score: Values,
    /// For `lead.bucket_changed`: the bucket it left.
    pub previous_bucket: Option<String>,
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
            score: (&n.score).into(),
            previous_bucket: n.previous_bucket.clone(),
        }
    }
}
