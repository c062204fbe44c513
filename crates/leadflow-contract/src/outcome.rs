//! What became of an event: `POST /v1/events`, `leadflow track --json`.

use serde::Serialize;

use crate::Values;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EventOutcome {
    /// Stored; the lead's new score, when its scoring answered with one.
    Accepted {
        lead_id: i64,
        created_lead: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        score: Option<Values>,
        #[serde(skip_serializing_if = "Option::is_none")]
        became_mql: Option<bool>,
    },
    /// The lead had this event already: nothing changed.
    Duplicate { lead_id: i64 },
}

impl EventOutcome {
    pub fn accepted(lead: leadflow_core::LeadId, created_lead: bool, scored: Option<&leadflow_engine::Scored>) -> Self {
        EventOutcome::Accepted {
            lead_id: lead.0,
            created_lead,
            score: scored.map(Values::from),
            became_mql: scored.map(|s| s.became_mql),
        }
    }

    pub fn duplicate(lead: leadflow_core::LeadId) -> Self {
        EventOutcome::Duplicate { lead_id: lead.0 }
    }
}
