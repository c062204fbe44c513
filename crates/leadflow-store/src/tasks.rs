//! Follow-up tasks as stored: one row each, its state as `core::task::TaskState` gives it.

use leadflow_core::task::{Priority, TaskKind, TaskState, TaskStatus, TaskTitle};
use leadflow_core::team::UserName;
use leadflow_core::{LeadId, Timestamp};

use crate::StoreError;

#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: i64,
    pub lead: LeadId,
    pub kind: TaskKind,
    pub title: TaskTitle,
    pub owner: Option<UserName>,
    pub priority: Priority,
    pub state: TaskState,
    /// Who made it: an API key's name, `cli`, or the rule.
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    /// When its `task.due` and `task.overdue` news went out, for its due time (a snooze clears
    /// them: the task is due anew).
    pub reminded: Reminded,
}

/// An owner's tasks ([`TaskReads::task_counts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    pub owner: Option<String>,
    /// Open or snoozed now.
    pub pending: u64,
    /// Pending and past due (a snoozed task's due is its snooze's end).
    pub overdue: u64,
    /// Done in the period.
    pub done: u64,
    /// Of those, done after they were due.
    pub done_late: u64,
}

/// Which of a task's reminders went out, and when; and when the next is due (`None`: none is
/// left, or the task is closed). A new task's next is its due time; a snooze makes it the
/// snooze's end and clears the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reminded {
    pub due: Option<Timestamp>,
    pub overdue: Option<Timestamp>,
    pub next: Option<Timestamp>,
}

/// A task to add.
#[derive(Clone, Copy, Debug)]
pub struct NewTask<'a> {
    pub lead: LeadId,
    pub kind: TaskKind,
    pub title: &'a TaskTitle,
    pub owner: Option<&'a UserName>,
    pub priority: Priority,
    pub due_at: Timestamp,
    pub created_by: Option<&'a str>,
}

/// Which tasks to list: those of an owner, of a lead, still to do, due before an instant; soonest
/// due first (a snoozed task by its snooze's end).
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    pub owner: Option<UserName>,
    pub lead: Option<LeadId>,
    /// Only open and snoozed tasks.
    pub pending: bool,
    pub due_before: Option<Timestamp>,
    pub limit: usize,
}

pub trait TaskReads {
    fn tasks(&self, query: &TaskQuery) -> Result<Vec<TaskRecord>, StoreError>;
    fn task(&self, id: i64) -> Result<Option<TaskRecord>, StoreError>;
    /// Leads in one of the `open` stages (pipeline, stage id) with no open or snoozed task: the
    /// leads being worked that have no next step. By id, at most `limit`.
    fn leads_without_next_step(&self, open: &[(String, String)], limit: usize) -> Result<Vec<LeadId>, StoreError>;
    /// Per owner (by name; tasks of nobody last): pending tasks now, how many of them overdue,
    /// and those done in `[from, now)`, how many of them after they were due.
    fn task_counts(&self, from: Timestamp, now: Timestamp) -> Result<Vec<TaskCounts>, StoreError>;
    /// Tasks whose next reminder is due by `now` ([`Reminded::next`]), soonest first, after
    /// `(next, id)` `after` (for paging), at most `limit`.
    fn tasks_to_remind(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError>;
}

pub trait TaskWrites {
    fn add_task(&mut self, task: &NewTask<'_>, now: Timestamp) -> Result<i64, StoreError>;
    /// The task as this unit of work sees it.
    fn task_now(&mut self, id: i64) -> Result<Option<TaskRecord>, StoreError>;
    /// Writes the task's state; a snooze clears its reminders (it is due anew).
    fn set_task_state(&mut self, id: i64, state: &TaskState, now: Timestamp) -> Result<(), StoreError>;
    fn set_task_reminded(&mut self, id: i64, reminded: &Reminded) -> Result<(), StoreError>;
    /// Cancels the lead's open and snoozed tasks, saying why (it was won, lost, sent back to
    /// nurture); how many.
    fn cancel_pending_tasks(&mut self, lead: LeadId, why: &str, now: Timestamp) -> Result<u64, StoreError>;
    /// Gives the lead's open and snoozed tasks owned by nobody, or by `from`, to `to`, as the
    /// lead changes hands; how many.
    fn hand_over_tasks(
        &mut self,
        lead: LeadId,
        from: Option<&str>,
        to: &UserName,
        now: Timestamp,
    ) -> Result<u64, StoreError>;
}

/// A task's row, as both backends read it back.
pub struct TaskRow {
    pub id: i64,
    pub lead: i64,
    pub kind: String,
    pub title: String,
    pub owner: Option<String>,
    pub priority: String,
    pub status: String,
    pub due_at: i64,
    pub snoozed_until: Option<i64>,
    pub outcome: Option<String>,
    pub closed_at: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub due_notified_at: Option<i64>,
    pub overdue_notified_at: Option<i64>,
    pub remind_at: Option<i64>,
}

/// The columns [`TaskRow`] reads, in its order.
pub const TASK_COLUMNS: &str = "id, lead_id, kind, title, owner, priority, status, due_at, snoozed_until, outcome, \
                                closed_at, created_by, created_at, due_notified_at, overdue_notified_at, \
                                remind_at";

impl TaskRow {
    pub fn into_record(self) -> Result<TaskRecord, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("task {}: {what}", self.id));
        let millis = |t: Option<i64>| t.map(Timestamp::from_millis);
        Ok(TaskRecord {
            id: self.id,
            lead: LeadId(self.lead),
            kind: TaskKind::parse(&self.kind).ok_or_else(|| corrupt(format!("kind `{}`", self.kind)))?,
            title: TaskTitle::parse(&self.title).map_err(|e| corrupt(e.to_string()))?,
            owner: self.owner.as_deref().map(UserName::parse).transpose().map_err(|e| corrupt(e.to_string()))?,
            priority: Priority::parse(&self.priority)
                .ok_or_else(|| corrupt(format!("priority `{}`", self.priority)))?,
            state: TaskState {
                status: TaskStatus::parse(&self.status).ok_or_else(|| corrupt(format!("status `{}`", self.status)))?,
                due_at: Timestamp::from_millis(self.due_at),
                snoozed_until: millis(self.snoozed_until),
                outcome: self.outcome,
                closed_at: millis(self.closed_at),
            },
            created_by: self.created_by,
            created_at: Timestamp::from_millis(self.created_at),
            reminded: Reminded {
                due: millis(self.due_notified_at),
                overdue: millis(self.overdue_notified_at),
                next: millis(self.remind_at),
            },
        })
    }
}
