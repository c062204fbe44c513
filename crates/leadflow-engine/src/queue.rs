//! The sales queue: one owner's leads in the order to work them, each with why it is where it
//! is and its next step.
//!
//! The order, most urgent first: an SLA clock of theirs breached (the longest overdue first), an
//! SLA clock due by the end of the owner's day (the soonest first), a task overdue (the longest
//! overdue first), a task due by the end of the owner's day, a lead rotting in its stage (past
//! the stage's `rotting_days`), a lead being worked with no next step, then the rest by when
//! their next task is due. Within each, the hotter lead first (score, then grade). The leads are
//! the owner's in an open pipeline stage, and any other of theirs with a task to do or an SLA
//! clock running.

use std::collections::HashMap;

use leadflow_core::calendar::end_of_local_day;
use leadflow_core::team::UserName;
use leadflow_core::{LeadId, LeadRef, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{LeadQuery, LeadRecord, SlaClockQuery, TaskQuery, TaskRecord};

use crate::{Engine, EngineError};

/// How urgent a lead of the queue is, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    SlaBreached,
    SlaDueToday,
    OverdueTask,
    DueToday,
    Rotting,
    NoNextStep,
    Later,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::SlaBreached => "sla_breached",
            Urgency::SlaDueToday => "sla_due_today",
            Urgency::OverdueTask => "overdue_task",
            Urgency::DueToday => "due_today",
            Urgency::Rotting => "rotting",
            Urgency::NoNextStep => "no_next_step",
            Urgency::Later => "later",
        }
    }
}

/// A lead of the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueItem {
    pub lead: LeadRecord,
    pub urgency: Urgency,
    /// Why it is where it is, in words.
    pub why: String,
    /// Its soonest task to do.
    pub next_task: Option<TaskRecord>,
    /// The soonest deadline of its SLA clocks running in the owner's time.
    pub sla_due_at: Option<Timestamp>,
}

/// The most leads of one owner a queue reads.
const MAX_LEADS: usize = 100_000;

impl<S: Store> Engine<S> {
    /// `owner`'s leads in the order to work them, at most `limit`.
    pub fn queue(&mut self, owner: &UserName, limit: usize) -> Result<Vec<QueueItem>, EngineError> {
        let now = self.now();
        let pipelines = self.tracking()?.pipelines;
        let user = self.store.users()?.into_iter().find(|u| u.name() == owner);
        let user = user.ok_or_else(|| EngineError::NoSuchUser(owner.clone()))?;
        let end_of_day = end_of_local_day(user.calendar().zone(), now).unwrap_or(now);
        let tasks = self.store.tasks(&TaskQuery {
            owner: Some(owner.clone()),
            pending: true,
            limit: MAX_LEADS,
            ..Default::default()
        })?;
        // Each lead's soonest task (they come soonest first).
        let mut next: HashMap<LeadId, TaskRecord> = HashMap::new();
        for task in tasks {
            next.entry(task.lead).or_insert(task);
        }
        // Each lead's soonest SLA deadline, and the rule's name.
        // Soonest due first: an owner with more clocks than the queue reads keeps the urgent ones.
        let clocks = self.sla_clocks(&SlaClockQuery {
            owner: Some(owner.clone()),
            running: true,
            soonest_due_first: true,
            limit: MAX_LEADS,
            ..Default::default()
        })?;
        let mut deadlines: HashMap<LeadId, (Timestamp, String)> = HashMap::new();
        for clock in clocks {
            let Some(due) = clock.record.due_at else { continue };
            let soonest = deadlines.entry(clock.record.lead).or_insert((due, clock.rule_name.clone()));
            if due < soonest.0 {
                *soonest = (due, clock.rule_name);
            }
        }
        let owned = self.store.list_leads(&LeadQuery {
            owner: Some(owner.as_str().to_string()),
            limit: MAX_LEADS,
            ..Default::default()
        })?;
        let mut items: Vec<QueueItem> = Vec::new();
        for lead in owned {
            let stage = match (&lead.profile.pipeline, &lead.profile.pipeline_stage) {
                (Some(p), Some(s)) => pipelines.named(p).and_then(|p| p.stage(s)),
                _ => None,
            };
            let working = stage.is_some_and(|s| s.kind().is_active());
            let task = next.remove(&lead.id);
            let deadline = deadlines.remove(&lead.id);
            if !working && task.is_none() && deadline.is_none() {
                continue;
            }
            let rotting =
                stage.zip(lead.pipeline_clock.stage_entered_at).filter(|(s, since)| s.is_rotting(*since, now));
            let by_task = task.as_ref().map(|t| by_task(t, now, end_of_day));
            let (urgency, why) = match (by_task, rotting) {
                _ if deadline.as_ref().is_some_and(|(due, _)| *due < end_of_day) => {
                    by_sla(deadline.as_ref().expect("checked"), now)
                }
                (Some((urgency, why)), _) if urgency < Urgency::Rotting => (urgency, why),
                (_, Some((s, since))) => (
                    Urgency::Rotting,
                    format!(
                        "rotting: in `{}` since {since}, longer than its {} days",
                        s.id(),
                        s.rotting_days().unwrap_or_default()
                    ),
                ),
                (Some(later), None) => later,
                (None, None) => (Urgency::NoNextStep, "no next step: add a task".to_string()),
            };
            let sla_due_at = deadline.map(|(due, _)| due);
            items.push(QueueItem { lead, urgency, why, next_task: task, sla_due_at });
        }
        // What is left are tasks on leads the owner does not own (a colleague's lead, handed a call).
        for (lead, task) in next {
            let Some(record) = self.store.lead(&LeadRef::Id(lead))? else { continue };
            let (urgency, why) = by_task(&task, now, end_of_day);
            items.push(QueueItem { lead: record, urgency, why, next_task: Some(task), sla_due_at: None });
        }
        items.sort_by(|a, b| {
            let due = |i: &QueueItem| i.next_task.as_ref().map_or(Timestamp::from_millis(i64::MAX), |t| t.state.due());
            let total = |i: &QueueItem| i.lead.score.as_ref().map_or(f64::MIN, |s| s.values.total);
            let grade = |i: &QueueItem| i.lead.score.as_ref().map(|s| s.values.grade);
            a.urgency
                .cmp(&b.urgency)
                .then_with(|| match a.urgency {
                    Urgency::SlaBreached | Urgency::SlaDueToday => a.sla_due_at.cmp(&b.sla_due_at),
                    Urgency::OverdueTask | Urgency::DueToday | Urgency::Later => due(a).cmp(&due(b)),
                    Urgency::Rotting | Urgency::NoNextStep => std::cmp::Ordering::Equal,
                })
                .then_with(|| total(b).total_cmp(&total(a)))
                .then_with(|| grade(a).cmp(&grade(b)))
                .then_with(|| a.lead.id.cmp(&b.lead.id))
        });
        items.truncate(limit);
        Ok(items)
    }
}

/// How urgent an SLA deadline due today makes its lead, and why in words.
fn by_sla((due, rule): &(Timestamp, String), now: Timestamp) -> (Urgency, String) {
    if *due < now {
        (Urgency::SlaBreached, format!("SLA `{rule}` breached: due {due}"))
    } else {
        (Urgency::SlaDueToday, format!("SLA `{rule}` due today at {due}"))
    }
}

/// How urgent a task makes its lead, and why in words.
fn by_task(task: &TaskRecord, now: Timestamp, end_of_day: Timestamp) -> (Urgency, String) {
    let (kind, title, due) = (task.kind, &task.title, task.state.due());
    if task.state.is_overdue(now) {
        (Urgency::OverdueTask, format!("{kind} `{title}` overdue since {due}"))
    } else if due < end_of_day {
        (Urgency::DueToday, format!("{kind} `{title}` due today at {due}"))
    } else {
        (Urgency::Later, format!("next: {kind} `{title}` due {due}"))
    }
}
