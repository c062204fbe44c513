//! What the rule files that are only stored and activated have in common over the API: a stored
//! version, and a file to store.

use leadflow_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored version of a rule file: a sequence, a template.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RuleFileInfo {
    pub version: i64,
    pub name: String,
    /// Whether it is its name's active version (a paused sequence, a retired template has none).
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
}

impl From<&leadflow_store::RuleFileRecord> for RuleFileInfo {
    fn from(s: &leadflow_store::RuleFileRecord) -> RuleFileInfo {
        RuleFileInfo {
            version: s.version.0,
            name: s.name.clone(),
            active: s.active,
            created_at: s.created_at,
            activated_at: s.activated_at,
        }
    }
}

/// A rule file (a sequence, a template) to store or check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFileRequest {
    /// The file's text (TOML).
    pub source: String,
    /// Make it its name's active version (the default), or only store it.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub activate: bool,
}

fn yes() -> bool {
    true
}
