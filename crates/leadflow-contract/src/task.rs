//! Follow-up tasks, as the API and `--json` give them.

use leadflow_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A follow-up task.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub lead_id: i64,
    /// `call`, `email`, `meeting` or `todo`.
    pub kind: &'static str,
    pub title: String,
    pub owner: Option<String>,
    /// `low`, `normal` or `high`.
    pub priority: &'static str,
    /// `open`, `snoozed`, `done` or `cancelled`.
    pub status: &'static str,
    /// When it is due: its snooze's end while snoozed.
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    pub overdue: bool,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub snoozed_until: Option<Timestamp>,
    /// How it went (done), or why not (cancelled).
    pub outcome: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<Timestamp>,
    /// Who added it: an API key's name, `cli`, or a rule.
    pub created_by: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Task {
    pub fn new(t: &leadflow_store::TaskRecord, now: Timestamp) -> Task {
        Task {
            id: t.id,
            lead_id: t.lead.0,
            kind: t.kind.as_str(),
            title: t.title.to_string(),
            owner: t.owner.as_ref().map(ToString::to_string),
            priority: t.priority.as_str(),
            status: t.state.status.as_str(),
            due_at: t.state.due(),
            overdue: t.state.is_overdue(now),
            snoozed_until: t.state.snoozed_until,
            outcome: t.state.outcome.clone(),
            closed_at: t.state.closed_at,
            created_by: t.created_by.clone(),
            created_at: t.created_at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<Task>,
}

/// A task to add to a lead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "call", "title": "Call about the demo", "due_at": "2026-06-02T10:00:00Z"}))]
pub struct TaskRequest {
    /// `call` (the default), `email`, `meeting` or `todo`.
    #[schema(pattern = "^(call|email|meeting|todo)$")]
    pub kind: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    /// A user's name; left out: the lead's owner.
    pub owner: Option<String>,
    /// `low`, `normal` (the default) or `high`.
    #[schema(pattern = "^(low|normal|high)$")]
    pub priority: Option<String>,
}

/// What to do with a task.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskChangeRequest {
    /// Done, with a note of how it went.
    Done { note: Option<String> },
    /// Put off until then (after now).
    Snooze {
        #[schema(format = DateTime)]
        until: String,
    },
    /// Not to be done, with why.
    Cancel { why: Option<String> },
}

/// Leads being worked (in an open pipeline stage) with no task to do.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MissingNextSteps {
    pub lead_ids: Vec<i64>,
}

/// A lead of an owner's queue: why it is where it is, and its next step.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueueEntry {
    /// `sla_breached`, `sla_due_today`, `overdue_task`, `due_today`, `rotting`, `no_next_step` or
    /// `later`, most urgent first.
    pub urgency: &'static str,
    pub why: String,
    pub next_task: Option<Task>,
    /// The soonest deadline of its SLA clocks running in the owner's time.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sla_due_at: Option<Timestamp>,
    pub lead: crate::Lead,
}

/// An owner's leads in the order to work them.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Queue {
    pub owner: String,
    pub leads: Vec<QueueEntry>,
}

impl Queue {
    pub fn new(owner: &str, items: &[leadflow_engine::QueueItem], now: Timestamp) -> Queue {
        Queue {
            owner: owner.to_string(),
            leads: items
                .iter()
                .map(|i| QueueEntry {
                    urgency: i.urgency.as_str(),
                    why: i.why.clone(),
                    next_task: i.next_task.as_ref().map(|t| Task::new(t, now)),
                    sla_due_at: i.sla_due_at,
                    lead: (&i.lead).into(),
                })
                .collect(),
        }
    }
}
