//! `leadflow import leads|events`: read a file, hand its rows to the engine's import, report.

use std::fs::File;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use leadflow_engine::{Engine, ImportOptions, ImportSummary};
use leadflow_import::{ColumnMapping, DecimalMark, FileReport, Format, ReadOptions, TextEncoding};

use crate::{ChangeImportArgs, EXIT_REJECTED, FileFormat, ImportArgs, progress};
use leadflow_store::{Backend, ChangeCause, ChangeOrigin};

pub fn leads<S: Backend>(engine: &mut Engine<S>, args: &ImportArgs) -> Result<ExitCode> {
    let (file, format, mapping, size) = open(args)?;
    let import = leadflow_import::read_leads(file, format, &mapping, &options(args))?;
    describe(&import.file);
    let options = ImportOptions {
        batch: args.batch.unwrap_or(ImportOptions::LEADS.batch),
        rescore: !args.no_rescore,
        pipeline: args.pipeline.clone(),
    };
    let (reading, rescoring) = (progress::bar_of_bytes("importing", size), progress::bar("rescoring"));
    // The change log names the file each change came from.
    let origin = ChangeOrigin::new(ChangeCause::Import, args.file.display().to_string());
    let summary = engine.import_lead_rows(import.rows, options, &origin, &reading, &rescoring)?;
    drop((reading, rescoring));
    let t = &summary.totals;
    println!(
        "leads: {} imported ({} new, {} updated), {} rejected{}",
        t.accepted,
        t.created_leads,
        t.updated_leads,
        summary.rejected.len(),
        fields_left_out(&summary)
    );
    finish(args, &summary)
}

pub fn events<S: Backend>(engine: &mut Engine<S>, args: &ImportArgs) -> Result<ExitCode> {
    let (file, format, mapping, size) = open(args)?;
    let import = leadflow_import::read_events(file, format, &mapping, &options(args))?;
    describe(&import.file);
    if args.pipeline.is_some() {
        anyhow::bail!("--pipeline places the leads a lead import creates; events are not placed");
    }
    let options = ImportOptions {
        batch: args.batch.unwrap_or(ImportOptions::EVENTS.batch),
        rescore: !args.no_rescore,
        pipeline: None,
    };
    let (reading, rescoring) = (progress::bar_of_bytes("importing", size), progress::bar("rescoring"));
    let summary = engine.import_event_rows(import.rows, options, &reading, &rescoring)?;
    drop((reading, rescoring));
    let t = &summary.totals;
    println!(
        "events: {} imported, {} duplicates skipped, {} new leads, {} rejected",
        t.accepted,
        t.duplicates,
        t.created_leads,
        summary.rejected.len()
    );
    finish(args, &summary)
}

fn options(args: &ImportArgs) -> ReadOptions {
    ReadOptions {
        encoding: args.encoding,
        delimiter: args.delimiter,
        decimal: match (args.decimal_comma, args.decimal_point) {
            (true, _) => Some(DecimalMark::Comma),
            (_, true) => Some(DecimalMark::Point),
            _ => None,
        },
        date_order: args.date_format,
        strict: args.strict,
    }
}

/// What was found out about the file, where it is not the plain default, and the columns that
/// go nowhere: nothing is left out without a word.
fn describe(file: &FileReport) {
    let mut notes = Vec::new();
    if let Some(byte) = file.not_utf8_at {
        notes.push(format!("read as {} (byte {byte} is not UTF-8; say --encoding otherwise)", file.encoding.name()));
    } else if file.encoding != TextEncoding::Utf8 {
        notes.push(format!("read as {}", file.encoding.name()));
    }
    if let Some(d) = file.delimiter.filter(|d| *d != b',') {
        notes.push(format!("delimiter: {}", leadflow_import::describe_delimiter(d)));
    }
    if let Some(mark) = file.decimal {
        notes.push(format!("numbers: {}", mark.describe()));
    }
    if let Some(order) = file.date_order {
        notes.push(format!("dates: {}", order.describe()));
    }
    if !notes.is_empty() {
        eprintln!("{}", notes.join("; "));
    }
    let ignored: Vec<String> =
        file.ignored().map(|c| format!("`{}` ({})", c.header, c.ignored.as_deref().unwrap_or(""))).collect();
    if !ignored.is_empty() {
        eprintln!("ignored columns: {}", ignored.join(", "));
    }
}

fn fields_left_out(summary: &ImportSummary) -> String {
    match summary.warnings.len() {
        0 => String::new(),
        1 => "; 1 warning".to_string(),
        n => format!("; {n} warnings"),
    }
}

fn open(args: &ImportArgs) -> Result<(File, Format, ColumnMapping, u64)> {
    let file = File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let format = match args.format {
        Some(FileFormat::Csv) => Format::Csv,
        Some(FileFormat::Jsonl) => Format::JsonLines,
        None => Format::from_path(&args.file),
    };
    let mapping = read_mapping(args.mapping.as_deref())?;
    Ok((file, format, mapping, size))
}

fn read_mapping(path: Option<&Path>) -> Result<ColumnMapping> {
    Ok(match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            ColumnMapping::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => ColumnMapping::default(),
    })
}

/// Reports rejections and the rescore, and picks the exit code.
fn finish(args: &ImportArgs, totals: &ImportSummary) -> Result<ExitCode> {
    problems(args.errors.as_deref(), &totals.rejected, &totals.warnings)?;
    match &totals.rescore {
        None => println!("scores left stale: run `leadflow rescore`"),
        Some(report) => {
            println!("rescored {} leads: {} changed, {} became MQL", report.leads, report.changed, report.became_mql);
            crate::print_predicted(report);
        }
    }
    Ok(if totals.all_in() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_REJECTED) })
}

/// Prints the first warnings and rejections with their lines, and writes them all to `errors`.
fn problems(errors: Option<&Path>, rejected: &[(u64, String)], warnings: &[(u64, String)]) -> Result<()> {
    const SHOWN: usize = 20;
    let print = |list: &[(u64, String)], what: &str| {
        for (line, reason) in list.iter().take(SHOWN) {
            eprintln!("  line {line}: {}", leadflow_core::text::printable(reason));
        }
        if list.len() > SHOWN {
            eprintln!(
                "  ... and {} more {what}{}",
                list.len() - SHOWN,
                if errors.is_none() { " (write them all with --errors FILE)" } else { "" }
            );
        }
    };
    if !warnings.is_empty() {
        eprintln!("warnings (the rest of each row went in; --strict rejects rows with a bad field):");
        print(warnings, "warnings");
    }
    if !rejected.is_empty() {
        eprintln!("rows rejected:");
        print(rejected, "rows rejected");
    }
    if let Some(path) = errors {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(["line", "outcome", "reason"])?;
        let mut all: Vec<(u64, &str, &String)> = rejected.iter().map(|(l, r)| (*l, "rejected", r)).collect();
        all.extend(warnings.iter().map(|(l, r)| (*l, "warning", r)));
        all.sort_by_key(|(line, _, _)| *line);
        for (line, outcome, reason) in all {
            w.write_record([line.to_string(), outcome.to_string(), reason.clone()])?;
        }
        w.flush()?;
    }
    Ok(())
}

/// `leadflow import changes`: a stage history into the change log of a pipeline's leads.
pub fn changes<S: Backend>(engine: &mut Engine<S>, args: &ChangeImportArgs) -> Result<ExitCode> {
    let pipelines = engine.active_pipelines()?;
    let pipeline = match (&args.pipeline, pipelines.all()) {
        (Some(name), _) => pipelines.named(name).with_context(|| format!("no active pipeline `{name}`"))?,
        (None, [only]) => only,
        (None, []) => anyhow::bail!("no pipeline is active: apply one first (`leadflow pipeline apply FILE`)"),
        (None, _) => anyhow::bail!("several pipelines are active: say which with --pipeline"),
    }
    .clone();
    let file = File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mapping = read_mapping(args.mapping.as_deref())?;
    let options = ReadOptions {
        encoding: args.encoding,
        delimiter: args.delimiter,
        date_order: args.date_format,
        ..ReadOptions::default()
    };
    let import = leadflow_import::read_changes(file, Format::Csv, &pipeline, &mapping, &options)?;
    describe(&import.file);
    let (reading, writing) = (progress::bar_of_bytes("reading", size), progress::bar("recording"));
    let origin = ChangeOrigin::new(ChangeCause::Import, args.file.display().to_string());
    let batch = args.batch.unwrap_or(HISTORY_BATCH);
    let summary = engine.import_history_rows(import.rows, pipeline.name(), &origin, batch, &reading, &writing)?;
    drop((reading, writing));
    println!(
        "stage changes: {} recorded for {} leads, {} already recorded, {} rows of other fields passed over, {} rejected{}",
        summary.logged,
        summary.leads,
        summary.duplicates,
        summary.other_fields,
        summary.rejected.len(),
        match summary.warnings.len() {
            0 => String::new(),
            n => format!("; {n} warnings"),
        }
    );
    problems(args.errors.as_deref(), &summary.rejected, &summary.warnings)?;
    Ok(if summary.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_REJECTED) })
}

/// Rows per unit of work of a history import (whole leads: a batch ends at a lead's last row).
const HISTORY_BATCH: usize = 50_000;
