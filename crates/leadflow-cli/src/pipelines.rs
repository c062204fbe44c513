//! `leadflow pipeline ...` and `leadflow leads move`: sales pipelines and moving leads through
//! them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use leadflow_core::{Actor, Pipeline, Role};
use leadflow_engine::{Engine, Moved, StageMove};
use leadflow_store::{Backend, ChangeCause, ChangeOrigin, RuleFileVersion};

use crate::{output, parse_lead, rule_file};

#[derive(Subcommand)]
pub enum PipelineCommand {
    /// Validate a pipeline file; every problem is listed with its line.
    Check { file: PathBuf },
    /// Store a pipeline file and make it its name's active version (several pipelines are
    /// active at once, one version of each name).
    Apply {
        file: PathBuf,
        /// Store it without activating it.
        #[arg(long)]
        inactive: bool,
    },
    /// Stored pipeline versions; `*` marks the active one of each name.
    List,
    /// Print a stored pipeline's file: the active version of NAME, or version NUMBER.
    Show { name_or_version: String },
    /// Make a stored version its name's active one.
    Activate {
        #[arg(value_name = "VERSION")]
        number: i64,
    },
    /// Stop using a pipeline: no lead enters it; those in it stay where they are.
    Deactivate { name: String },
    /// How many leads are in each stage of a pipeline.
    Stages { name: String },
    /// Route the MQLs waiting for a pipeline and end the cycles past their length, now (what
    /// the server's job does every minute).
    Sweep,
}

/// `leadflow pipeline check`: needs no database.
pub fn check(file: &Path) -> Result<ExitCode> {
    rule_file::check(file, Pipeline::parse, |p| {
        let stages: Vec<&str> = p.stages().iter().map(|s| s.id()).collect();
        format!("valid pipeline `{}` ({})", p.name(), stages.join(" → "))
    })
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: PipelineCommand) -> Result<ExitCode> {
    match command {
        PipelineCommand::Check { .. } => unreachable!("checked without a database"),
        PipelineCommand::Apply { file, inactive } => {
            let (source, _) = rule_file::read(&file, Pipeline::parse)?;
            let saved = engine.save_pipeline(&source, !inactive)?;
            let state = if saved.activated { "is active" } else { "is stored, not active" };
            println!("pipeline {} ({}) {state}", saved.version, saved.name);
        }
        PipelineCommand::List => rule_file::print_versions(&engine.pipelines()?),
        PipelineCommand::Show { name_or_version } => {
            print!("{}", rule_file::find_version(&engine.pipelines()?, &name_or_version, "pipeline")?.source);
        }
        PipelineCommand::Activate { number } => {
            let saved = engine.activate_pipeline(RuleFileVersion(number))?;
            println!("pipeline {} ({}) is active", saved.version, saved.name);
        }
        PipelineCommand::Deactivate { name } => {
            if !engine.deactivate_pipeline(&name)? {
                bail!("pipeline `{name}` is not active");
            }
            println!("pipeline `{name}` is no longer active: no lead enters it");
        }
        PipelineCommand::Stages { name } => {
            let rows: Vec<Vec<String>> =
                engine.stage_counts(&name)?.into_iter().map(|(stage, n)| vec![stage, n.to_string()]).collect();
            output::table(&["stage", "leads"], &rows);
        }
        PipelineCommand::Sweep => {
            let report = engine.sweep_pipelines()?;
            println!("{} MQLs entered a pipeline, {} leads' cycles ended", report.routed, report.cycles_ended);
            for moved in &report.moves {
                println!("  {}", describe(moved));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `leadflow leads move`: as an admin, in the change log as the CLI's.
pub fn move_lead<S: Backend>(
    engine: &mut Engine<S>,
    lead: &str,
    stage: Option<String>,
    pipeline: Option<String>,
    reason: Option<String>,
) -> Result<ExitCode> {
    let request = StageMove { lead: parse_lead(lead)?, pipeline, stage, reason };
    let admin = Actor { role: Role::Admin, name: "" };
    let moved = engine.move_lead(&admin, &ChangeOrigin::of(ChangeCause::Cli), &request)?;
    println!("{}", describe(&moved));
    Ok(ExitCode::SUCCESS)
}

fn describe(moved: &Moved) -> String {
    let from = moved.from.as_deref().map_or_else(|| "entered".to_string(), |f| format!("{f} →"));
    let reason = moved.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    let recycled = if moved.recycled { "; back to nurture, it can qualify as an MQL again" } else { "" };
    format!("lead {}: {} {from} {}{reason}{recycled}", moved.lead, moved.pipeline, moved.to)
}
