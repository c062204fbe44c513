//! `leadflow template ...`: email template files: checked, stored, activated, retired, and
//! previewed with a lead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use leadflow_core::template::Template;
use leadflow_engine::{Engine, TemplateToPreview};
use leadflow_store::{Backend, RuleFileVersion};

use crate::{parse_lead, rule_file};

#[derive(Subcommand)]
pub enum TemplateCommand {
    /// Validate a template file; every problem (an unknown variable, a `{{` left open) is
    /// listed with its line.
    Check { file: PathBuf },
    /// Store a template file and make it its name's active version, which every later send
    /// uses.
    Apply {
        file: PathBuf,
        /// Store it without activating it.
        #[arg(long)]
        inactive: bool,
    },
    /// Stored template versions; `*` marks the active one of each name.
    List,
    /// Print a stored template's file: the active version of NAME, or version NUMBER.
    Show { name_or_version: String },
    /// Make a stored version its name's active one.
    Activate {
        #[arg(value_name = "VERSION")]
        number: i64,
    },
    /// Retire a template (refused while an active sequence sends it).
    Retire { name: String },
    /// A template filled in for a lead, as its owner would send it: the active version of
    /// NAME, or the file given with --file.
    Preview {
        /// The template's name.
        #[arg(required_unless_present = "file")]
        name: Option<String>,
        /// A template file, checked but not stored.
        #[arg(long, conflicts_with = "name")]
        file: Option<PathBuf>,
        /// The lead: its id, email, or external id.
        #[arg(long)]
        lead: String,
    },
}

/// `leadflow template check`: needs no database.
pub fn check(file: &Path) -> Result<ExitCode> {
    rule_file::check(file, Template::parse, |t| {
        let variables: Vec<String> = t.variables().iter().map(|v| v.name()).collect();
        let parts = if t.has_html() { "subject, text and HTML" } else { "subject and text" };
        format!("valid template `{}`: {parts}; fills in {}", t.name(), variables.join(", "))
    })
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: TemplateCommand) -> Result<ExitCode> {
    match command {
        TemplateCommand::Check { .. } => unreachable!("checked without a database"),
        TemplateCommand::Apply { file, inactive } => {
            let (source, _) = rule_file::read(&file, Template::parse)?;
            let saved = engine.save_template(&source, !inactive)?;
            let state = if saved.activated { "is active" } else { "is stored, not active" };
            println!("template {} ({}) {state}", saved.version, saved.name);
        }
        TemplateCommand::List => rule_file::print_versions(&engine.templates()?),
        TemplateCommand::Show { name_or_version } => {
            print!("{}", rule_file::find_version(&engine.templates()?, &name_or_version, "template")?.source);
        }
        TemplateCommand::Activate { number } => {
            let saved = engine.activate_template(RuleFileVersion(number))?;
            println!("template {} ({}) is active", saved.version, saved.name);
        }
        TemplateCommand::Retire { name } => {
            if !engine.retire_template(&name)? {
                bail!("template `{name}` is not active");
            }
            println!("template `{name}` is retired");
        }
        TemplateCommand::Preview { name, file, lead } => {
            let source = file
                .as_deref()
                .map(|f| std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("reading {}: {e}", f.display())))
                .transpose()?;
            let template = match (&source, &name) {
                (Some(source), _) => TemplateToPreview::Source(source),
                (None, Some(name)) => TemplateToPreview::Active(name),
                (None, None) => unreachable!("clap requires one"),
            };
            let rendered = engine.preview_template(template, &parse_lead(&lead)?)?;
            println!("Subject: {}\n\n{}", rendered.subject, rendered.text);
            if let Some(html) = rendered.html {
                println!("\n--- HTML ---\n{html}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
