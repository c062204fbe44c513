//! Reading a rule file (a pipeline, assignment rules, an SLA policy) and `leadflow <kind>
//! check`: its problems told with the file's name, before anything is stored.

use std::fmt::Display;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

/// The file's text and what `parse` made of it.
pub fn read<T, E: Display>(path: &Path, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<(String, T)> {
    let source = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = parse(&source).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((source, parsed))
}

/// `leadflow <kind> check`, which needs no database: what a valid file holds (`describe`), or
/// every problem and a failing exit.
pub fn check<T, E: Display>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, E>,
    describe: impl FnOnce(&T) -> String,
) -> Result<ExitCode> {
    match read(path, parse) {
        Ok((_, parsed)) => {
            println!("{}: {}", path.display(), describe(&parsed));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `leadflow <kind> list`: every stored version, `*` marking the active one of each name.
pub fn print_versions(records: &[leadflow_store::RuleFileRecord]) {
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                if r.active { "*".into() } else { String::new() },
                r.version.to_string(),
                r.name.clone(),
                r.created_at.to_string(),
                r.activated_at.map(|t| t.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    crate::output::table(&["", "version", "name", "created", "last activated"], &rows);
}

/// `leadflow <kind> show`: the stored file of version NUMBER (`v3` or `3`), or of NAME's
/// active version.
pub fn find_version<'a>(
    records: &'a [leadflow_store::RuleFileRecord],
    name_or_version: &str,
    kind: &str,
) -> Result<&'a leadflow_store::RuleFileRecord> {
    let version = name_or_version.trim_start_matches('v').parse::<i64>().ok().map(leadflow_store::RuleFileVersion);
    let found = match version {
        Some(v) => records.iter().find(|r| r.version == v),
        None => records.iter().find(|r| r.active && r.name == name_or_version),
    };
    found.with_context(|| format!("no {kind} version or active {kind} `{name_or_version}`"))
}
