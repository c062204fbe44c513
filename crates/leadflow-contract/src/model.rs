//! Scoring models: their versions, and what checking a model file found.

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A stored model version (its source apart).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelInfo {
    pub version: i64,
    pub name: String,
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
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
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelProblem {
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
}

/// A rule of a valid model that can match nothing yet, at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
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
        ModelProblem::list(&e.problems)
    }

    /// A rule file's problems (a model's, a pipeline's, assignment rules'): placed and worded
    /// alike.
    pub fn list(problems: &[leadflow_core::ModelProblem]) -> Vec<ModelProblem> {
        problems
            .iter()
            .map(|p| ModelProblem { line: p.line, column: p.column, path: p.path.clone(), message: p.message.clone() })
            .collect()
    }
}

/// Every stored model version, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelList {
    pub models: Vec<ModelInfo>,
}

/// A model version with its file as it was applied.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelSource {
    #[serde(flatten)]
    pub info: ModelInfo,
    pub source: String,
}

impl From<&leadflow_store::ModelRecord> for ModelSource {
    fn from(m: &leadflow_store::ModelRecord) -> ModelSource {
        ModelSource { info: m.into(), source: m.source.clone() }
    }
}

/// What activating a model did: the rescore, and the predictions refreshed with it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ApplyReport {
    pub version: i64,
    pub name: String,
    pub rescored: u64,
    pub changed: u64,
    pub became_mql: u64,
    /// Null when no trained model is active.
    pub predicted: Option<Predicted>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Predicted {
    pub trained_model: i64,
    pub leads: u64,
}

impl From<&leadflow_engine::ApplyReport> for ApplyReport {
    fn from(r: &leadflow_engine::ApplyReport) -> ApplyReport {
        ApplyReport {
            version: r.version.0,
            name: r.name.clone(),
            rescored: r.rescore.leads,
            changed: r.rescore.changed,
            became_mql: r.rescore.became_mql,
            predicted: r.rescore.predicted.map(|(trained_model, leads)| Predicted { trained_model, leads }),
        }
    }
}
