//! `leadflow sla ...`, `leadflow leads accept` and `leadflow leads reject`: the hand-off SLA,
//! its clocks and compliance, and sales' answer to a lead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use leadflow_contract::{ComplianceCounts, ComplianceReport, SlaClock};
use leadflow_core::sla::SlaPolicy;
use leadflow_core::team::UserName;
use leadflow_core::{Actor, Role, Timestamp};
use leadflow_engine::{Decision, Engine};
use leadflow_store::{Backend, ChangeCause, ChangeOrigin, SlaClockQuery};

use crate::{output, parse_lead, rule_file};

#[derive(Subcommand)]
pub enum SlaCommand {
    /// Validate an SLA policy file; every problem is listed with its line.
    Check { file: PathBuf },
    /// Store an SLA policy file and make it the one in use.
    Apply { file: PathBuf },
    /// Print the SLA policy in use.
    Show,
    /// SLA clocks, newest first: whose, due when, met, breached or stopped.
    Clocks {
        #[arg(long)]
        lead: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// Only clocks still running.
        #[arg(long)]
        running: bool,
        /// Only clocks past due and not met.
        #[arg(long)]
        breached: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// How the clocks started in a period went: per team, per rep, per rep and rule.
    Compliance {
        /// From this instant or date on; 30 days before --to by default.
        #[arg(long)]
        from: Option<Timestamp>,
        /// Until this instant or date (excluded); now by default.
        #[arg(long)]
        to: Option<Timestamp>,
        #[arg(long)]
        json: bool,
    },
}

/// `leadflow sla check`: needs no database.
pub fn check(file: &Path) -> Result<ExitCode> {
    rule_file::check(file, SlaPolicy::parse, |policy| {
        let ids: Vec<&str> = policy.rules().iter().map(|r| r.id()).collect();
        format!("valid SLA policy `{}` ({})", policy.name(), ids.join(", "))
    })
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: SlaCommand) -> Result<ExitCode> {
    match command {
        SlaCommand::Check { .. } => unreachable!("checked without a database"),
        SlaCommand::Apply { file } => {
            let (source, _) = rule_file::read(&file, SlaPolicy::parse)?;
            let saved = engine.save_sla_policy(&source, true)?;
            println!("SLA policy {} ({}) is in use", saved.version, saved.name);
        }
        SlaCommand::Show => match engine.active_sla()? {
            Some(active) => print!("{}", active.source()),
            None => println!("no SLA policy is in use: `leadflow sla apply FILE`"),
        },
        SlaCommand::Clocks { lead, owner, running, breached, limit, json } => {
            let lead = match lead {
                Some(lead) => {
                    let lead = parse_lead(&lead)?;
                    Some(engine.store().lead(&lead)?.with_context(|| format!("no {lead}"))?.id)
                }
                None => None,
            };
            let owner = owner.as_deref().map(UserName::parse).transpose()?;
            let now = engine.now();
            let query = SlaClockQuery {
                lead,
                owner,
                running,
                breached_as_of: breached.then_some(now),
                limit,
                ..Default::default()
            };
            let clocks: Vec<SlaClock> = engine.sla_clocks(&query)?.iter().map(SlaClock::from).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&clocks)?);
            } else {
                print_clocks(&clocks);
            }
        }
        SlaCommand::Compliance { from, to, json } => {
            let to = to.unwrap_or_else(|| engine.now());
            let from = from.unwrap_or_else(|| to.minus_days(30));
            anyhow::ensure!(from < to, "--from must be before --to");
            let report = ComplianceReport::new(from, to, &engine.sla_compliance(from, to)?);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_compliance(&report);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn print_clocks(clocks: &[SlaClock]) {
    if clocks.is_empty() {
        println!("no SLA clocks");
        return;
    }
    let rows: Vec<Vec<String>> = clocks
        .iter()
        .map(|c| {
            let outcome = match (&c.met_by, &c.stopped_why) {
                (Some(how), _) => format!("{how} {}", or_dash(c.met_at)),
                (None, Some(why)) => format!("stopped: {why}"),
                (None, None) => String::new(),
            };
            vec![
                c.id.to_string(),
                c.lead.to_string(),
                c.rule.clone(),
                or_dash(c.owner.as_ref()),
                c.state.to_string(),
                or_dash(c.due_at),
                outcome,
            ]
        })
        .collect();
    output::table(&["id", "lead", "rule", "owner", "state", "due", ""], &rows);
}

fn rate(c: &ComplianceCounts) -> String {
    c.rate.map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0))
}

fn print_compliance(r: &ComplianceReport) {
    println!("SLA clocks started from {} to {}, as of now", r.from, r.to);
    let counts = |c: &ComplianceCounts| {
        vec![c.met_on_time.to_string(), c.met_late.to_string(), c.breached.to_string(), c.pending.to_string(), rate(c)]
    };
    let header = ["on time", "late", "breached", "pending", "on-time rate"];
    let mut rows: Vec<Vec<String>> =
        r.teams.iter().map(|l| [vec![or_dash(l.team.as_ref()), String::new()], counts(&l.counts)].concat()).collect();
    rows.push([vec!["all".into(), String::new()], counts(&r.total)].concat());
    output::table(&[&["team", ""][..], &header[..]].concat(), &rows);
    println!();
    let rows: Vec<Vec<String>> = r
        .owners
        .iter()
        .map(|l| [vec![or_dash(l.owner.as_ref()), or_dash(l.team.as_ref())], counts(&l.counts)].concat())
        .collect();
    output::table(&[&["rep", "team"][..], &header[..]].concat(), &rows);
    println!();
    let rows: Vec<Vec<String>> = r
        .rules
        .iter()
        .map(|l| [vec![or_dash(l.owner.as_ref()), or_dash(l.rule.as_ref())], counts(&l.counts)].concat())
        .collect();
    output::table(&[&["rep", "rule"][..], &header[..]].concat(), &rows);
}

/// `leadflow leads accept` and `leadflow leads reject`: as an admin, in the change log as the
/// CLI's.
pub fn decide<S: Backend>(engine: &mut Engine<S>, lead: &str, decision: Decision) -> Result<ExitCode> {
    let admin = Actor { role: Role::Admin, name: "" };
    let decided = engine.decide_lead(&admin, &ChangeOrigin::of(ChangeCause::Cli), &parse_lead(lead)?, &decision)?;
    let what = match &decided.decision {
        Decision::Accept => "accepted".to_string(),
        Decision::Reject { reason } => format!("rejected ({reason})"),
    };
    let moved = decided.moved.map(|m| format!(", back to `{}`", m.to)).unwrap_or_default();
    println!("lead {}: {what}{moved}; {} SLA clock(s) met", decided.lead, decided.clocks_met);
    Ok(ExitCode::SUCCESS)
}
