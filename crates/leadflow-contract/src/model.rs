//! Scoring models: their versions, and what checking a model file found.

use leadflow_core::Timestamp;
use serde::Serialize;

/// A stored model version (its source apart).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelInfo {
    pub version: i64,
    pub name: String,
    pub active: bool,
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
}

impl From<&leadflow_store::ModelRecord> for ModelInfo {
    fn from(m: &leadflow_store::ModelRecord) -> ModelInfo {
        ModelInfo {
            version: m.version.0,
            name: m.name.clone(),
            active: m.active,
            created_at: m.created_at,
            activated_at: m.activated_at,
        }
    }
}

/// A model file's check: `POST /v1/models/validate`, `leadflow model check --json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelCheck {
    pub valid: bool,
    /// The model's name, when it is valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub problems: Vec<ModelProblem>,
    /// Rules that can match nothing the database holds (only for a valid model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<ModelWarning>>,
}

/// What makes a model invalid, at its place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelProblem {
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

/// A rule of a valid model that can match nothing yet, at its place.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelWarning {
    /// Null when the rule's place in the source is not known.
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl ModelCheck {
    pub fn valid(model: &leadflow_core::Model, warnings: &[leadflow_core::model::ModelWarning]) -> ModelCheck {
        ModelCheck {
            valid: true,
            name: Some(model.name.clone()),
            problems: Vec::new(),
            warnings: Some(
                warnings
                    .iter()
                    .map(|w| ModelWarning { line: w.line, path: w.path.clone(), message: w.message.clone() })
                    .collect(),
            ),
        }
    }

    pub fn invalid(e: &leadflow_core::ModelError) -> ModelCheck {
        ModelCheck { valid: false, name: None, problems: ModelProblem::all(e), warnings: None }
    }
}

impl ModelProblem {
    pub fn all(e: &leadflow_core::ModelError) -> Vec<ModelProblem> {
        e.problems
            .iter()
            .map(|p| ModelProblem { line: p.line, column: p.column, path: p.path.clone(), message: p.message.clone() })
            .collect()
    }
}
