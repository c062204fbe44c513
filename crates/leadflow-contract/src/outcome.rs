//! What became of an event: `POST /v1/events`, `leadflow track --json`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Values;

/// The lead's id, whether the event created it and its score are told only to callers that may
/// read leads: an ingest key learns that its event went in, nothing about the lead.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EventOutcome {
    /// Stored; the lead's new score, when its scoring answered with one.
    Accepted {
        #[serde(skip_serializing_if = "Option::is_none")]
        lead_id: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        created_lead: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<Values>,
        #[serde(skip_serializing_if = "Option::is_none")]
        became_mql: Option<bool>,
    },
    /// The lead had this event already: nothing changed.
    Duplicate {
        #[serde(skip_serializing_if = "Option::is_none")]
        lead_id: Option<i64>,
    },
}

impl EventOutcome {
    pub fn accepted(lead: leadflow_core::LeadId, created_lead: bool, scored: Option<&leadflow_engine::Scored>) -> Self {
        EventOutcome::Accepted {
            lead_id: Some(lead.0),
            created_lead: Some(created_lead),
            score: scored.map(Values::from),
            became_mql: scored.map(|s| s.became_mql),
        }
    }

    pub fn duplicate(lead: leadflow_core::LeadId) -> Self {
        EventOutcome::Duplicate { lead_id: Some(lead.0) }
    }

    /// The same outcome with nothing about the lead: what an ingest key is told.
    pub fn without_lead(self) -> Self {
        match self {
            EventOutcome::Accepted { .. } => {
                EventOutcome::Accepted { lead_id: None, created_lead: None, score: None, became_mql: None }
            }
            EventOutcome::Duplicate { .. } => EventOutcome::Duplicate { lead_id: None },
        }
    }
}
