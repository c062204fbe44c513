//! Nurture sequences as the API gives them: stored versions, an active one's file and steps, a
//! check.

use leadflow_core::sequence::{Sequence, SequenceError, StepAction};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ModelProblem, RuleFileInfo};

/// Every stored sequence version, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SequenceList {
    pub sequences: Vec<RuleFileInfo>,
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
    pub info: RuleFileInfo,
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

/// A lead's enrollment in a sequence.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EnrollmentView {
    pub id: i64,
    pub lead_id: i64,
    pub sequence: String,
    /// The sequence version it was enrolled under.
    pub version: i64,
    /// Whether it is still running.
    pub active: bool,
    /// The step it runs next, and when; null once it has exited.
    pub step: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<leadflow_core::Timestamp>,
    /// Who enrolled it: an API key's name, `cli`, `import`, `rule`, or a sequence's name.
    pub enrolled_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub enrolled_at: leadflow_core::Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub exited_at: Option<leadflow_core::Timestamp>,
    pub exit_reason: Option<String>,
}

impl From<&leadflow_store::EnrollmentRecord> for EnrollmentView {
    fn from(e: &leadflow_store::EnrollmentRecord) -> EnrollmentView {
        EnrollmentView {
            id: e.id,
            lead_id: e.lead.0,
            sequence: e.sequence.clone(),
            version: e.version.0,
            active: e.is_active(),
            step: e.step.clone(),
            due_at: e.due_at,
            enrolled_by: e.enrolled_by.clone(),
            enrolled_at: e.enrolled_at,
            exited_at: e.exited_at,
            exit_reason: e.exit_reason.clone(),
        }
    }
}

/// Enrollments, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EnrollmentList {
    pub enrollments: Vec<EnrollmentView>,
}

/// A lead to enroll in a sequence.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The lead: its id, email or external id.
    #[schema(schema_with = crate::lead_ref_schema)]
    pub lead: String,
}

/// A lead to take out of a sequence, and why.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitRequest {
    #[schema(schema_with = crate::lead_ref_schema)]
    pub lead: String,
    /// Kept with the enrollment.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}
