//! `leadflow sequence ...`: nurture sequence files: checked, stored, activated, paused; leads
//! enrolled and taken out; what their emails did.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use leadflow_contract::{NurtureMetrics, SendFigures};
use leadflow_core::sequence::{Sequence, StepAction};
use leadflow_engine::Engine;
use leadflow_store::{Backend, EnrollmentQuery, EnrollmentRecord, RuleFileVersion};

use crate::{output, parse_lead, rule_file};

#[derive(Subcommand)]
pub enum SequenceCommand {
    /// Validate a sequence file; every problem is listed with its line.
    Check { file: PathBuf },
    /// Store a sequence file and make it its name's active version (refused while it names a
    /// stage no active pipeline has, or sends a template that is not active).
    Apply {
        file: PathBuf,
        /// Store it without activating it.
        #[arg(long)]
        inactive: bool,
    },
    /// Stored sequence versions; `*` marks the active one of each name.
    List,
    /// Print a stored sequence's file: the active version of NAME, or version NUMBER.
    Show { name_or_version: String },
    /// Make a stored version its name's active one (resuming a paused sequence).
    Activate {
        #[arg(value_name = "VERSION")]
        number: i64,
    },
    /// Pause a sequence: it enrolls nobody and sends nothing until a version is activated again.
    Pause { name: String },
    /// Enroll a lead in an active sequence (never twice at once; again after it left only as
    /// the sequence's `reenroll` says), or every lead a file names (an import: a CSV whose
    /// `lead`, `email`, `external_id` or `id` column names them, or one per line).
    Enroll {
        name: String,
        /// The lead: its id, email, or external id.
        #[arg(long, required_unless_present = "file", conflicts_with = "file")]
        lead: Option<String>,
        /// A file of leads; the ones refused are listed with their lines.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Take a lead out of a sequence.
    Exit {
        name: String,
        #[arg(long)]
        lead: String,
        /// Why, kept with the enrollment.
        #[arg(long, default_value = "taken out by hand")]
        reason: String,
    },
    /// Enrollments, newest first: of a sequence, of a lead, or both.
    Enrollments {
        name: Option<String>,
        #[arg(long)]
        lead: Option<String>,
        /// Only those still running.
        #[arg(long)]
        active: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// What a sequence's emails did (every sequence's without a name): per step, A/B variant
    /// and template, sent, delivered, opened, clicked, replied, bounced, unsubscribed, with
    /// rates, and the leads that became MQLs or were won after.
    Metrics {
        name: Option<String>,
        /// The API's JSON (`GET /v1/sequences/{name}/metrics`) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `leadflow sequence check`: needs no database.
pub fn check(file: &Path) -> Result<ExitCode> {
    rule_file::check(file, Sequence::parse, describe)
}

/// What a valid sequence holds, in a line.
fn describe(s: &Sequence) -> String {
    let count = |f: fn(&StepAction) -> bool| s.steps().iter().filter(|step| f(step.action())).count();
    let sends = count(|a| matches!(a, StepAction::Send(_)));
    let waits = count(|a| matches!(a, StepAction::Wait(_)));
    let branches = count(|a| matches!(a, StepAction::Branch(_)));
    let enrolls = if s.enroll_rule().is_some() { "by rule and by hand" } else { "by hand only" };
    format!(
        "valid sequence `{}`: {} steps ({sends} sends, {waits} waits, {branches} branches), templates {}; enrolls {enrolls}",
        s.name(),
        s.steps().len(),
        s.templates().join(", "),
    )
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: SequenceCommand) -> Result<ExitCode> {
    match command {
        SequenceCommand::Check { .. } => unreachable!("checked without a database"),
        SequenceCommand::Apply { file, inactive } => {
            let (source, _) = rule_file::read(&file, Sequence::parse)?;
            let saved = engine.save_sequence(&source, !inactive)?;
            let state = if saved.activated { "is active" } else { "is stored, not active" };
            println!("sequence {} ({}) {state}", saved.version, saved.name);
        }
        SequenceCommand::List => rule_file::print_versions(&engine.sequences()?),
        SequenceCommand::Show { name_or_version } => {
            print!("{}", rule_file::find_version(&engine.sequences()?, &name_or_version, "sequence")?.source);
        }
        SequenceCommand::Activate { number } => {
            let saved = engine.activate_sequence(RuleFileVersion(number))?;
            println!("sequence {} ({}) is active", saved.version, saved.name);
        }
        SequenceCommand::Pause { name } => {
            if !engine.pause_sequence(&name)? {
                bail!("sequence `{name}` is not active");
            }
            println!("sequence `{name}` is paused: it enrolls nobody and sends nothing");
        }
        SequenceCommand::Enroll { name, lead: Some(lead), .. } => {
            let e = engine.enroll(&parse_lead(&lead)?, &name, "cli")?;
            let step = e.step.as_deref().unwrap_or_default();
            println!("lead {} is in sequence `{}` ({}), at step `{step}`", e.lead, e.sequence, e.version);
        }
        SequenceCommand::Enroll { name, file: Some(file), .. } => return enroll_file(engine, &name, &file),
        SequenceCommand::Enroll { .. } => bail!("give --lead or --file"),
        SequenceCommand::Exit { name, lead, reason } => {
            let e = engine.exit_enrollment(&parse_lead(&lead)?, &name, &reason)?;
            println!("lead {} left sequence `{}`: {reason}", e.lead, e.sequence);
        }
        SequenceCommand::Enrollments { name, lead, active, limit } => {
            let lead = lead.map(|l| parse_lead(&l).and_then(|l| Ok(engine.lead_id(&l)?))).transpose()?;
            let found = engine.enrollments(&EnrollmentQuery { lead, sequence: name, active, limit })?;
            let rows: Vec<Vec<String>> = found.iter().map(row).collect();
            output::table(&["lead", "sequence", "version", "step", "due", "enrolled", "by", "exited", "why"], &rows);
        }
        SequenceCommand::Metrics { name, json } => {
            let metrics = NurtureMetrics::from(&engine.send_metrics(name.as_deref())?);
            if json {
                println!("{}", serde_json::to_string_pretty(&metrics)?);
                return Ok(ExitCode::SUCCESS);
            }
            let mut rows = Vec::new();
            for sequence in &metrics.sequences {
                for step in &sequence.steps {
                    let variant = step.variant.as_deref().map(|v| format!(" ({v})")).unwrap_or_default();
                    rows.push(figures(
                        &sequence.sequence,
                        &format!("{}{variant}", step.step),
                        &step.template,
                        &step.figures,
                    ));
                }
                rows.push(figures(&sequence.sequence, "all", "", &sequence.total));
            }
            for template in &metrics.templates {
                rows.push(figures("", "", &template.template, &template.figures));
            }
            output::table(
                &[
                    "sequence",
                    "step",
                    "template",
                    "sent",
                    "delivered",
                    "open",
                    "click",
                    "reply",
                    "bounce",
                    "unsub",
                    "mql after",
                    "won after",
                ],
                &rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `leadflow sequence enroll NAME --file F`: every lead the file names, as `import`.
fn enroll_file<S: Backend>(engine: &mut Engine<S>, name: &str, file: &Path) -> Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut refused: Vec<(u64, String)> = Vec::new();
    let (mut leads, mut at) = (Vec::new(), Vec::new());
    for (line, value) in leads_of(&text)? {
        match parse_lead(&value) {
            Ok(lead) => {
                leads.push(lead);
                at.push(line);
            }
            Err(e) => refused.push((line, e.to_string())),
        }
    }
    let done = engine.enroll_many(&leads, name, "import")?;
    let enrolled = done.iter().filter(|r| r.is_ok()).count();
    refused.extend(at.into_iter().zip(done).filter_map(|(line, r)| r.err().map(|e| (line, e.to_string()))));
    refused.sort_by_key(|(line, _)| *line);
    println!("sequence `{name}`: {enrolled} enrolled, {} refused", refused.len());
    for (line, why) in &refused {
        eprintln!("line {line}: {why}");
    }
    Ok(if refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(crate::EXIT_REJECTED) })
}

/// The leads a file names, with their lines: a CSV's `lead`, `email`, `external_id` or `id`
/// column (the first of these it has), or, without such a header, one lead per line.
fn leads_of(text: &str) -> Result<Vec<(u64, String)>> {
    const COLUMNS: [&str; 4] = ["lead", "email", "external_id", "id"];
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let column = COLUMNS.iter().find_map(|c| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(c)));
    let Some(column) = column else {
        // No header naming a column: every non-blank line is a lead.
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i as u64 + 1, l.trim().to_string()))
            .collect());
    };
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        if let Some(value) = record.get(column).map(str::trim).filter(|v| !v.is_empty()) {
            out.push((line, value.to_string()));
        }
    }
    Ok(out)
}

/// One line of the metrics table: counts, and the rates as percentages.
fn figures(sequence: &str, step: &str, template: &str, f: &SendFigures) -> Vec<String> {
    let rate = |n: u64, r: Option<f64>| match r {
        Some(r) => format!("{n} ({:.1}%)", r * 100.0),
        None => n.to_string(),
    };
    vec![
        sequence.to_string(),
        step.to_string(),
        template.to_string(),
        f.sent.to_string(),
        f.delivered.to_string(),
        rate(f.opened, f.open_rate),
        rate(f.clicked, f.click_rate),
        rate(f.replied, f.reply_rate),
        rate(f.bounced, f.bounce_rate),
        rate(f.unsubscribed, f.unsubscribe_rate),
        f.mql_after.to_string(),
        f.won_after.to_string(),
    ]
}

fn row(e: &EnrollmentRecord) -> Vec<String> {
    let time = |t: Option<leadflow_core::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    vec![
        e.lead.to_string(),
        e.sequence.clone(),
        e.version.to_string(),
        e.step.clone().unwrap_or_default(),
        time(e.due_at),
        e.enrolled_at.to_string(),
        e.enrolled_by.clone(),
        time(e.exited_at),
        e.exit_reason.clone().unwrap_or_default(),
    ]
}
