//! `leadflow users ...`, `leadflow assignment ...` and `leadflow leads assign`: the sales team
//! and who gets which lead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use leadflow_contract::{UserInfo, UserList};
use leadflow_core::team::{AssignmentRules, User, UserName, UserSpec};
use leadflow_core::{Actor, Role};
use leadflow_engine::Engine;
use leadflow_store::{Backend, ChangeCause, ChangeOrigin};

use crate::{output, parse_lead, rule_file};

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user, or replace the one of that name (every field as given now).
    Put(Box<UserArgs>),
    /// Every user, with their team, hours and availability.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct UserArgs {
    /// The name leads are owned under and a sales API key has (`ana`, `ana@yourco.example`).
    name: String,
    /// The IANA time zone their working hours are local to.
    #[arg(long, default_value = "UTC")]
    zone: String,
    /// Their working week, e.g. "mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00".
    #[arg(long)]
    hours: Option<String>,
    /// A local date they do not work (YYYY-MM-DD); repeat for several.
    #[arg(long = "holiday")]
    holidays: Vec<String>,
    #[arg(long)]
    team: Option<String>,
    /// rep (the default) or manager.
    #[arg(long)]
    role: Option<String>,
    #[arg(long)]
    display_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Out of office until this instant (RFC 3339 or a date): assignment passes them over.
    #[arg(long)]
    away_until: Option<String>,
    /// The most open leads they take at once.
    #[arg(long)]
    capacity: Option<u32>,
    /// Takes no leads at all (someone who left).
    #[arg(long)]
    inactive: bool,
    /// What ends the nurture emails sent from them (their name and address when left out).
    #[arg(long)]
    signature: Option<String>,
}

#[derive(Subcommand)]
pub enum AssignmentCommand {
    /// Validate an assignment rules file; every problem is listed with its line.
    Check { file: PathBuf },
    /// Store an assignment rules file and make it the one in use.
    Apply { file: PathBuf },
    /// Print the assignment rules in use.
    Show,
}

pub fn users<S: Backend>(engine: &mut Engine<S>, command: UsersCommand) -> Result<ExitCode> {
    match command {
        UsersCommand::Put(a) => {
            let holidays: Vec<&str> = a.holidays.iter().map(String::as_str).collect();
            let user = User::build(UserSpec {
                name: &a.name,
                display_name: a.display_name.as_deref(),
                email: a.email.as_deref(),
                team: a.team.as_deref(),
                role: a.role.as_deref(),
                zone: &a.zone,
                hours: a.hours.as_deref(),
                holidays: &holidays,
                away_until: a.away_until.as_deref(),
                capacity: a.capacity,
                active: !a.inactive,
            })?
            .with_signature(a.signature.as_deref())?;
            let created = engine.put_user(&user)?;
            println!("{} user {}", if created { "created" } else { "replaced" }, user.name());
        }
        UsersCommand::List { json } => {
            let now = engine.now();
            let users = engine.users()?;
            if json {
                let list = UserList { users: users.iter().map(|u| UserInfo::new(u, now)).collect() };
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    let availability = if !u.is_active() {
                        "inactive".to_string()
                    } else if u.is_away(now) {
                        format!("away until {}", u.away_until().map(|t| t.to_string()).unwrap_or_default())
                    } else {
                        "available".to_string()
                    };
                    vec![
                        u.name().to_string(),
                        u.team().map(ToString::to_string).unwrap_or_default(),
                        u.role().as_str().to_string(),
                        u.calendar().zone().name().to_string(),
                        u.week().to_string(),
                        u.capacity().map(|c| c.to_string()).unwrap_or_default(),
                        availability,
                    ]
                })
                .collect();
            output::table(&["name", "team", "role", "zone", "hours", "capacity", ""], &rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `leadflow assignment check`: needs no database.
pub fn check(file: &Path) -> Result<ExitCode> {
    rule_file::check(file, AssignmentRules::parse, |rules| {
        let ids: Vec<&str> = rules.rules().iter().map(|r| r.id()).collect();
        format!("valid assignment rules `{}` ({})", rules.name(), ids.join(", "))
    })
}

pub fn assignment<S: Backend>(engine: &mut Engine<S>, command: AssignmentCommand) -> Result<ExitCode> {
    match command {
        AssignmentCommand::Check { .. } => unreachable!("checked without a database"),
        AssignmentCommand::Apply { file } => {
            let (source, _) = rule_file::read(&file, AssignmentRules::parse)?;
            let saved = engine.save_assignment_rules(&source, true)?;
            for unknown in &saved.unknown_names {
                eprintln!("{}: warning: {unknown}", file.display());
            }
            println!("assignment rules {} ({}) are in use", saved.version, saved.name);
        }
        AssignmentCommand::Show => match engine.active_assignment()? {
            Some(active) => print!("{}", active.source()),
            None => println!("no assignment rules are in use: `leadflow assignment apply FILE`"),
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// `leadflow leads assign`: as an admin, in the change log as the CLI's.
pub fn assign<S: Backend>(
    engine: &mut Engine<S>,
    lead: &str,
    owner: Option<&str>,
    reason: Option<&str>,
) -> Result<ExitCode> {
    let owner = owner.map(UserName::parse).transpose()?;
    let admin = Actor { role: Role::Admin, name: "" };
    let given =
        engine.assign_lead(&admin, &ChangeOrigin::of(ChangeCause::Cli), &parse_lead(lead)?, owner.as_ref(), reason)?;
    let previous = given.previous.map(|p| format!(" (was {p})")).unwrap_or_default();
    println!("lead {}: owner {}{previous}: {}", given.lead, given.owner, given.reason);
    Ok(ExitCode::SUCCESS)
}
