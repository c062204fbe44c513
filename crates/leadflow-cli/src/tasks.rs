//! `leadflow tasks ...`: follow-up tasks, and the leads with no next step.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use leadflow_contract::Task;
use leadflow_core::task::{Priority, TaskKind, TaskTitle};
use leadflow_core::team::UserName;
use leadflow_core::{Actor, LeadRef, Role, Timestamp};
use leadflow_engine::{AddTask, Due, Engine, TaskChange, TaskList};
use leadflow_store::{Backend, TaskRecord};

use crate::{output, parse_lead};

#[derive(Subcommand)]
pub enum TasksCommand {
    /// Add a task to a lead (owned by the lead's owner unless --owner says otherwise).
    Add(AddArgs),
    /// Tasks, soonest due first: still to do by default.
    List {
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        lead: Option<String>,
        /// Only those due before now.
        #[arg(long, conflicts_with_all = ["today", "all"])]
        overdue: bool,
        /// Only those due by the end of their owner's day (overdue ones too).
        #[arg(long, conflicts_with = "all")]
        today: bool,
        /// Done and cancelled ones too.
        #[arg(long)]
        all: bool,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Mark a task done, with a note of how it went.
    Done {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Put a task off until an instant (RFC 3339 or a date).
    Snooze {
        id: i64,
        #[arg(long)]
        until: Timestamp,
    },
    /// Cancel a task, with why.
    Cancel {
        id: i64,
        #[arg(long)]
        why: Option<String>,
    },
    /// Leads in an open pipeline stage with no task to do: nobody's next step.
    Missing {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Args)]
pub struct AddArgs {
    lead: String,
    /// call, email, meeting or todo.
    #[arg(long, default_value = "call")]
    kind: String,
    #[arg(long)]
    title: String,
    /// When it is due (RFC 3339 or a date).
    #[arg(long)]
    due: Timestamp,
    #[arg(long)]
    owner: Option<String>,
    /// low, normal or high.
    #[arg(long, default_value = "normal")]
    priority: String,
}

const ADMIN: Actor<'static> = Actor { role: Role::Admin, name: "" };

pub fn run<S: Backend>(engine: &mut Engine<S>, command: TasksCommand) -> Result<ExitCode> {
    match command {
        TasksCommand::Add(a) => {
            let task = AddTask {
                lead: parse_lead(&a.lead)?,
                kind: TaskKind::parse_or_error(&a.kind)?,
                title: TaskTitle::parse(&a.title)?,
                owner: a.owner.as_deref().map(UserName::parse).transpose()?,
                priority: Priority::parse_or_error(&a.priority)?,
                due_at: a.due,
            };
            let added = engine.add_task(&ADMIN, &task)?;
            println!("task {} added: {}", added.id, describe(&added));
        }
        TasksCommand::List { owner, lead, overdue, today, all, limit, json } => {
            let due = match (overdue, today, all) {
                (true, _, _) => Due::Overdue,
                (_, true, _) => Due::Today,
                (_, _, true) => Due::All,
                _ => Due::Pending,
            };
            let list = TaskList {
                owner: owner.as_deref().map(UserName::parse).transpose()?,
                lead: lead.as_deref().map(parse_lead).transpose()?,
                due,
                limit,
            };
            let now = engine.now();
            let tasks = engine.tasks(&list)?;
            if json {
                let list = leadflow_contract::TaskList { tasks: tasks.iter().map(|t| Task::new(t, now)).collect() };
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = tasks
                .iter()
                .map(|t| {
                    let overdue = if t.state.is_overdue(now) { "overdue" } else { "" };
                    vec![
                        t.id.to_string(),
                        t.state.due().to_string(),
                        overdue.to_string(),
                        t.kind.to_string(),
                        t.priority.to_string(),
                        t.owner.as_ref().map(ToString::to_string).unwrap_or_default(),
                        t.lead.to_string(),
                        t.state.status.to_string(),
                        t.title.to_string(),
                    ]
                })
                .collect();
            output::table(&["id", "due", "", "kind", "priority", "owner", "lead", "status", "title"], &rows);
        }
        TasksCommand::Done { id, note } => {
            let task = engine.change_task(&ADMIN, id, &TaskChange::Done { note })?;
            println!("task {id} done: {}", describe(&task));
        }
        TasksCommand::Snooze { id, until } => {
            let task = engine.change_task(&ADMIN, id, &TaskChange::Snooze { until })?;
            println!("task {id} snoozed until {until}: {}", describe(&task));
        }
        TasksCommand::Cancel { id, why } => {
            let task = engine.change_task(&ADMIN, id, &TaskChange::Cancel { why })?;
            println!("task {id} cancelled: {}", describe(&task));
        }
        TasksCommand::Missing { limit } => {
            let leads = engine.leads_without_next_step(limit)?;
            if leads.is_empty() {
                println!("every lead being worked has a next step");
            }
            for lead in leads {
                let record = engine.store().lead(&LeadRef::Id(lead))?;
                if let Some(l) = record {
                    let stage = l.profile.pipeline_stage.unwrap_or_default();
                    let owner = l.profile.owner.unwrap_or_else(|| "(no owner)".into());
                    println!(
                        "lead {lead} {} in {stage}, {owner}: no next step",
                        l.profile.email.map(|e| e.to_string()).unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(t: &TaskRecord) -> String {
    let owner = t.owner.as_ref().map(|o| format!(", {o}")).unwrap_or_default();
    format!("{} `{}` on lead {}, due {}{owner}", t.kind, t.title, t.lead, t.state.due())
}

/// `leadflow queue --owner NAME`.
pub fn queue<S: Backend>(engine: &mut Engine<S>, owner: &str, limit: usize, json: bool) -> Result<ExitCode> {
    let name = UserName::parse(owner)?;
    let items = engine.queue(&name, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&leadflow_contract::Queue::new(owner, &items, engine.now()))?);
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("{owner} has no leads to work");
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let score = item.lead.score.as_ref().map(|s| format!("{:.1} {}", s.values.total, s.values.grade.letter()));
            vec![
                (i + 1).to_string(),
                item.lead.id.to_string(),
                item.lead.profile.name().to_string(),
                item.lead.profile.pipeline_stage.clone().unwrap_or_default(),
                score.unwrap_or_default(),
                item.why.clone(),
            ]
        })
        .collect();
    output::table(&["#", "lead", "email / external id", "stage", "score", "why"], &rows);
    Ok(ExitCode::SUCCESS)
}
