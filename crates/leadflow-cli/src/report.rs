//! `leadflow report ...`: reports as tables, JSON (the API's) or CSV (one tidy table:
//! `section,key,figure,value`, for spreadsheets and notebooks).

use std::process::ExitCode;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use leadflow_contract::PipelineReport;
use leadflow_core::Timestamp;
use leadflow_engine::{Engine, PipelineReportRequest};
use leadflow_store::Backend;

use crate::{output, progress};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// A pipeline's funnel, time in stage, owners, MQLs per month and lead velocity, sources
    /// and lost reasons, from every lead's stage history.
    Pipeline {
        /// The active pipeline; may be left out when only one is active.
        #[arg(long)]
        pipeline: Option<String>,
        /// As of this instant or date; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// The funnel's stages in order (comma-separated); by default the open stages, then won.
        #[arg(long, value_delimiter = ',')]
        funnel: Option<Vec<String>>,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rendering {
    Table,
    Json,
    Csv,
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: ReportCommand) -> Result<ExitCode> {
    match command {
        ReportCommand::Pipeline { pipeline, as_of, funnel, format } => {
            let request = PipelineReportRequest { pipeline, funnel, as_of };
            let report = engine.pipeline_report(&request, &progress::bar("reading histories"))?;
            let report = PipelineReport::from(&report);
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => print_csv(&report)?,
                Rendering::Table => print_tables(&report),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn days(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |d| format!("{d:.1}"))
}

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn or_none(name: &Option<String>) -> String {
    name.clone().unwrap_or_else(|| "(none)".into())
}

fn print_tables(r: &PipelineReport) {
    println!("pipeline `{}` as of {}: {} leads", r.pipeline, r.as_of, r.leads);
    println!("\nstages (days of completed visits)");
    let rows: Vec<Vec<String>> = r
        .stages
        .iter()
        .map(|s| {
            vec![
                s.stage.clone(),
                s.kind.unwrap_or("(gone)").to_string(),
                s.reached.to_string(),
                s.completed.to_string(),
                s.open.to_string(),
                days(s.median_days),
                days(s.p75_days),
                days(s.p90_days),
            ]
        })
        .collect();
    output::table(&["stage", "kind", "reached", "completed", "open", "median", "p75", "p90"], &rows);
    println!("\nfunnel");
    let rows: Vec<Vec<String>> = r
        .conversion
        .iter()
        .map(|c| {
            vec![format!("{} -> {}", c.from, c.to), c.reached.to_string(), c.converted.to_string(), percent(c.rate)]
        })
        .collect();
    output::table(&["step", "reached", "went on", "conversion"], &rows);
    println!("\nMQLs per month");
    let most = r.months.iter().map(|m| m.mqls).max().unwrap_or(0).max(1);
    let rows: Vec<Vec<String>> = r
        .months
        .iter()
        .map(|m| {
            let bar = "#".repeat(((m.mqls * 40).div_ceil(most)) as usize);
            vec![m.month.clone(), m.mqls.to_string(), percent(m.velocity_rate), bar]
        })
        .collect();
    output::table(&["month", "MQLs", "velocity", ""], &rows);
    println!("\nowners");
    let rows: Vec<Vec<String>> = r
        .owners
        .iter()
        .map(|o| {
            vec![
                or_none(&o.owner),
                o.leads.to_string(),
                o.won.to_string(),
                o.lost.to_string(),
                percent(o.win_rate),
                days(o.median_days_to_won),
            ]
        })
        .collect();
    output::table(&["owner", "leads", "won", "lost", "win rate", "days to won"], &rows);
    println!("\nsources");
    let rows: Vec<Vec<String>> = r
        .sources
        .iter()
        .map(|s| vec![or_none(&s.source), s.leads.to_string(), s.won.to_string(), percent(Some(s.conversion))])
        .collect();
    output::table(&["source", "leads", "won", "conversion"], &rows);
    println!("\nreasons");
    let rows: Vec<Vec<String>> =
        r.reasons.iter().map(|x| vec![x.stage.clone(), or_none(&x.reason), x.count.to_string()]).collect();
    output::table(&["stage", "reason", "leads"], &rows);
}

/// Every figure as one row `section,key,figure,value`: full precision, empty for none.
fn print_csv(r: &PipelineReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut put =
        |section: &str, key: &str, figure: &str, value: String| w.write_record([section, key, figure, &value]);
    put("report", &r.pipeline, "as_of", r.as_of.to_string())?;
    put("report", &r.pipeline, "leads", r.leads.to_string())?;
    for s in &r.stages {
        put("stage", &s.stage, "kind", s.kind.unwrap_or_default().to_string())?;
        put("stage", &s.stage, "reached", s.reached.to_string())?;
        put("stage", &s.stage, "completed", s.completed.to_string())?;
        put("stage", &s.stage, "open", s.open.to_string())?;
        put("stage", &s.stage, "median_days", number(s.median_days))?;
        put("stage", &s.stage, "p75_days", number(s.p75_days))?;
        put("stage", &s.stage, "p90_days", number(s.p90_days))?;
        put("stage", &s.stage, "mean_days", number(s.mean_days))?;
    }
    for c in &r.conversion {
        let key = format!("{}->{}", c.from, c.to);
        put("conversion", &key, "reached", c.reached.to_string())?;
        put("conversion", &key, "converted", c.converted.to_string())?;
        put("conversion", &key, "rate", number(c.rate))?;
    }
    for m in &r.months {
        put("month", &m.month, "mqls", m.mqls.to_string())?;
        put("month", &m.month, "velocity_rate", number(m.velocity_rate))?;
    }
    for o in &r.owners {
        let key = o.owner.clone().unwrap_or_default();
        put("owner", &key, "leads", o.leads.to_string())?;
        put("owner", &key, "won", o.won.to_string())?;
        put("owner", &key, "lost", o.lost.to_string())?;
        put("owner", &key, "win_rate", number(o.win_rate))?;
        put("owner", &key, "median_days_to_won", number(o.median_days_to_won))?;
    }
    for s in &r.sources {
        let key = s.source.clone().unwrap_or_default();
        put("source", &key, "leads", s.leads.to_string())?;
        put("source", &key, "won", s.won.to_string())?;
        put("source", &key, "conversion", s.conversion.to_string())?;
    }
    for x in &r.reasons {
        put("reason", &format!("{}:{}", x.stage, x.reason.clone().unwrap_or_default()), "count", x.count.to_string())?;
    }
    w.flush()?;
    Ok(())
}
