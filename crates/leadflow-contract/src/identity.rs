//! A lead's identities, as `GET /v1/leads/{lead}/identities` answers them and `leadflow
//! identities list --json` prints them.

use leadflow_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One way to reach a lead.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadIdentity {
    /// `kind:value`, as a path or a request names it (`phone:+442079460958`).
    #[schema(example = "salesforce:00Q5g000004XyZ1")]
    pub identity: String,
    /// `email`, `external` (the system the profile's `external_id` is from), `phone`, or the
    /// name of another system.
    pub kind: String,
    /// The email lower-cased, the id as its system wrote it, the phone number in E.164 form.
    pub value: String,
    /// The profile's own email or external id (changed through the profile, not removed).
    pub primary: bool,
    #[schema(value_type = String, format = DateTime)]
    pub added_at: Timestamp,
}

/// A website visitor joined to the lead (by a form that introduced it, or a proof).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadVisitor {
    pub visitor_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
}

/// Everything a lead is reached through.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadIdentities {
    pub lead_id: i64,
    /// By kind and value.
    pub identities: Vec<LeadIdentity>,
    /// Oldest first.
    pub visitors: Vec<LeadVisitor>,
}

impl From<&leadflow_engine::LeadIdentities> for LeadIdentities {
    fn from(l: &leadflow_engine::LeadIdentities) -> LeadIdentities {
        LeadIdentities {
            lead_id: l.lead.0,
            identities: l
                .identities
                .iter()
                .map(|(record, primary)| LeadIdentity {
                    identity: record.identity.to_string(),
                    kind: record.identity.kind().to_string(),
                    value: record.identity.value().to_string(),
                    primary: *primary,
                    added_at: record.added_at,
                })
                .collect(),
            visitors: l
                .visitors
                .iter()
                .map(|(visitor, at)| LeadVisitor { visitor_id: visitor.to_string(), joined_at: *at })
                .collect(),
        }
    }
}

/// An identity to give a lead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"identity": "phone:020 7946 0958", "region": "GB"}))]
pub struct IdentityRequest {
    /// `kind:value`: `email:ana@acme.example`, `external:00Q5g...`, `phone:+44 20 7946 0958`,
    /// or a system's name and its id (`salesforce:00Q5g000004XyZ1`; lower-case letters, digits,
    /// `-` and `_`).
    #[schema(min_length = 3, max_length = 300, pattern = ":")]
    pub identity: String,
    /// The country a phone number without its country code is in (`GB`, `US`).
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub region: Option<String>,
}
