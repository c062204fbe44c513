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
}

/// A lead's changes, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadChanges {
    pub changes: Vec<LeadChange>,
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
        }
    }
}
