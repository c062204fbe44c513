//! Benchmarks that the `leadflow` command does not expose.
//!
//! - `leadflow-bench track DB EVENTS.csv [--count N]`: events per second through `Engine::track`,
//!   the call behind `leadflow track` and the API's single-event ingest: one transaction per
//!   event, committed durably (WAL, synchronous = FULL) before the next, with the lead's score
//!   updated incrementally inside it.
//! - `leadflow-bench parse EVENTS.csv`: how fast the importer reads and parses events, with no
//!   database: the floor under `leadflow import events`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use leadflow_engine::{Engine, SystemClock, TrackOutcome};
use leadflow_import::{ColumnMapping, Format};
use leadflow_sqlite::SqliteStore;

/// Scoring and imports allocate many small strings; mimalloc handles that load markedly better
/// than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, events] = args.as_slice()
        && cmd == "parse"
    {
        return parse(&PathBuf::from(events));
    }
    let (db, events, count) = match args.as_slice() {
        [cmd, db, events, rest @ ..] if cmd == "track" => {
            let count = match rest {
                [] => 100_000,
                [flag, n] if flag == "--count" => n.parse().context("--count")?,
                _ => bail!("usage: leadflow-bench track DB EVENTS.csv [--count N]"),
            };
            (PathBuf::from(db), PathBuf::from(events), count)
        }
        _ => bail!("usage: leadflow-bench track DB EVENTS.csv [--count N] | leadflow-bench parse EVENTS.csv"),
    };
    let file = std::fs::File::open(&events).with_context(|| format!("opening {}", events.display()))?;
    let rows: Vec<_> = leadflow_import::read_events(file, Format::Csv, &ColumnMapping::default())?
        .filter_map(|r| r.parsed.ok())
        .take(count)
        .collect();
    let mut engine = Engine::new(SqliteStore::open(&db)?, Arc::new(SystemClock));
    engine.active_model()?;
    let mut latencies = Vec::with_capacity(rows.len());
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    let started = Instant::now();
    for row in rows {
        let t = Instant::now();
        match engine.track(row)? {
            TrackOutcome::Accepted { .. } => accepted += 1,
            TrackOutcome::Duplicate { .. } => duplicates += 1,
        }
        latencies.push(t.elapsed());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    println!(
        "{{\"events\": {}, \"accepted\": {accepted}, \"duplicates\": {duplicates}, \"seconds\": {elapsed:.3}, \"events_per_s\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}

fn parse(events: &std::path::Path) -> Result<()> {
    let file = std::fs::File::open(events).with_context(|| format!("opening {}", events.display()))?;
    let started = Instant::now();
    let (mut ok, mut bad) = (0u64, 0u64);
    for row in leadflow_import::read_events(file, Format::Csv, &ColumnMapping::default())? {
        match row.parsed {
            Ok(_) => ok += 1,
            Err(_) => bad += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{{\"rows\": {ok}, \"rejected\": {bad}, \"seconds\": {elapsed:.3}, \"rows_per_s\": {:.0}}}",
        ok as f64 / elapsed
    );
    Ok(())
}
