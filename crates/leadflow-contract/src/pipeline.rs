//! Sales pipelines and stage moves, as the API and `--json` give them.

use leadflow_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Lead, ModelProblem};

/// A stored pipeline version.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineInfo {
    pub version: i64,
    pub name: String,
    /// Whether it is its name's active version.
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
}

impl From<&leadflow_store::RuleFileRecord> for PipelineInfo {
    fn from(p: &leadflow_store::RuleFileRecord) -> PipelineInfo {
        PipelineInfo {
            version: p.version.0,
            name: p.name.clone(),
            active: p.active,
            created_at: p.created_at,
            activated_at: p.activated_at,
        }
    }
}

/// Every stored pipeline version, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineList {
    pub pipelines: Vec<PipelineInfo>,
}

/// One stage of an active pipeline, with the leads in it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineStage {
    pub id: String,
    pub name: String,
    /// `open`, `won`, `lost`, `recycled` or `disqualified`.
    pub kind: &'static str,
    /// The chance, 0 to 1, that a lead here is won.
    pub probability: f64,
    /// Days a lead may stay before it is rotting; null: it never rots.
    pub rotting_days: Option<u32>,
    /// The stages a lead may move to from here; null: any.
    pub allowed_next: Option<Vec<String>>,
    /// Fields a lead must have set to enter.
    pub requires: Vec<String>,
    /// The reasons a move here must give one of; empty: none needed.
    pub reasons: Vec<String>,
    /// Leads in this stage now.
    pub leads: u64,
}

/// An active pipeline: its file and its stages with their leads.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineView {
    #[serde(flatten)]
    pub info: PipelineInfo,
    /// The file as stored.
    pub source: String,
    pub stages: Vec<PipelineStage>,
}

impl PipelineView {
    pub fn new(
        record: &leadflow_store::RuleFileRecord,
        pipeline: &leadflow_core::Pipeline,
        counts: &[(String, u64)],
    ) -> PipelineView {
        let count = |id: &str| counts.iter().find(|(s, _)| s == id).map_or(0, |(_, n)| *n);
        let stages = pipeline
            .stages()
            .iter()
            .map(|s| PipelineStage {
                id: s.id().to_string(),
                name: s.name().to_string(),
                kind: s.kind().as_str(),
                probability: s.probability(),
                rotting_days: s.rotting_days(),
                allowed_next: s.allowed_next().map(<[String]>::to_vec),
                requires: s.requires().iter().map(ToString::to_string).collect(),
                reasons: s.reasons().to_vec(),
                leads: count(s.id()),
            })
            .collect();
        PipelineView { info: record.into(), source: record.source.clone(), stages }
    }
}

/// A pipeline file to store or check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineRequest {
    /// The pipeline file's text (TOML).
    pub source: String,
    /// Make it its name's active version (the default), or only store it.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub activate: bool,
}

fn yes() -> bool {
    true
}

/// A pipeline file checked: valid, or its problems, each at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineCheck {
    pub valid: bool,
    /// The pipeline's name, when valid.
    pub name: Option<String>,
    /// Its stages' ids in order, when valid.
    pub stages: Vec<String>,
    pub problems: Vec<ModelProblem>,
}

impl PipelineCheck {
    pub fn of(parsed: &Result<leadflow_core::Pipeline, leadflow_core::PipelineError>) -> PipelineCheck {
        match parsed {
            Ok(p) => PipelineCheck {
                valid: true,
                name: Some(p.name().to_string()),
                stages: p.stages().iter().map(|s| s.id().to_string()).collect(),
                problems: Vec::new(),
            },
            Err(e) => PipelineCheck {
                valid: false,
                name: None,
                stages: Vec::new(),
                problems: ModelProblem::list(&e.problems),
            },
        }
    }
}

/// A lead to move: to a stage of its pipeline, or into one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stage": "lost", "reason": "no budget"}))]
pub struct StageMoveRequest {
    /// The stage's id; left out: the pipeline's entry stage.
    pub stage: Option<String>,
    /// The pipeline to enter or switch to; left out: the lead's own, or for a lead in none, the
    /// one routing picks.
    pub pipeline: Option<String>,
    /// Why: one of the stage's `reasons` when it lists some (ignoring case), a note otherwise.
    pub reason: Option<String>,
}

/// A move made, and the lead after it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StageMoveResult {
    pub pipeline: String,
    /// The stage it left; null when it entered the pipeline.
    pub from: Option<String>,
    pub to: String,
    /// The reason as stored (the stage's spelling).
    pub reason: Option<String>,
    /// It went back to nurture: its MQL mark is cleared, so it can qualify again.
    pub recycled: bool,
    pub lead: Lead,
}

impl StageMoveResult {
    pub fn new(moved: &leadflow_engine::Moved, lead: &leadflow_store::LeadRecord) -> StageMoveResult {
        StageMoveResult {
            pipeline: moved.pipeline.clone(),
            from: moved.from.clone(),
            to: moved.to.clone(),
            reason: moved.reason.clone(),
            recycled: moved.recycled,
            lead: lead.into(),
        }
    }
}
