//! `leadflow sequence ...`: nurture sequence files: checked, stored, activated, paused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use leadflow_core::sequence::{Sequence, StepAction};
use leadflow_engine::Engine;
use leadflow_store::{Backend, RuleFileVersion};

use crate::rule_file;

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
    }
    Ok(ExitCode::SUCCESS)
}
