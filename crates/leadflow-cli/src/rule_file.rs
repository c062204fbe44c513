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
