//! Nurture sequences as the API gives them: stored versions, an active one's file and steps, a
//! check.

use leadflow_core::Timestamp;
use leadflow_core::sequence::{Sequence, SequenceError, StepAction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ModelProblem;

/// A stored sequence version.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceInfo {
    pub version: i64,
    pub name: String,
    /// Whether it is its name's active version (a paused sequence has none).
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
}

impl From<&leadflow_store::RuleFileRecord> for SequenceInfo {
    fn from(s: &leadflow_store::RuleFileRecord) -> SequenceInfo {
        SequenceInfo {
            version: s.version.0,
            name: s.name.clone(),
            active: s.active,
            created_at: s.created_at,
            activated_at: s.activated_at,
        }
    }
}

/// Every stored sequence version, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceList {
    pub sequences: Vec<SequenceInfo>,
}

/// One step of a sequence: its id and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceStep {
    pub id: String,
    /// `send`, `wait`, `branch`, `task`, `stage`, `enroll`, `webhook` or `exit`.
    pub does: &'static str,
    /// The templates a send step sends (one, or one per A/B variant).
    pub templates: Vec<String>,
}

/// An active sequence: its file and its steps.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceView {
    #[serde(flatten)]
    pub info: SequenceInfo,
    /// The file as stored.
    pub source: String,
    pub priority: u32,
    /// Whether leads are enrolled by rule (else only by hand).
    pub enrolls_by_rule: bool,
    pub steps: Vec<SequenceStep>,
}

fn steps(sequence: &Sequence) -> Vec<SequenceStep> {
    sequence
        .steps()
        .iter()
        .map(|s| {
            let (does, templates) = match s.action() {
                StepAction::Send(send) => ("send", send.variants().iter().map(|v| v.template.clone()).collect()),
                StepAction::Wait(_) => ("wait", Vec::new()),
                StepAction::Branch(_) => ("branch", Vec::new()),
                StepAction::Task(_) => ("task", Vec::new()),
                StepAction::Stage(_) => ("stage", Vec::new()),
                StepAction::Enroll(_) => ("enroll", Vec::new()),
                StepAction::Webhook => ("webhook", Vec::new()),
                StepAction::Exit => ("exit", Vec::new()),
            };
            SequenceStep { id: s.id().to_string(), does, templates }
        })
        .collect()
}

impl SequenceView {
    pub fn new(record: &leadflow_store::RuleFileRecord, sequence: &Sequence) -> SequenceView {
        SequenceView {
            info: record.into(),
            source: record.source.clone(),
            priority: sequence.priority(),
            enrolls_by_rule: sequence.enroll_rule().is_some(),
            steps: steps(sequence),
        }
    }
}

/// A sequence file to store or check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceRequest {
    /// The sequence file's text (TOML).
    pub source: String,
    /// Make it its name's active version (the default), or only store it.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub activate: bool,
}

fn yes() -> bool {
    true
}

/// A sequence file checked: valid, with its steps, or its problems, each at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceCheck {
    pub valid: bool,
    /// The sequence's name, when valid.
    pub name: Option<String>,
    pub steps: Vec<SequenceStep>,
    /// The templates its steps send, each once.
    pub templates: Vec<String>,
    pub problems: Vec<ModelProblem>,
}

impl SequenceCheck {
    pub fn of(parsed: &Result<Sequence, SequenceError>) -> SequenceCheck {
        match parsed {
            Ok(s) => SequenceCheck {
                valid: true,
                name: Some(s.name().to_string()),
                steps: steps(s),
                templates: s.templates().iter().map(|t| t.to_string()).collect(),
                problems: Vec::new(),
            },
            Err(e) => SequenceCheck {
                valid: false,
                name: None,
                steps: Vec::new(),
                templates: Vec::new(),
                problems: ModelProblem::list(&e.problems),
            },
        }
    }
}
