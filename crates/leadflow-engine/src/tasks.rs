//! Follow-up tasks: adding them to leads, listing what is due (per owner, in the owner's own
//! day), and doing, snoozing or cancelling them; and the leads being worked that have no next
//! step.
//!
//! Who may: writers of all leads (admin, marketing) any task; sales the tasks of the leads it
//! owns, and the tasks it owns.

use leadflow_core::calendar::end_of_local_day;
use leadflow_core::task::{Priority, TaskKind, TaskState, TaskTitle};
use leadflow_core::team::{UserName, calendar_of, default_calendar};
use leadflow_core::{Action, Actor, LeadId, LeadRef, Refusal, Timestamp, Topic};
use leadflow_store::prelude::*;
use leadflow_store::{NewTask, TaskQuery, TaskRecord};

use crate::news::tell;
use crate::sla::{ClockEvent, clocks_in};

/// How many tasks a round of reminders reads at a time.
const REMINDER_PAGE: usize = 500;
use crate::stage_moves::hold;
use crate::{Engine, EngineError};

/// A task to add.
#[derive(Clone, Debug, PartialEq)]
pub struct AddTask {
    pub lead: LeadRef,
    pub kind: TaskKind,
    pub title: TaskTitle,
    /// `None`: the lead's owner.
    pub owner: Option<UserName>,
    pub priority: Priority,
    pub due_at: Timestamp,
}

/// Which tasks by when they are due.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Due {
    /// Open or snoozed, whenever due.
    #[default]
    Pending,
    /// Still to do and due before now.
    Overdue,
    /// Still to do and due before the end of the owner's local day (overdue ones too).
    Today,
    /// Every task, done and cancelled too.
    All,
}

/// A list of tasks to read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskList {
    pub owner: Option<UserName>,
    pub lead: Option<LeadRef>,
    pub due: Due,
    pub limit: usize,
}

/// What a round of task reminders marked sent (and told the webhooks that listen of).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reminders {
    /// `task.due` reminders, one per task reaching its due time.
    pub due: usize,
    /// `task.overdue` reminders, one per task still to do when its owner's day ended.
    pub overdue: usize,
}

/// What to do with a task.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskChange {
    Done { note: Option<String> },
    Snooze { until: Timestamp },
    Cancel { why: Option<String> },
}

impl<S: Store> Engine<S> {
    /// Adds a task to a lead, owned by `owner` (a user) or by the lead's owner.
    pub fn add_task(&mut self, actor: &Actor<'_>, task: &AddTask) -> Result<TaskRecord, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let lead = tx.lead(&task.lead)?.ok_or_else(|| EngineError::NoSuchLead(task.lead.clone()))?;
        let lead_owner = lead.profile.owner.as_deref();
        actor.may_write_lead(Some(lead_owner), lead_owner)?;
        let owner = match &task.owner {
            Some(owner) => Some(owner.clone()),
            None => lead_owner.and_then(|o| UserName::parse(o).ok()),
        };
        if let Some(owner) = &owner
            && !tx.users_now()?.iter().any(|u| u.name() == owner)
        {
            return Err(EngineError::NoSuchUser(owner.clone()));
        }
        let created_by = if actor.name.is_empty() { "cli" } else { actor.name };
        let new = NewTask {
            lead: lead.id,
            kind: task.kind,
            title: &task.title,
            owner: owner.as_ref(),
            priority: task.priority,
            due_at: task.due_at,
            created_by: Some(created_by),
        };
        let id = tx.add_task(&new, now)?;
        let record = tx.task_now(id)?.expect("added above");
        tx.commit()?;
        Ok(record)
    }

    /// The tasks the list asks for, soonest due first. "Today" is each task's owner's day, in
    /// their time zone (UTC for a task without an owner, or one whose owner is no user).
    pub fn tasks(&self, list: &TaskList) -> Result<Vec<TaskRecord>, EngineError> {
        let now = self.now();
        let lead = match &list.lead {
            Some(lead) => Some(self.store.lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?.id),
            None => None,
        };
        let (pending, due_before) = match list.due {
            Due::Pending => (true, None),
            Due::Overdue => (true, Some(now)),
            // No local day ends more than 26 hours after now (UTC+14); each task is checked below.
            Due::Today => (true, Some(now.plus_millis(26 * 3_600_000))),
            Due::All => (false, None),
        };
        let query = TaskQuery { owner: list.owner.clone(), lead, pending, due_before, limit: list.limit };
        let mut tasks = self.store.tasks(&query)?;
        if list.due == Due::Today {
            let (users, default) = (self.store.users()?, default_calendar());
            let zone_of =
                |owner: &Option<UserName>| calendar_of(&users, owner.as_ref().map(UserName::as_str), &default).zone();
            tasks.retain(|t| end_of_local_day(zone_of(&t.owner), now).is_some_and(|end| t.state.due() < end));
        }
        Ok(tasks)
    }

    /// Does, snoozes or cancels a task, as `actor`.
    pub fn change_task(&mut self, actor: &Actor<'_>, id: i64, change: &TaskChange) -> Result<TaskRecord, EngineError> {
        let sla = self.tracking()?.sla;
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        // The lead first, as a move holds it before it closes the lead's tasks: one order of
        // locks, so that the two never wait for each other.
        let of_lead = tx.task_now(id)?.ok_or(EngineError::NoSuchTask(id))?.lead;
        let lead = hold(&mut tx, &LeadRef::Id(of_lead), held)?;
        let task = tx.task_now(id)?.ok_or(EngineError::NoSuchTask(id))?;
        if !actor.role.may(Action::WriteLeads) {
            let owns_lead = lead.profile.owner.as_deref() == Some(actor.name);
            let owns_task = task.owner.as_ref().is_some_and(|o| o.as_str() == actor.name);
            if !actor.role.may(Action::WriteOwnLeads) {
                return Err(Refusal::Role(actor.role).into());
            }
            if !owns_lead && !owns_task {
                return Err(Refusal::NotTheOwner(actor.role).into());
            }
        }
        let mut state: TaskState = task.state.clone();
        match change {
            TaskChange::Done { note } => state.complete(note.as_deref(), now)?,
            TaskChange::Snooze { until } => state.snooze(*until, now)?,
            TaskChange::Cancel { why } => state.cancel(why.as_deref(), now)?,
        }
        tx.set_task_state(id, &state, now)?;
        if matches!(change, TaskChange::Done { .. }) && task.kind.is_touch() {
            // A call, an email or a meeting done is a touch: the SLA clocks waiting for one are met.
            clocks_in(&mut tx, sla.as_ref(), &lead, &ClockEvent::Touched, now)?;
        }
        let record = tx.task_now(id)?.expect("changed above");
        tx.commit()?;
        Ok(record)
    }

    /// Sends each task still to do its `task.due` news at its due time, and its `task.overdue`
    /// news once its owner's local day (the day it was due, in their zone; UTC for an owner who
    /// is no user) has ended: each once per due time, a page of tasks in a unit of work that
    /// reads each again, so a task done in between is told of no more.
    pub fn remind_tasks(&mut self) -> Result<Reminders, EngineError> {
        let mut sent = Reminders::default();
        let started = self.now();
        let (users, default) = (self.store.users()?, default_calendar());
        let zone_of =
            |owner: &Option<UserName>| calendar_of(&users, owner.as_ref().map(UserName::as_str), &default).zone();
        // Nobody listening: the reminders are only marked sent, without reading their leads.
        let hooks = self.store.webhooks()?;
        let heard = |topic: Topic| hooks.iter().any(|w| w.topics.contains(&topic));
        let (due_heard, overdue_heard) = (heard(Topic::TaskDue), heard(Topic::TaskOverdue));
        let mut after = None;
        loop {
            let page = self.store.tasks_to_remind(started, after, REMINDER_PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.reminded.next.expect("listed by it"), last.id));
            // A page in one unit of work: reminders hold no lead, and a durable commit per task
            // would cost more than the reminders.
            let now = self.now();
            let mut tx = self.store.begin()?;
            for listed in page {
                let Some(task) = tx.task_now(listed.id)? else { continue };
                let due = task.state.due();
                if !task.state.status.is_pending() || task.reminded.next.is_none_or(|next| next > now) {
                    continue;
                }
                let end_of_day = end_of_local_day(zone_of(&task.owner), due);
                let overdue = end_of_day.is_some_and(|end| now >= end);
                let mut reminded = task.reminded;
                let tell_due = reminded.due.is_none();
                let tell_overdue = overdue && reminded.overdue.is_none();
                if (tell_due && due_heard) || (tell_overdue && overdue_heard) {
                    let Some(lead) = tx.lead(&LeadRef::Id(task.lead))? else { continue };
                    let detail = leadflow_store::NotificationDetail::Task {
                        task: task.id,
                        task_kind: task.kind.as_str().to_string(),
                        title: task.title.as_str().to_string(),
                        owner: task.owner.as_ref().map(|o| o.as_str().to_string()),
                        due_at: due,
                    };
                    if tell_due {
                        tell(&mut tx, &lead, Topic::TaskDue, detail.clone(), now)?;
                    }
                    if tell_overdue {
                        tell(&mut tx, &lead, Topic::TaskOverdue, detail, now)?;
                    }
                }
                if tell_due {
                    reminded.due = Some(now);
                    sent.due += 1;
                }
                if tell_overdue {
                    reminded.overdue = Some(now);
                    sent.overdue += 1;
                }
                // Next: the end of the owner's day, until it is told of as overdue.
                reminded.next = if reminded.overdue.is_some() { None } else { end_of_day };
                if reminded != task.reminded {
                    tx.set_task_reminded(task.id, &reminded)?;
                }
            }
            tx.commit()?;
        }
        Ok(sent)
    }

    /// Leads in an open stage of an active pipeline with no open or snoozed task: being worked,
    /// with no next step. By id, at most `limit`.
    pub fn leads_without_next_step(&mut self, limit: usize) -> Result<Vec<LeadId>, EngineError> {
        let open = self.tracking()?.pipelines.open_stages();
        Ok(self.store.leads_without_next_step(&open, limit)?)
    }
}
