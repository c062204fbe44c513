//! `leadflow report ...`: reports as tables, JSON (the API's) or CSV (one tidy table:
//! `section,key,figure,value`, for spreadsheets and notebooks).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use leadflow_contract::{
    AttributionFigures, Digest, FunnelReport, ModelReport, PipelineReport, RepsReport, TouchpointReport,
};
use leadflow_core::report::{LeadScope, Period, ReportPeriod};
use leadflow_core::{Grade, Timestamp};
use leadflow_engine::{
    DigestRequest, Engine, ModelReportRequest, OutcomeSource, PipelineReportRequest, RepsReportRequest,
    TouchpointRequest,
};
use leadflow_store::Backend;

use crate::{output, progress};

mod funnel;

use funnel::ByArg;

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
        #[command(flatten)]
        scope: ScopeArgs,
        /// Also split the funnel by this.
        #[arg(long, value_enum)]
        by: Option<ByArg>,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
        /// Also write its charts into this directory, as SVG: funnel.svg, dropouts.svg,
        /// mqls.svg, velocity.svg, cohorts.svg.
        #[arg(long, value_name = "DIR")]
        svg: Option<PathBuf>,
    },
    /// A pipeline's funnel: of a cohort's leads, how many reached each stage, how many went on
    /// from each to the next, and where the others are now (stalled, recycled, lost and why,
    /// won another way, gone); with --by, the same for each source, owner, campaign, ...
    Funnel {
        /// The active pipeline; may be left out when only one is active.
        #[arg(long)]
        pipeline: Option<String>,
        /// As of this instant or date; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// The funnel's stages in order (comma-separated); by default the open stages, then won.
        #[arg(long, value_delimiter = ',')]
        stages: Option<Vec<String>>,
        /// The cohort: leads created (or first qualified, with --cohort qualified) from this
        /// instant or date on...
        #[arg(long)]
        from: Option<Timestamp>,
        /// ... and before this one.
        #[arg(long)]
        to: Option<Timestamp>,
        /// Which instant --from and --to are about.
        #[arg(long, value_enum, default_value_t = CohortArg::Created)]
        cohort: CohortArg,
        #[command(flatten)]
        filters: FilterArgs,
        /// Split by this.
        #[arg(long, value_enum)]
        by: Option<ByArg>,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
    },
    /// The digest: the last days against as many before them (leads created, MQLs, accepted,
    /// won, lost and why), the pipeline now, the hand-off SLA and response times, and the
    /// campaigns that brought the new leads. As Markdown, to read or to send on.
    Digest {
        /// The active pipeline; may be left out when only one is active.
        #[arg(long)]
        pipeline: Option<String>,
        /// The end of the period; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// How many days it covers.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        #[arg(long, value_enum, default_value_t = DigestFormat::Markdown)]
        format: DigestFormat,
        /// Write it to this file rather than print it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The model over time: each month's MQLs by the bucket and grade they had as they
    /// qualified, how many were won, the MQL rule's precision and recall, and a warning where
    /// the score stopped separating good leads from bad.
    Model {
        /// The active pipeline; may be left out when only one is active.
        #[arg(long)]
        pipeline: Option<String>,
        /// As of this instant or date; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// By month or by quarter.
        #[arg(long, value_enum, default_value_t = PeriodArg::Month)]
        period: PeriodArg,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
    },
    /// Touchpoints that precede conversion: for each event type and each engagement and fit
    /// rule of the active model, the conversion of the leads with an outcome that had it before
    /// the cutoff against those that did not (lift, with an interval), and suggestions where the
    /// model's points disagree.
    Touchpoints {
        /// Each lead as of this instant (leads created after it, or whose outcome came before
        /// it, are left out).
        #[arg(long, conflicts_with = "before_outcome")]
        as_of: Option<Timestamp>,
        /// Each lead this many days before its own outcome (0, just before it, by default).
        #[arg(long, value_name = "DAYS")]
        before_outcome: Option<u32>,
        /// Judge by how leads closed in a pipeline (won at their first entry into a won stage,
        /// else lost at their first into a lost or disqualified one) rather than by the
        /// outcomes recorded for the lab; the pipeline may be left out when only one is active.
        #[arg(long, value_name = "PIPELINE", num_args = 0..=1, default_missing_value = "")]
        pipeline: Option<String>,
        /// Only leads whose outcome came from this instant or date on...
        #[arg(long)]
        closed_from: Option<Timestamp>,
        /// ... and before this one.
        #[arg(long)]
        closed_to: Option<Timestamp>,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
    },
    /// Per rep and per team: their leads in the pipeline (owned, won, lost, win rate, days to
    /// won, cycle length, recycled), their hand-off SLA and their tasks.
    Reps {
        /// The active pipeline; may be left out when only one is active.
        #[arg(long)]
        pipeline: Option<String>,
        /// As of this instant or date; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// SLA clocks started and tasks done from this instant or date on; 30 days before
        /// --as-of by default.
        #[arg(long)]
        from: Option<Timestamp>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long, value_enum, default_value_t = Rendering::Table)]
        format: Rendering,
    },
}

/// Which leads a report counts: a cohort and filters.
#[derive(Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    cohort: CohortArgs,
    #[command(flatten)]
    filters: FilterArgs,
}

/// A cohort: leads created, or first qualified, in a period.
#[derive(Args)]
pub struct CohortArgs {
    /// The cohort of leads created from this instant or date on...
    #[arg(long)]
    created_from: Option<Timestamp>,
    /// ... and before this one.
    #[arg(long)]
    created_to: Option<Timestamp>,
    /// The cohort of leads first qualified (an MQL stage) from this instant or date on...
    #[arg(long)]
    qualified_from: Option<Timestamp>,
    /// ... and before this one.
    #[arg(long)]
    qualified_to: Option<Timestamp>,
}

/// Which leads of the cohort count.
#[derive(Args)]
pub struct FilterArgs {
    /// Only leads of these sources (comma-separated).
    #[arg(long, value_delimiter = ',')]
    source: Option<Vec<String>>,
    /// Only leads of these owners (comma-separated).
    #[arg(long, value_delimiter = ',')]
    owner: Option<Vec<String>>,
    /// Only leads owned by members of these teams (comma-separated).
    #[arg(long, value_delimiter = ',')]
    team: Option<Vec<String>>,
    /// Only leads that touched one of these campaigns before they qualified (comma-separated).
    #[arg(long, value_delimiter = ',')]
    campaign: Option<Vec<String>>,
    /// Only leads in these buckets as scored now (comma-separated).
    #[arg(long, value_delimiter = ',')]
    bucket: Option<Vec<String>>,
    /// Only leads of these grades as scored now (comma-separated, A to F).
    #[arg(long, value_delimiter = ',', value_parser = grade)]
    grade: Option<Vec<Grade>>,
}

fn grade(s: &str) -> std::result::Result<Grade, String> {
    Grade::parse(s).ok_or_else(|| format!("`{s}` is not a grade (A to F)"))
}

fn period(from: Option<Timestamp>, to: Option<Timestamp>, what: &str) -> Result<Option<Period>> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => anyhow::bail!("--{what}from must be before --{what}to"),
        _ => Ok(Period::new(from, to)),
    }
}

impl ScopeArgs {
    fn scope(&self) -> Result<LeadScope> {
        let c = &self.cohort;
        Ok(LeadScope {
            created: period(c.created_from, c.created_to, "created-")?,
            qualified: period(c.qualified_from, c.qualified_to, "qualified-")?,
            ..self.filters.scope()
        })
    }

    fn teams(&self) -> Option<Vec<String>> {
        self.filters.team.clone()
    }
}

impl FilterArgs {
    /// Every lead created and qualified at any time, these filters applied.
    fn scope(&self) -> LeadScope {
        LeadScope {
            sources: self.source.clone(),
            owners: self.owner.clone(),
            campaigns: self.campaign.clone(),
            buckets: self.bucket.clone(),
            grades: self.grade.clone(),
            ..LeadScope::default()
        }
    }
}

/// Which instant a funnel's cohort is about.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CohortArg {
    /// When the leads were created.
    Created,
    /// When they first qualified (entered an MQL stage).
    Qualified,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DigestFormat {
    Markdown,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeriodArg {
    Month,
    Quarter,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rendering {
    Table,
    Json,
    Csv,
}

pub fn run<S: Backend>(engine: &mut Engine<S>, command: ReportCommand) -> Result<ExitCode> {
    match command {
        ReportCommand::Pipeline { pipeline, as_of, funnel, scope, by, format, svg } => {
            let request = PipelineReportRequest {
                pipeline,
                funnel,
                as_of,
                scope: scope.scope()?,
                teams: scope.teams(),
                by: by.map(Into::into),
            };
            let report = engine.pipeline_report(&request, &progress::bar("reading histories"))?;
            let report = PipelineReport::from(&report);
            if let Some(dir) = &svg {
                write_charts(dir, &report)?;
            }
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => print_csv(&report)?,
                Rendering::Table => print_tables(&report),
            }
        }
        ReportCommand::Funnel { pipeline, as_of, stages, from, to, cohort, filters, by, format } => {
            let mut scope = filters.scope();
            match cohort {
                CohortArg::Created => scope.created = period(from, to, "")?,
                CohortArg::Qualified => scope.qualified = period(from, to, "")?,
            }
            let request = PipelineReportRequest {
                pipeline,
                funnel: stages,
                as_of,
                scope,
                teams: filters.team.clone(),
                by: by.map(Into::into),
            };
            let report = engine.pipeline_report(&request, &progress::bar("reading histories"))?;
            let report = FunnelReport::from(&report);
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => funnel::print_funnel_csv(&report)?,
                Rendering::Table => funnel::print_funnel_report(&report),
            }
        }
        ReportCommand::Model { pipeline, as_of, period, format } => {
            let period = match period {
                PeriodArg::Month => ReportPeriod::Month,
                PeriodArg::Quarter => ReportPeriod::Quarter,
            };
            let request = ModelReportRequest { pipeline, as_of, period };
            let report = engine.model_report(&request, &progress::bar("reading histories"))?;
            let report = ModelReport::from(&report);
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => print_model_csv(&report)?,
                Rendering::Table => print_model(&report),
            }
        }
        ReportCommand::Touchpoints { as_of, before_outcome, pipeline, closed_from, closed_to, format } => {
            let outcomes = match pipeline {
                None => OutcomeSource::Recorded,
                Some(name) => OutcomeSource::Pipeline(Some(name).filter(|n| !n.is_empty())),
            };
            let request = TouchpointRequest {
                cutoff: crate::lab::cutoff(as_of, before_outcome)?,
                outcomes,
                closed: Period::new(closed_from, closed_to),
            };
            let (_, model) = engine.active_model()?;
            let report = engine.touchpoints(&model, &request, &progress::bar("reading leads with outcomes"))?;
            let report = TouchpointReport::from(&report);
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => print_touchpoints_csv(&report)?,
                Rendering::Table => print_touchpoints(&report),
            }
        }
        ReportCommand::Digest { pipeline, as_of, days, format, out } => {
            let request = DigestRequest { pipeline, as_of, days };
            let digest = Digest::from(&engine.digest(&request, &progress::bar("reading histories"))?);
            let text = match format {
                DigestFormat::Markdown => digest.to_markdown(),
                DigestFormat::Json => serde_json::to_string_pretty(&digest)? + "\n",
            };
            match out {
                Some(path) => {
                    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{text}"),
            }
        }
        ReportCommand::Reps { pipeline, as_of, from, scope, format } => {
            let pipeline = PipelineReportRequest {
                pipeline,
                as_of,
                scope: scope.scope()?,
                teams: scope.teams(),
                ..Default::default()
            };
            let report =
                engine.reps_report(&RepsReportRequest { pipeline, from }, &progress::bar("reading histories"))?;
            let report = RepsReport::from(&report);
            match format {
                Rendering::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Rendering::Csv => print_reps_csv(&report)?,
                Rendering::Table => print_reps(&report),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_model(r: &ModelReport) {
    println!("the model over time in `{}` as of {}: leads by their score as they first qualified", r.pipeline, r.as_of);
    let buckets: Vec<&str> = r.buckets.iter().map(|b| b.name.as_str()).collect();
    let mut headers = vec![r.period, "MQLs", "won", "precision", "recall"];
    headers.extend(&buckets);
    let cell = |s: &leadflow_contract::Split| match s.rate {
        Some(rate) => format!("{} of {}", percent(Some(rate)), s.leads),
        None => "-".into(),
    };
    let mut rows: Vec<Vec<String>> = r
        .periods
        .iter()
        .map(|m| {
            let mut row =
                vec![m.period.clone(), m.mqls.to_string(), m.won.to_string(), percent(m.precision), percent(m.recall)];
            row.extend(m.buckets.iter().map(cell));
            row
        })
        .collect();
    let mut all = vec!["all".to_string(), String::new(), String::new(), String::new(), String::new()];
    all.extend(r.buckets.iter().map(cell));
    rows.push(all);
    output::table(&headers, &rows);
    println!("(each bucket: the share of its MQLs won, of how many)");
    println!("\ngrades, all periods");
    let rows: Vec<Vec<String>> = r
        .grades
        .iter()
        .map(|g| {
            let interval = match (g.rate_low, g.rate_high) {
                (Some(low), Some(high)) => format!("{} to {}", percent(Some(low)), percent(Some(high))),
                _ => "-".into(),
            };
            vec![g.name.clone(), g.leads.to_string(), g.won.to_string(), percent(g.rate), interval]
        })
        .collect();
    output::table(&["grade", "MQLs", "won", "conversion", "95% interval"], &rows);
    println!("\nscore deciles, all periods (the total as they qualified)");
    let rows: Vec<Vec<String>> = r
        .deciles
        .iter()
        .map(|d| {
            vec![
                d.decile.to_string(),
                format!("{:.1} to {:.1}", d.min_total, d.max_total),
                d.leads.to_string(),
                d.won.to_string(),
                percent(d.rate),
            ]
        })
        .collect();
    output::table(&["decile", "totals", "MQLs", "won", "conversion"], &rows);
    if r.warnings.is_empty() {
        println!("\nno drift: every bucket and grade with enough leads converted better than the one below it");
    } else {
        println!("\nwarnings");
        for w in &r.warnings {
            println!("  {w}");
        }
    }
}

fn print_model_csv(r: &ModelReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(["period", "by", "name", "leads", "won", "rate", "rate_low", "rate_high"])?;
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut put = |month: &str, by: &str, s: &leadflow_contract::Split| {
        w.write_record([
            month.to_string(),
            by.to_string(),
            s.name.clone(),
            s.leads.to_string(),
            s.won.to_string(),
            number(s.rate),
            number(s.rate_low),
            number(s.rate_high),
        ])
    };
    for m in &r.periods {
        m.buckets.iter().try_for_each(|s| put(&m.period, "bucket", s))?;
        m.grades.iter().try_for_each(|s| put(&m.period, "grade", s))?;
    }
    r.buckets.iter().try_for_each(|s| put("all", "bucket", s))?;
    r.grades.iter().try_for_each(|s| put("all", "grade", s))?;
    w.flush()?;
    Ok(())
}

fn print_touchpoints(r: &TouchpointReport) {
    println!("touchpoints before the outcome: {} leads with an outcome, {} converted", r.leads, r.converted);
    let rows: Vec<Vec<String>> = r
        .touchpoints
        .iter()
        .map(|t| {
            let lift = match (t.lift, t.lift_low, t.lift_high) {
                (Some(l), Some(lo), Some(hi)) => format!("{l:.2} ({lo:.2} to {hi:.2})"),
                (Some(l), _, _) => format!("{l:.2}"),
                _ => "-".into(),
            };
            vec![
                t.kind.to_string(),
                t.name.clone(),
                t.points.map(leadflow_core::model::format_number).unwrap_or_default(),
                format!("{} of {}", percent(t.rate_with), t.with_leads),
                format!("{} of {}", percent(t.rate_without), t.without_leads),
                lift,
            ]
        })
        .collect();
    output::table(&["kind", "name", "points", "with it", "without", "lift (95%)"], &rows);
    if r.suggestions.is_empty() {
        println!("\nno suggestion: the model's points agree with what converted (or too few leads to say)");
    } else {
        println!("\nsuggestions");
        for s in &r.suggestions {
            println!("  {s}");
        }
    }
}

fn print_touchpoints_csv(r: &TouchpointReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record([
        "kind",
        "name",
        "points",
        "with_leads",
        "with_converted",
        "without_leads",
        "without_converted",
        "lift",
        "lift_low",
        "lift_high",
    ])?;
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for t in &r.touchpoints {
        w.write_record([
            t.kind.to_string(),
            t.name.clone(),
            number(t.points),
            t.with_leads.to_string(),
            t.with_converted.to_string(),
            t.without_leads.to_string(),
            t.without_converted.to_string(),
            number(t.lift),
            number(t.lift_low),
            number(t.lift_high),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn print_reps(r: &RepsReport) {
    println!("reps in `{}` as of {} (SLA clocks started and tasks done from {})", r.pipeline, r.as_of, r.from);
    let share = |part: u64, whole: u64| if whole > 0 { percent(Some(part as f64 / whole as f64)) } else { "-".into() };
    let rows: Vec<Vec<String>> = r
        .reps
        .iter()
        .map(|l| {
            let p = &l.pipeline;
            vec![
                or_none(&l.owner),
                l.team.clone().unwrap_or_default(),
                p.leads.to_string(),
                p.won.to_string(),
                p.lost.to_string(),
                percent(p.win_rate),
                tenths(p.median_days_to_won),
                tenths(p.median_cycle_days),
                share(p.recycled, p.leads),
                format!("{}/{}/{}", l.sla.met_on_time, l.sla.met_late, l.sla.breached),
                percent(l.sla.rate),
                tenths(l.response.median_hours),
                tenths(l.response.p90_hours),
                format!("{}/{}", l.tasks.overdue, l.tasks.pending),
                format!("{}/{}", l.tasks.done_late, l.tasks.done),
            ]
        })
        .collect();
    output::table(
        &[
            "owner",
            "team",
            "leads",
            "won",
            "lost",
            "win rate",
            "to won",
            "cycle",
            "recycled",
            "SLA ok/late/missed",
            "SLA",
            "response h",
            "p90 h",
            "overdue/pending",
            "late/done",
        ],
        &rows,
    );
    println!(
        "(days: median; SLA: the share of decided clocks met on time; response: median and p90 working hours to meet a clock)"
    );
    println!("\nteams");
    let rows: Vec<Vec<String>> = r
        .teams
        .iter()
        .map(|t| {
            vec![
                or_none(&t.team),
                t.reps.to_string(),
                t.leads.to_string(),
                t.won.to_string(),
                t.lost.to_string(),
                percent(t.win_rate),
                share(t.recycled, t.leads),
                percent(t.sla.rate),
                tenths(t.response.median_hours),
                format!("{}/{}", t.tasks.overdue, t.tasks.pending),
            ]
        })
        .collect();
    output::table(
        &["team", "reps", "leads", "won", "lost", "win rate", "recycled", "SLA", "response h", "overdue/pending"],
        &rows,
    );
}

fn print_reps_csv(r: &RepsReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record([
        "owner",
        "team",
        "leads",
        "won",
        "lost",
        "win_rate",
        "median_days_to_won",
        "median_cycle_days",
        "recycled",
        "sla_met_on_time",
        "sla_met_late",
        "sla_breached",
        "sla_pending",
        "sla_rate",
        "response_clocks",
        "responded",
        "response_median_hours",
        "response_p90_hours",
        "response_mean_hours",
        "tasks_pending",
        "tasks_overdue",
        "tasks_done",
        "tasks_done_late",
    ])?;
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for l in &r.reps {
        let p = &l.pipeline;
        w.write_record([
            l.owner.clone().unwrap_or_default(),
            l.team.clone().unwrap_or_default(),
            p.leads.to_string(),
            p.won.to_string(),
            p.lost.to_string(),
            number(p.win_rate),
            number(p.median_days_to_won),
            number(p.median_cycle_days),
            p.recycled.to_string(),
            l.sla.met_on_time.to_string(),
            l.sla.met_late.to_string(),
            l.sla.breached.to_string(),
            l.sla.pending.to_string(),
            number(l.sla.rate),
            l.response.clocks.to_string(),
            l.response.responded.to_string(),
            number(l.response.median_hours),
            number(l.response.p90_hours),
            number(l.response.mean_hours),
            l.tasks.pending.to_string(),
            l.tasks.overdue.to_string(),
            l.tasks.done.to_string(),
            l.tasks.done_late.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Every chart of the report as `DIR/<chart>.svg`, said on stderr (stdout may be JSON or CSV).
fn write_charts(dir: &Path, report: &PipelineReport) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in leadflow_charts::PIPELINE_CHARTS {
        let svg = leadflow_charts::pipeline_chart(name, report).expect("a chart of the list");
        let path = dir.join(format!("{name}.svg"));
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Days or hours, to a tenth.
fn tenths(x: Option<f64>) -> String {
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
                tenths(s.median_days),
                tenths(s.p75_days),
                tenths(s.p90_days),
                tenths(s.open_median_age_days),
                s.rotting.to_string(),
                format!("{:.1}", s.weighted),
            ]
        })
        .collect();
    output::table(
        &["stage", "kind", "reached", "completed", "open", "median", "p75", "p90", "open for", "rotting", "weighted"],
        &rows,
    );
    println!("(days; `open for`: the median days the leads there now have been there; weighted: by win probability)");
    println!("pipeline now: {:.1} leads weighted by their stages' win probabilities", r.weighted_open);
    println!("\nvelocity (days)");
    let rows: Vec<Vec<String>> = r
        .velocity
        .iter()
        .map(|v| {
            vec![
                format!("{} -> {}", v.from, v.to),
                v.leads.to_string(),
                tenths(v.median_days),
                tenths(v.p75_days),
                tenths(v.p90_days),
            ]
        })
        .collect();
    output::table(&["step", "leads", "median", "p75", "p90"], &rows);
    funnel::print_steps(&r.conversion);
    if let Some(breakdown) = &r.breakdown {
        funnel::print_breakdown(breakdown);
    }
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
                tenths(o.median_days_to_won),
            ]
        })
        .collect();
    output::table(&["owner", "leads", "won", "lost", "win rate", "days to won"], &rows);
    println!("\nsources");
    let rows: Vec<Vec<String>> = r
        .sources
        .iter()
        .map(|s| {
            let interval = format!("{} to {}", percent(Some(s.conversion_low)), percent(Some(s.conversion_high)));
            let (leads, mqls, won) = (s.leads.to_string(), s.mqls.to_string(), s.won.to_string());
            vec![or_none(&s.source), leads, mqls, won, percent(Some(s.conversion)), interval]
        })
        .collect();
    output::table(&["source", "leads", "MQLs", "won", "conversion", "95% interval"], &rows);
    let a = &r.attribution;
    for (title, column, list) in [
        ("campaigns touched before qualifying", "campaign", &a.campaigns),
        ("first touch", "campaign", &a.first_touch),
        ("last touch before qualifying", "campaign", &a.last_touch),
        ("landing pages", "page", &a.landing_pages),
    ] {
        print_attribution(title, column, list);
    }
    println!("\nreasons");
    let rows: Vec<Vec<String>> =
        r.reasons.iter().map(|x| vec![x.stage.clone(), or_none(&x.reason), x.count.to_string()]).collect();
    output::table(&["stage", "reason", "leads"], &rows);
    println!("\ncohorts: won by months since creation");
    const SINCE: [usize; 6] = [0, 1, 2, 3, 6, 12];
    let rows: Vec<Vec<String>> = r
        .cohorts
        .iter()
        .map(|c| {
            let share = |k: usize| match c.won.get(k) {
                Some(won) if c.leads > 0 => format!("{:.1}%", *won as f64 * 100.0 / c.leads as f64),
                _ => String::new(),
            };
            [c.month.clone(), c.leads.to_string()].into_iter().chain(SINCE.iter().map(|k| share(*k))).collect()
        })
        .collect();
    output::table(&["cohort", "leads", "month 0", "1", "2", "3", "6", "12"], &rows);
}

/// The attribution lines of one dimension: the 20 with most leads, then the leads without one.
fn print_attribution(title: &str, column: &str, list: &[AttributionFigures]) {
    const SHOWN: usize = 20;
    println!("\n{title}");
    let (named, none): (Vec<&AttributionFigures>, Vec<&AttributionFigures>) =
        list.iter().partition(|f| f.value.is_some());
    if named.is_empty() {
        println!("  (no event names one)");
        return;
    }
    let rows: Vec<Vec<String>> = named
        .iter()
        .take(SHOWN)
        .chain(&none)
        .map(|f| {
            let interval = format!("{} to {}", percent(Some(f.conversion_low)), percent(Some(f.conversion_high)));
            let (leads, mqls, won) = (f.leads.to_string(), f.mqls.to_string(), f.won.to_string());
            vec![or_none(&f.value), leads, mqls, won, percent(Some(f.conversion)), interval]
        })
        .collect();
    output::table(&[column, "leads", "MQLs", "won", "conversion", "95% interval"], &rows);
    if named.len() > SHOWN {
        println!("  ... and {} more (--format json or csv for all)", named.len() - SHOWN);
    }
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
        put("stage", &s.stage, "open_median_age_days", number(s.open_median_age_days))?;
        put("stage", &s.stage, "rotting", s.rotting.to_string())?;
        put("stage", &s.stage, "weighted", s.weighted.to_string())?;
    }
    funnel::put_steps(&mut put, "conversion", "", &r.conversion)?;
    if let Some(b) = &r.breakdown {
        funnel::put_breakdown(&mut put, b)?;
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
        put("source", &key, "mqls", s.mqls.to_string())?;
        put("source", &key, "won", s.won.to_string())?;
        put("source", &key, "conversion", s.conversion.to_string())?;
        put("source", &key, "conversion_low", s.conversion_low.to_string())?;
        put("source", &key, "conversion_high", s.conversion_high.to_string())?;
    }
    let a = &r.attribution;
    for (section, list) in [
        ("campaign", &a.campaigns),
        ("first_touch", &a.first_touch),
        ("last_touch", &a.last_touch),
        ("landing_page", &a.landing_pages),
    ] {
        for f in list {
            let key = f.value.clone().unwrap_or_default();
            put(section, &key, "leads", f.leads.to_string())?;
            put(section, &key, "mqls", f.mqls.to_string())?;
            put(section, &key, "won", f.won.to_string())?;
            put(section, &key, "conversion", f.conversion.to_string())?;
            put(section, &key, "conversion_low", f.conversion_low.to_string())?;
            put(section, &key, "conversion_high", f.conversion_high.to_string())?;
        }
    }
    put("report", &r.pipeline, "weighted_open", r.weighted_open.to_string())?;
    for v in &r.velocity {
        let key = format!("{}->{}", v.from, v.to);
        put("velocity", &key, "leads", v.leads.to_string())?;
        put("velocity", &key, "median_days", number(v.median_days))?;
        put("velocity", &key, "p75_days", number(v.p75_days))?;
        put("velocity", &key, "p90_days", number(v.p90_days))?;
        for m in &v.by_month {
            put("velocity_month", &format!("{key}:{}", m.month), "median_days", number(m.median_days))?;
        }
    }
    for c in &r.cohorts {
        put("cohort", &c.month, "leads", c.leads.to_string())?;
        for (k, (q, w)) in c.qualified.iter().zip(&c.won).enumerate() {
            put("cohort", &format!("{}+{k}", c.month), "qualified", q.to_string())?;
            put("cohort", &format!("{}+{k}", c.month), "won", w.to_string())?;
        }
    }
    for x in &r.reasons {
        put("reason", &format!("{}:{}", x.stage, x.reason.clone().unwrap_or_default()), "count", x.count.to_string())?;
    }
    w.flush()?;
    Ok(())
}
