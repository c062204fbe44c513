//! A lead's change log as `GET /v1/leads/{lead}/changes` answers it and `leadflow leads changes
//! --json` prints it.

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::lead::CustomField;

/// One field's change: what it was and became (absent: not set), when, why and by whom.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadChange {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// A profile field (`stage`, `owner`, `job_title`, ...) or `custom.<name>`.
    pub field: String,
    pub old: Option<CustomField>,
    pub new: Option<CustomField>,
    /// What made the change.
    #[schema(value_type = crate::schema::ChangeCause)]
    pub cause: &'static str,
    /// Who: the API key's name, the file an import read, the rule (`mql`).
    pub actor: Option<String>,
    /// Why, when a reason was given (a lost deal's, a pipeline rule's).
    pub reason: Option<String>,
}

/// A lead's changes, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadChanges {
    pub changes: Vec<LeadChange>,
}

impl From<&[leadflow_store::StoredChange]> for LeadChanges {
    fn from(changes: &[leadflow_store::StoredChange]) -> LeadChanges {
        LeadChanges { changes: changes.iter().map(LeadChange::from).collect() }
    }
}

impl From<&leadflow_store::StoredChange> for LeadChange {
    fn from(c: &leadflow_store::StoredChange) -> LeadChange {
        LeadChange {
            id: c.id,
            at: c.at,
            field: c.change.field.to_string(),
            old: c.change.old.as_ref().map(CustomField::from),
            new: c.change.new.as_ref().map(CustomField::from),
            cause: c.origin.cause.as_str(),
            actor: c.origin.actor.clone(),
            reason: c.origin.reason.clone(),
        }
    }
}

/// A stretch of a lead's life in one lifecycle stage.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StageStretch {
    #[schema(value_type = crate::schema::Stage)]
    pub stage: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// When it left the stage; absent while it is still there.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Days in the stage, until now for the open stretch.
    pub days: f64,
}

/// The stages a lead went through since it was created, oldest first, and the days it spent in
/// each (over every stretch in it): they add up to its age.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StageHistory {
    pub stages: Vec<StageStretch>,
    pub days_in_stage: std::collections::BTreeMap<String, f64>,
}

impl StageHistory {
    pub fn new(spans: &[leadflow_core::stages::StageSpan], now: Timestamp) -> StageHistory {
        let days = |ms: i64| crate::points(ms as f64 / 86_400_000.0);
        StageHistory {
            stages: spans
                .iter()
                .map(|s| StageStretch {
                    stage: s.stage.name(),
                    from: s.from,
                    until: s.until,
                    days: days(s.duration_ms(now)),
                })
                .collect(),
            days_in_stage: leadflow_core::stages::time_in_stages(spans, now)
                .into_iter()
                .map(|(stage, ms)| (stage.name().to_string(), days(ms)))
                .collect(),
        }
    }
}
