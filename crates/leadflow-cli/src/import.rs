//! `leadflow import leads|events`: stream a file in batches, report bad rows, rescore once.

use std::fs::File;
use std::process::ExitCode;

use anyhow::{Context, Result};

use leadflow_engine::{BatchReport, RescoreOptions};
use leadflow_import::{ColumnMapping, DecimalMark, FileReport, Format, ReadOptions, Row, TextEncoding};

use crate::{EXIT_REJECTED, FileFormat, ImportArgs, Lf, progress};

pub fn leads(engine: &mut Lf, args: &ImportArgs) -> Result<ExitCode> {
    let (file, format, mapping, size) = open(args)?;
    let import = leadflow_import::read_leads(file, format, &mapping, &options(args))?;
    describe(&import.file);
    let totals = run(import.rows, args.batch.unwrap_or(50_000), size, |batch| engine.import_leads(batch))?;
    println!(
        "leads: {} imported ({} new, {} updated), {} rejected{}",
        totals.report.accepted,
        totals.report.created_leads,
        totals.report.updated_leads,
        totals.rejected.len(),
        fields_left_out(&totals)
    );
    finish(engine, args, totals)
}

pub fn events(engine: &mut Lf, args: &ImportArgs) -> Result<ExitCode> {
    let (file, format, mapping, size) = open(args)?;
    let import = leadflow_import::read_events(file, format, &mapping, &options(args))?;
    describe(&import.file);
    // Deferred work is finished every few million events: enough to make each pass over the
    // leads worth it, few enough to bound the memory a pass takes.
    let mut since_finish = 0;
    let totals = run(import.rows, args.batch.unwrap_or(200_000), size, |batch| {
        let report = engine.import_events(std::mem::take(batch))?;
        since_finish += report.accepted;
        if since_finish >= 5_000_000 {
            engine.finish_import()?;
            since_finish = 0;
        }
        Ok(report)
    })?;
    engine.finish_import()?;
    println!(
        "events: {} imported, {} duplicates skipped, {} new leads, {} rejected",
        totals.report.accepted,
        totals.report.duplicates,
        totals.report.created_leads,
        totals.rejected.len()
    );
    finish(engine, args, totals)
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

fn fields_left_out(totals: &Totals) -> String {
    match totals.warnings.len() {
        0 => String::new(),
        1 => "; 1 warning".to_string(),
        n => format!("; {n} warnings"),
    }
}

struct Totals {
    report: BatchReport,
    /// (line, reason), in file order.
    rejected: Vec<(u64, String)>,
    /// (line, what) of leads that went in with a field left out, or that the file named before.
    warnings: Vec<(u64, String)>,
}

fn open(args: &ImportArgs) -> Result<(File, Format, ColumnMapping, u64)> {
    let file = File::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let format = match args.format {
        Some(FileFormat::Csv) => Format::Csv,
        Some(FileFormat::Jsonl) => Format::JsonLines,
        None => Format::from_path(&args.file),
    };
    let mapping = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            ColumnMapping::parse(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => ColumnMapping::default(),
    };
    Ok((file, format, mapping, size))
}

/// Feeds the rows to `import` in batches, each its own transaction: a crash loses at most the
/// batch in flight, and re-running the import skips what is already in.
fn run<T>(
    rows: Box<dyn Iterator<Item = Row<T>>>,
    batch_size: usize,
    size: u64,
    mut import: impl FnMut(&mut Vec<T>) -> Result<BatchReport, leadflow_engine::EngineError>,
) -> Result<Totals> {
    let bar = progress::bytes("importing", size);
    let mut totals = Totals { report: BatchReport::default(), rejected: Vec::new(), warnings: Vec::new() };
    let batch_size = batch_size.max(1);
    let mut batch = Vec::with_capacity(batch_size);
    let mut lines = Vec::with_capacity(batch_size);
    let mut flush = |batch: &mut Vec<T>, lines: &mut Vec<u64>, totals: &mut Totals| -> Result<()> {
        let r = import(batch)?;
        totals.report.accepted += r.accepted;
        totals.report.duplicates += r.duplicates;
        totals.report.created_leads += r.created_leads;
        totals.report.updated_leads += r.updated_leads;
        totals.rejected.extend(r.rejected.into_iter().map(|(i, reason)| (lines[i], reason)));
        batch.clear();
        lines.clear();
        Ok(())
    };
    for row in rows {
        bar.set_position(row.offset);
        totals.warnings.extend(row.warnings.into_iter().map(|w| (row.line, w)));
        match row.parsed {
            Ok(item) => {
                batch.push(item);
                lines.push(row.line);
            }
            Err(reason) => totals.rejected.push((row.line, reason)),
        }
        if batch.len() >= batch_size {
            flush(&mut batch, &mut lines, &mut totals)?;
        }
    }
    if !batch.is_empty() {
        flush(&mut batch, &mut lines, &mut totals)?;
    }
    bar.finish_and_clear();
    totals.rejected.sort_by_key(|(line, _)| *line);
    Ok(totals)
}

/// Reports rejections, rescores what the import touched, and picks the exit code.
fn finish(engine: &mut Lf, args: &ImportArgs, totals: Totals) -> Result<ExitCode> {
    const SHOWN: usize = 20;
    let problems = |list: &[(u64, String)], what: &str| {
        for (line, reason) in list.iter().take(SHOWN) {
            eprintln!("  line {line}: {}", leadflow_core::text::printable(reason));
        }
        if list.len() > SHOWN {
            eprintln!(
                "  ... and {} more {what}{}",
                list.len() - SHOWN,
                if args.errors.is_none() { " (write them all with --errors FILE)" } else { "" }
            );
        }
    };
    if !totals.warnings.is_empty() {
        eprintln!("warnings (the rest of each lead went in; --strict rejects rows with a bad field):");
        problems(&totals.warnings, "warnings");
    }
    if !totals.rejected.is_empty() {
        eprintln!("rows rejected:");
        problems(&totals.rejected, "rows rejected");
    }
    if let Some(path) = &args.errors {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(["line", "outcome", "reason"])?;
        let mut all: Vec<(u64, &str, &String)> = totals.rejected.iter().map(|(l, r)| (*l, "rejected", r)).collect();
        all.extend(totals.warnings.iter().map(|(l, r)| (*l, "warning", r)));
        all.sort_by_key(|(line, _, _)| *line);
        for (line, outcome, reason) in all {
            w.write_record([line.to_string(), outcome.to_string(), reason.clone()])?;
        }
        w.flush()?;
    }
    if args.no_rescore {
        println!("scores left stale: run `leadflow rescore`");
    } else {
        let now = engine.now();
        let report = engine.rescore(RescoreOptions::needed(now), &progress::bar("rescoring"))?;
        println!("rescored {} leads: {} changed, {} became MQL", report.leads, report.changed, report.became_mql);
    }
    let all_in = totals.rejected.is_empty() && totals.warnings.is_empty();
    Ok(if all_in { ExitCode::SUCCESS } else { ExitCode::from(EXIT_REJECTED) })
}
