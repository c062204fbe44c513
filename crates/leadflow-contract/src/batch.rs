//! What became of each event of a batch: `POST /v1/events/batch`.

use serde::Serialize;
use utoipa::ToSchema;

/// The batch's answer: counts, and a result per event in the order sent.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub results: Vec<BatchResult>,
}

impl BatchAnswer {
    pub fn of(results: Vec<BatchResult>) -> BatchAnswer {
        let count = |f: fn(&ItemOutcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
        BatchAnswer {
            accepted: count(|o| matches!(o, ItemOutcome::Accepted { .. })),
            duplicates: count(|o| matches!(o, ItemOutcome::Duplicate { .. })),
            rejected: count(|o| matches!(o, ItemOutcome::Rejected { .. })),
            results,
        }
    }
}

/// One event's result: its place in the batch, its id as sent (null if it had none it could
/// give), and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BatchResult {
    pub index: usize,
    /// The event's `id` as sent, or the key leadflow derived for it; null when a malformed
    /// event gave none.
    #[schema(value_type = Option<Object>)]
    pub id: serde_json::Value,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

/// The lead's id and whether the event created it are told only to callers that may read leads.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ItemOutcome {
    Accepted {
        #[serde(skip_serializing_if = "Option::is_none")]
        lead_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        created_lead: Option<bool>,
    },
    Duplicate {
        #[serde(skip_serializing_if = "Option::is_none")]
        lead_id: Option<i64>,
    },
    Rejected {
        error: ErrorBody,
    },
}

impl ItemOutcome {
    /// Its `status`, as metrics count it.
    pub fn status(&self) -> &'static str {
        match self {
            ItemOutcome::Accepted { .. } => "accepted",
            ItemOutcome::Duplicate { .. } => "duplicate",
            ItemOutcome::Rejected { .. } => "rejected",
        }
    }
}

/// An error as the API's error bodies carry it: a stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}
