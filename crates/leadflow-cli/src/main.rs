//! `leadflow`: lead scoring and tracking from the command line.

mod config;
mod demo;
mod do_not_contact;
mod identities;
mod import;
mod lab;
mod output;
mod pipelines;
mod progress;
mod report;
mod rule_file;
mod sequences;
mod sla;
mod tasks;
mod team;
mod templates;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use leadflow_core::{EventKey, EventShape, EventType, LeadRef, Model, Timestamp};
use leadflow_engine::{Engine, EventInput, RescoreOptions, SystemClock, TrackOutcome};
use leadflow_migrate::{CopyOptions, Fate, Replaced};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{Backend, ChangeCause, ChangeOrigin, DatabaseUrl, LeadOrder, LeadQuery, ModelVersion, Store};

/// Scoring and imports allocate many small strings; mimalloc handles that load markedly better
/// than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code when a command ran but rejected some of its input (bad rows in an import, or fields
/// left out of leads that went in).
const EXIT_REJECTED: u8 = 3;

#[derive(Parser)]
#[command(name = "leadflow", version, about = "Lead scoring and lead tracking", propagate_version = true)]
struct Cli {
    /// The database file (sugar for --database-url sqlite://FILE).
    #[arg(long, global = true, env = "LEADFLOW_DB", default_value = "leadflow.db")]
    db: PathBuf,
    /// The database, as a URL: sqlite://FILE. Takes precedence over --db.
    #[arg(long, global = true, env = "LEADFLOW_DATABASE_URL")]
    database_url: Option<String>,
    /// The server's configuration file (see `leadflow config print-default`).
    #[arg(long, global = true, env = "LEADFLOW_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database and activate the default model (or the given one).
    Init {
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Build a demo database with realistic leads and events, and show the hottest leads.
    Demo {
        /// Where to put the demo database (replaced if it exists).
        #[arg(long, default_value = "leadflow-demo.db")]
        out: PathBuf,
        #[arg(long, default_value_t = 5000)]
        leads: usize,
    },
    /// Import leads or events from CSV or JSON Lines.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Record one event for a lead (creating the lead for an unknown email) and rescore it.
    Track(TrackArgs),
    /// Recompute scores: what needs it (changed leads, another model) or all of them.
    Rescore {
        /// Score as of this instant (RFC 3339 or a date); now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// Every lead, not only those that need it (e.g. on a schedule, for decay).
        #[arg(long)]
        all: bool,
        /// Recompute from every event, ignoring the kept incremental states.
        #[arg(long)]
        from_events: bool,
        /// Leads per batch (and per write transaction).
        #[arg(long, default_value_t = 50_000)]
        batch: usize,
        /// Score and report what would change, but write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List, show and change leads.
    #[command(subcommand)]
    Leads(LeadsCommand),
    /// Check, apply and list scoring models.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Check, apply and list sales pipelines; run their sweep.
    #[command(subcommand)]
    Pipeline(pipelines::PipelineCommand),
    /// Check, apply, pause and list nurture sequences; enroll leads; what their emails did.
    #[command(subcommand)]
    Sequence(sequences::SequenceCommand),
    /// The do-not-contact list: addresses nothing is sent to, by channel and reason.
    #[command(subcommand)]
    DoNotContact(do_not_contact::DoNotContactCommand),
    /// Check, apply, preview and list email templates.
    #[command(subcommand)]
    Template(templates::TemplateCommand),
    /// What leads are reached through: emails, external ids, ids in other systems, phones.
    #[command(subcommand)]
    Identities(identities::IdentitiesCommand),
    /// The sales users leads are owned by.
    #[command(subcommand)]
    Users(team::UsersCommand),
    /// Follow-up tasks: add, list what is due, do, snooze, cancel.
    #[command(subcommand)]
    Tasks(tasks::TasksCommand),
    /// The job queue: how many jobs of each kind are pending, done or failed, and the newest
    /// jobs with their attempts and last error.
    Jobs {
        /// Only jobs of this kind (rescore, expire-anonymous, prune-jobs, pipeline-sweep).
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs in this status (pending, done, failed, cancelled).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// An owner's leads in the order to work them, each with why and its next step.
    Queue {
        #[arg(long)]
        owner: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Check, apply and show the assignment rules (who gets a new or newly qualified lead).
    #[command(subcommand)]
    Assignment(team::AssignmentCommand),
    /// The hand-off SLA: check, apply and show its policy; its clocks; compliance per rep and team.
    #[command(subcommand)]
    Sla(sla::SlaCommand),
    /// Reports on the pipeline: funnel, time in stage, owners, MQLs per month, sources, reasons.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Export data.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Counts: leads, events, buckets, MQLs. Reads only (beside a running import or server).
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Checks the database: the storage's own checks and leadflow's invariants (every event has
    /// its lead, every lead its score row). Reads only; exits 1 when something is wrong.
    Verify,
    /// Copy this embedded database (--db) into PostgreSQL: every table, ids kept, in one
    /// transaction that commits only when row counts and checksums match. Running it again
    /// replaces the copy with a fresh one (bringing it up to date).
    Migrate {
        /// The PostgreSQL database to copy into; its tables are created if it has none.
        #[arg(long, value_name = "postgres://USER[:PASSWORD]@HOST[:PORT]/DB")]
        to: String,
        /// Replace what the target holds even when it is not an earlier copy of this database.
        #[arg(long)]
        replace: bool,
    },
    /// Run the HTTP/JSON API server.
    Serve {
        /// Address to listen on (port 0 picks a free one); overrides the configuration's `addr`.
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
    },
    /// The server's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// How well a model would have ranked the leads whose outcomes are known.
    Backtest {
        /// The model file; the active model if left out.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Judge trees from `train --kind trees` instead of a points model.
        #[arg(long, value_name = "FILE.json", conflicts_with = "model")]
        trees: Option<PathBuf>,
        #[command(flatten)]
        lab: LabArgs,
    },
    /// Learn from the leads with outcomes: a points model file (`--kind points`, the rules engine
    /// runs it), or gradient-boosted trees giving a calibrated probability (`--kind trees`).
    Train {
        /// Where to write it (a model file for points, JSON for trees).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = TrainKind::Points)]
        kind: TrainKind,
        /// The model's name.
        #[arg(long, default_value = "learned")]
        name: String,
        /// Score each lead this many days before its own outcome (0 by default).
        #[arg(long, value_name = "DAYS")]
        before_outcome: Option<u32>,
        /// See every lead as of this instant instead.
        #[arg(long)]
        as_of: Option<Timestamp>,
    },
    /// Each lead's calibrated chance of converting under trees from `train --kind trees`, with
    /// the factors behind it: the leads given, or the most likely ones.
    Predict {
        /// Trees from `train --kind trees`; the active stored ones if left out.
        #[arg(long, value_name = "FILE.json")]
        model: Option<PathBuf>,
        /// Store the model as a new version, make it the active one, and keep every lead's
        /// prediction (shown by `leads show` and the API). Without --model: refresh them.
        #[arg(long)]
        apply: bool,
        leads: Vec<String>,
        /// Without leads: how many of the most likely to show.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Predict as of this instant (events after it do not count); now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        #[arg(long)]
        json: bool,
    },
    /// Two models on the same leads: metrics side by side, and the leads that change bucket.
    Compare {
        a: PathBuf,
        b: PathBuf,
        #[command(flatten)]
        lab: LabArgs,
        /// How many of the leads that changed bucket to list.
        #[arg(long, default_value_t = 10)]
        moves: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum TrainKind {
    Points,
    Trees,
}

#[derive(Args)]
struct LabArgs {
    /// Score every lead as of this instant (leads created after it, or whose outcome came
    /// before it, are left out).
    #[arg(long)]
    as_of: Option<Timestamp>,
    /// Score each lead this many days before its own outcome (0, just before it, by default).
    #[arg(long, value_name = "DAYS")]
    before_outcome: Option<u32>,
    #[arg(long)]
    json: bool,
    /// Also draw the cumulative gains chart (SVG) here.
    #[arg(long, value_name = "FILE.svg")]
    chart: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration file, with what each setting does.
    PrintDefault,
    /// Print the configuration in effect: defaults, the file, then LEADFLOW_* variables.
    Print,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a key; its secret is shown once.
    Create {
        /// Who or what uses it (for sales keys: the owner name their leads carry).
        #[arg(long)]
        name: String,
        /// admin, marketing, sales or ingest.
        #[arg(long)]
        role: String,
    },
    /// Every key, revoked ones included (never their secrets).
    List,
    /// Revoke a key at once.
    Revoke {
        #[arg(value_name = "ID")]
        id: i64,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Leads: upserted by id or email.
    Leads(ImportArgs),
    /// Events: idempotent by event id; unknown emails create leads.
    Events(ImportArgs),
    /// A stage history (one row per change: lead, time, from, to, reason), as CRMs export it
    /// (Salesforce's lead history, HubSpot's property history), into a pipeline's change log:
    /// in time order per lead, idempotently (a file imported again adds nothing).
    Changes(ChangeImportArgs),
}

#[derive(Args)]
struct ChangeImportArgs {
    file: PathBuf,
    /// The active pipeline whose stages the file's values are; may be left out when only one is
    /// active.
    #[arg(long)]
    pipeline: Option<String>,
    /// A column mapping (TOML): `[columns]`, `[pipeline_stages]` (a CRM's stage values onto the
    /// pipeline's stage ids) and `stage_fields` (which fields of a field history are the stage).
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Write every rejected row (line, reason) to this CSV file.
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Rows per transaction (whole leads) [default: 50000].
    #[arg(long)]
    batch: Option<usize>,
    /// The file's encoding (utf-8, windows-1252 / latin-1, utf-16le, utf-16be); detected if not given.
    #[arg(long, value_parser = parse_encoding)]
    encoding: Option<leadflow_import::TextEncoding>,
    /// The CSV delimiter (`,`, `;`, `tab`, `|`); the one the header row uses if not given.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// The order of day and month in dates: `mdy` or `dmy`; settled by the file's values if not given.
    #[arg(long, value_parser = parse_date_order)]
    date_format: Option<leadflow_import::DateOrder>,
}

#[derive(Args)]
struct ImportArgs {
    file: PathBuf,
    /// A column mapping (TOML) for files whose headers differ from leadflow's names.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Write every rejected row (line, reason) to this CSV file.
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Rows per transaction [default: 50000 leads, 200000 events]. Larger batches import
    /// faster; a crash loses at most the batch in flight (re-running the import resumes).
    #[arg(long)]
    batch: Option<usize>,
    /// Leave the imported leads' scores stale (run `leadflow rescore` later).
    #[arg(long)]
    no_rescore: bool,
    /// `csv` or `jsonl`; by default from the file name.
    #[arg(long)]
    format: Option<FileFormat>,
    /// The file's encoding (utf-8, windows-1252 / latin-1, utf-16le, utf-16be); detected if not given.
    #[arg(long, value_parser = parse_encoding)]
    encoding: Option<leadflow_import::TextEncoding>,
    /// The CSV delimiter (`,`, `;`, `tab`, `|`); the one the header row uses if not given.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Numbers are written with a decimal comma (1.500,50); settled by the file's values if not given.
    #[arg(long, conflicts_with = "decimal_point")]
    decimal_comma: bool,
    /// Numbers are written with a decimal point (1,500.50).
    #[arg(long)]
    decimal_point: bool,
    /// The order of day and month in dates: `mdy` (03/15/2026) or `dmy` (15/03/2026, 15.03.2026);
    /// settled by the file's values if not given.
    #[arg(long, value_parser = parse_date_order)]
    date_format: Option<leadflow_import::DateOrder>,
    /// Reject a row with any bad field, instead of leaving the field out with a warning.
    #[arg(long)]
    strict: bool,
    /// Leads only: put the leads the file creates in this active pipeline's entry stage, as of
    /// their creation (their stage history can follow with `import changes`).
    #[arg(long)]
    pipeline: Option<String>,
}

fn parse_encoding(s: &str) -> Result<leadflow_import::TextEncoding, String> {
    leadflow_import::TextEncoding::parse(s)
        .ok_or_else(|| format!("`{s}` (expected utf-8, windows-1252, latin-1, utf-16le or utf-16be)"))
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("`{s}` (expected one character, or tab)")),
    }
}

fn parse_date_order(s: &str) -> Result<leadflow_import::DateOrder, String> {
    leadflow_import::DateOrder::parse(s).ok_or_else(|| format!("`{s}` (expected mdy or dmy)"))
}

#[derive(Clone, Copy, ValueEnum)]
enum FileFormat {
    Csv,
    Jsonl,
}

#[derive(Args)]
struct TrackArgs {
    /// The lead: its email, id, external id or another identity (`phone:+14155552671`).
    #[arg(long)]
    lead: String,
    /// The event type (page_view, email_click, demo_requested, ... or a custom one).
    #[arg(long = "type")]
    event_type: String,
    /// When it happened; now by default.
    #[arg(long)]
    ts: Option<Timestamp>,
    /// The idempotency key; derived from the event if not given.
    #[arg(long)]
    id: Option<String>,
    /// A property, as name=value (repeatable): --prop url=/pricing
    #[arg(long = "prop", value_name = "NAME=VALUE")]
    props: Vec<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum LeadsCommand {
    /// Leads, hottest first, with filters.
    List(ListArgs),
    /// One lead: profile, scores, explanation, timeline and history.
    Show {
        lead: String,
        /// Explain the score as of this instant; now by default.
        #[arg(long)]
        as_of: Option<Timestamp>,
        /// Most events and history entries to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Create or update a lead: --set field=value (job_title, employees, custom.plan, ...; `field=`
    /// empties one); named by --email, or by --set external_id=ID.
    Upsert {
        #[arg(long)]
        email: Option<String>,
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        fields: Vec<String>,
    },
    /// A lead's change log: every change of its profile, stage and owner, newest first, with
    /// who made it (an API key, a file, the MQL rule).
    Changes {
        lead: String,
        /// Most changes to show.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// The stages a lead went through since it was created, with the days in each.
    Stages {
        lead: String,
        #[arg(long)]
        json: bool,
    },
    /// Clear a lead's MQL mark so that it can qualify again.
    Recycle { lead: String },
    /// Move a lead to a stage of its pipeline (checked against the pipeline's rules), or enter
    /// it into one: --pipeline names it (routing picks one otherwise), and without a stage it
    /// enters at the pipeline's entry stage.
    Move {
        lead: String,
        stage: Option<String>,
        #[arg(long)]
        pipeline: Option<String>,
        /// Why: one of the stage's reasons when it lists some (won, lost), a note otherwise.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Give a lead an owner: a user by name, or whom the assignment rules pick.
    Assign {
        lead: String,
        owner: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Accept a lead marketing handed over (sales-accepted: its lifecycle stage becomes sql).
    Accept { lead: String },
    /// Reject a lead marketing handed over, with a reason: back to nurture, its MQL mark cleared.
    Reject {
        lead: String,
        /// One of the SLA policy's reject_reasons when it lists some.
        #[arg(long)]
        reason: String,
    },
    /// Erase a lead with all its events, scores and history.
    Delete { lead: String },
    /// Record how a lead ended: won, lost, or clear.
    Outcome {
        lead: String,
        outcome: String,
        /// When it happened; now by default.
        #[arg(long)]
        at: Option<Timestamp>,
    },
}

#[derive(Args)]
struct ListArgs {
    #[arg(long)]
    bucket: Option<String>,
    #[arg(long)]
    grade: Option<String>,
    #[arg(long)]
    stage: Option<String>,
    #[arg(long)]
    owner: Option<String>,
    #[arg(long)]
    min_score: Option<f64>,
    #[arg(long)]
    max_score: Option<f64>,
    /// Only marketing-qualified leads.
    #[arg(long)]
    mql: bool,
    /// Words that must each appear in the name, the company or an identity (an email, an id in
    /// another system, a phone).
    #[arg(long)]
    search: Option<String>,
    /// Created at or after (RFC 3339 or a date).
    #[arg(long)]
    created_from: Option<Timestamp>,
    /// Created before.
    #[arg(long)]
    created_until: Option<Timestamp>,
    #[arg(long, value_enum, default_value_t = SortBy::Score)]
    sort: SortBy,
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long, default_value_t = 0)]
    offset: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SortBy {
    Score,
    ScoreAsc,
    Newest,
    Updated,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Validate a model file; every problem is listed with its line.
    Check {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Activate a model file and rescore every lead with it.
    Apply { file: PathBuf },
    /// Stored model versions.
    List,
    /// Print a stored model's source (the active one by default).
    Show {
        #[arg(value_name = "VERSION")]
        number: Option<i64>,
    },
    /// Re-activate a stored version and rescore.
    Activate {
        #[arg(value_name = "VERSION")]
        number: i64,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Every scored lead, hottest first: lead_id,fit,engagement,total,bucket,grade,email,external_id (CSV).
    Scores {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`| head`): nothing more to say to anyone.
        Err(e) if e.chain().any(is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `leadflow leads list | head` ends quietly when `head` stops reading: printing to a closed
/// pipe is not a crash. (Rust ignores SIGPIPE, so the print fails, and `println!` panics on
/// failure; this turns that one panic into a quiet exit.)
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    let io = e.downcast_ref::<std::io::Error>().or_else(|| {
        e.downcast_ref::<csv::Error>().and_then(|c| match c.kind() {
            csv::ErrorKind::Io(io) => Some(io),
            _ => None,
        })
    });
    io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> Result<ExitCode> {
    let url = match &cli.database_url {
        Some(url) => DatabaseUrl::parse(url)?,
        None => DatabaseUrl::sqlite(&cli.db),
    };
    // Copying names both backends, and works on neither as a store.
    if let Command::Migrate { to, replace } = &cli.command {
        return migrate(&url, to, *replace);
    }
    // The one place that names the backends: everything below is generic over the store.
    match url {
        DatabaseUrl::Sqlite(_) => run_on::<SqliteStore>(cli, &url),
        DatabaseUrl::Postgres(_) => run_on::<leadflow_postgres::PgStore>(cli, &url),
    }
}

fn run_on<S: Backend>(cli: Cli, db: &DatabaseUrl) -> Result<ExitCode> {
    match cli.command {
        Command::Init { model } => init::<S>(db, model.as_deref()),
        Command::Demo { out, leads } => demo::run(&out, leads),
        Command::Model(ModelCommand::Check { file, json }) => model_check::<S>(&file, db, json),
        Command::Pipeline(pipelines::PipelineCommand::Check { file }) => pipelines::check(&file),
        Command::Sequence(sequences::SequenceCommand::Check { file }) => sequences::check(&file),
        Command::Template(templates::TemplateCommand::Check { file }) => templates::check(&file),
        Command::Assignment(team::AssignmentCommand::Check { file }) => team::check(&file),
        Command::Sla(sla::SlaCommand::Check { file }) => sla::check(&file),
        Command::Serve { addr } => {
            let mut config = config::load(cli.config.as_deref())?;
            if let Some(addr) = addr {
                config.addr = addr;
            }
            serve(open_existing::<S>(db)?, config)
        }
        Command::Stats { json } => stats(&reader::<S>(db)?, json),
        Command::Verify => verify(&reader::<S>(db)?),
        Command::Config(ConfigCommand::PrintDefault) => {
            print!("{}", config::DEFAULT_TOML);
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Print) => {
            print!("{}", toml::to_string_pretty(&config::load(cli.config.as_deref())?)?);
            Ok(ExitCode::SUCCESS)
        }
        command => {
            let mut engine = open_existing::<S>(db)?;
            dispatch(&mut engine, command)
        }
    }
}

fn open<S: Backend>(db: &DatabaseUrl) -> Result<Engine<S>> {
    let store = S::open(db).with_context(|| format!("opening {db}"))?;
    Ok(Engine::new(store, Arc::new(SystemClock)))
}

fn open_existing<S: Backend>(db: &DatabaseUrl) -> Result<Engine<S>> {
    must_exist(db)?;
    open(db)
}

/// Whether the database is there already (a server's always is: only a file can be missing).
fn exists(db: &DatabaseUrl) -> bool {
    match db {
        DatabaseUrl::Sqlite(path) => path.exists(),
        DatabaseUrl::Postgres(_) => true,
    }
}

/// The database as people name it: an embedded one by its file.
fn shown(db: &DatabaseUrl) -> String {
    match db {
        DatabaseUrl::Sqlite(path) => path.display().to_string(),
        DatabaseUrl::Postgres(_) => db.to_string(),
    }
}

/// Commands other than `init` work on a database that is there: a mistyped path is an error, not
/// a new empty database.
fn must_exist(db: &DatabaseUrl) -> Result<()> {
    if !exists(db) {
        bail!("no database at {}: create one with `leadflow init` (or pass --db / set LEADFLOW_DB)", shown(db));
    }
    Ok(())
}

/// The database opened to read only: what it holds now, taking no lock and finishing nothing
/// (not even an import that another process is running).
fn reader<S: Backend>(db: &DatabaseUrl) -> Result<S> {
    must_exist(db)?;
    S::open_reader(db).with_context(|| format!("opening {db}"))
}

fn stats(store: &impl Store, json: bool) -> Result<ExitCode> {
    let s = store.stats()?;
    if json {
        let buckets: serde_json::Map<String, serde_json::Value> =
            s.buckets.iter().map(|(b, n)| (b.clone(), (*n).into())).collect();
        println!(
            "{}",
            serde_json::json!({"leads": s.leads, "events": s.events, "deferred_events": s.deferred_events,
                               "mqls": s.mqls, "stale_leads": s.stale_leads, "buckets": buckets})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("leads      {}", s.leads);
    println!("events     {}", s.events);
    if s.deferred_events > 0 {
        println!("  of which {} not yet indexed per lead (an import running, or cut short)", s.deferred_events);
    }
    println!("MQLs       {}", s.mqls);
    println!("stale      {}", s.stale_leads);
    for (bucket, n) in s.buckets {
        println!("  {bucket:<8} {n}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(store: &impl Store) -> Result<ExitCode> {
    let problems = store.verify()?;
    for p in &problems {
        println!("problem: {p}");
    }
    if problems.is_empty() {
        println!("the database is consistent");
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

fn init<S: Backend>(db: &DatabaseUrl, model: Option<&Path>) -> Result<ExitCode> {
    let existed = exists(db);
    let mut engine = open::<S>(db)?;
    match model {
        Some(path) => {
            let source = read_model_file(path)?;
            let report = engine.apply_model(&source, &progress::bar("rescoring"))?;
            println!("model {} ({}) is active", report.version, report.name);
        }
        None => match engine.ensure_model()? {
            Some(v) => println!("the default model is active ({v}); see `leadflow model show`"),
            None => println!("a model is already active"),
        },
    }
    println!("{} {}", if existed { "using" } else { "created" }, shown(db));
    Ok(ExitCode::SUCCESS)
}

/// `leadflow migrate`: copies the command's database, which must be an embedded one, into the
/// PostgreSQL database `to`, and prints what it copied, table by table.
fn migrate(source: &DatabaseUrl, to: &str, replace: bool) -> Result<ExitCode> {
    let DatabaseUrl::Sqlite(path) = source else {
        bail!("migrate copies an embedded database, and {source} is not one: name it with --db FILE");
    };
    must_exist(source)?;
    // Not echoed when it does not parse: it may hold a password.
    let target = match DatabaseUrl::parse(to) {
        Ok(url @ DatabaseUrl::Postgres(_)) => url,
        _ => bail!("--to takes a PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB"),
    };
    let options = CopyOptions { replace };
    let mut bars = progress::Tables::default();
    let report = leadflow_migrate::copy_sqlite_to_postgres(path, &target, options, &mut bars)
        .with_context(|| format!("copying {} into {target}", path.display()))?;
    drop(bars);
    let rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|t| {
            let (rows, fate) = match t.fate {
                Fate::Copied { rows } => (rows.to_string(), "copied, verified"),
                Fate::NotInSource => ("-".into(), "not in the source: left empty"),
                Fate::NotInTarget => ("0".into(), "not in the target (and empty in the source)"),
                Fate::InNeither => ("-".into(), "in neither database"),
            };
            vec![t.table.to_string(), rows, fate.to_string()]
        })
        .collect();
    output::table(&["table", "rows", ""], &rows);
    let replaced = match report.replaced {
        Replaced::Nothing => "",
        Replaced::EarlierCopy => ", replacing the earlier copy",
        Replaced::OtherData => ", replacing what it held",
    };
    println!("copied {} into {target}{replaced}", report.source.display());
    Ok(ExitCode::SUCCESS)
}

fn read_model_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn dispatch<S: Backend>(engine: &mut Engine<S>, command: Command) -> Result<ExitCode> {
    match command {
        Command::Import(ImportCommand::Leads(args)) => import::leads(engine, &args),
        Command::Import(ImportCommand::Events(args)) => import::events(engine, &args),
        Command::Import(ImportCommand::Changes(args)) => import::changes(engine, &args),
        Command::Report(command) => report::run(engine, command),
        Command::Track(args) => track(engine, args),
        Command::Rescore { as_of, all, from_events, batch, dry_run } => {
            let options = RescoreOptions {
                all: all || from_events,
                from_events,
                batch,
                dry_run,
                as_of_now: as_of.is_none(),
                ..RescoreOptions::needed(as_of.unwrap_or_else(|| engine.now()))
            };
            let started = std::time::Instant::now();
            let report = engine.rescore(options, &progress::bar("rescoring"))?;
            if report.leads == 0 {
                println!("nothing to rescore: every lead's score is current (`rescore --all` recomputes them all)");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{} {} leads in {:.2}s ({} from events, {} from kept state): {} {}, {} {}",
                if dry_run { "scored (dry run, nothing written)" } else { "rescored" },
                report.leads,
                started.elapsed().as_secs_f64(),
                report.from_events,
                report.from_state,
                report.changed,
                if dry_run { "would change" } else { "changed" },
                report.became_mql,
                if dry_run { "would become MQL" } else { "became MQL" },
            );
            if report.changed_meanwhile > 0 {
                println!(
                    "{} leads changed while being rescored (a new event, an import) and keep that newer score",
                    report.changed_meanwhile
                );
            }
            let buckets: Vec<String> = report.buckets.iter().map(|(b, n)| format!("{b} {n}")).collect();
            println!("buckets: {}", buckets.join(", "));
            print_predicted(&report);
            Ok(ExitCode::SUCCESS)
        }
        Command::Leads(LeadsCommand::List(args)) => list(engine, args),
        Command::Leads(LeadsCommand::Show { lead, as_of, limit, json }) => {
            let lead = parse_lead(&lead)?;
            let view = engine.view(&lead, as_of, limit)?.with_context(|| format!("no {lead}"))?;
            let (_, model) = engine.active_model()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&leadflow_contract::LeadView::from(&view))?);
            } else {
                output::print_view(&view, &model);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Leads(LeadsCommand::Upsert { email, fields }) => upsert(engine, email.as_deref(), &fields),
        Command::Leads(LeadsCommand::Stages { lead, json }) => {
            let lead = parse_lead(&lead)?;
            let spans = engine.stage_history(&lead)?.with_context(|| format!("no {lead}"))?;
            let history = leadflow_contract::StageHistory::new(&spans, engine.now());
            if json {
                println!("{}", serde_json::to_string_pretty(&history)?);
            } else {
                output::print_stages(&history);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Leads(LeadsCommand::Changes { lead, limit, json }) => {
            let lead = parse_lead(&lead)?;
            let changes = engine.changes(&lead, limit)?.with_context(|| format!("no {lead}"))?;
            if json {
                let changes = leadflow_contract::LeadChanges::from(changes.as_slice());
                println!("{}", serde_json::to_string_pretty(&changes)?);
            } else {
                output::print_changes(&changes);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Leads(LeadsCommand::Recycle { lead }) => {
            engine.recycle(&parse_lead(&lead)?, &ChangeOrigin::of(ChangeCause::Cli))?;
            println!("recycled: the lead can qualify as an MQL again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Leads(LeadsCommand::Outcome { lead, outcome, at }) => lab::set_outcome(engine, &lead, &outcome, at),
        Command::Leads(LeadsCommand::Move { lead, stage, pipeline, reason }) => {
            pipelines::move_lead(engine, &lead, stage, pipeline, reason)
        }
        Command::Pipeline(command) => pipelines::run(engine, command),
        Command::Sequence(command) => sequences::run(engine, command),
        Command::DoNotContact(command) => do_not_contact::run(engine, command),
        Command::Template(command) => templates::run(engine, command),
        Command::Users(command) => team::users(engine, command),
        Command::Identities(command) => identities::run(engine, command),
        Command::Tasks(command) => tasks::run(engine, command),
        Command::Queue { owner, limit, json } => tasks::queue(engine, &owner, limit, json),
        Command::Jobs { kind, status, limit } => jobs(engine, kind, status.as_deref(), limit),
        Command::Assignment(command) => team::assignment(engine, command),
        Command::Sla(command) => sla::run(engine, command),
        Command::Leads(LeadsCommand::Accept { lead }) => sla::decide(engine, &lead, leadflow_engine::Decision::Accept),
        Command::Leads(LeadsCommand::Reject { lead, reason }) => {
            sla::decide(engine, &lead, leadflow_engine::Decision::Reject { reason })
        }
        Command::Leads(LeadsCommand::Assign { lead, owner, reason }) => {
            team::assign(engine, &lead, owner.as_deref(), reason.as_deref())
        }
        Command::Backtest { model, trees, lab: a } => {
            let cutoff = lab::cutoff(a.as_of, a.before_outcome)?;
            match trees {
                Some(trees) => lab::backtest_trees(engine, &trees, cutoff, a.json, a.chart.as_deref()),
                None => lab::backtest(engine, model.as_deref(), cutoff, a.json, a.chart.as_deref()),
            }
        }
        Command::Train { out, kind, name, before_outcome, as_of } => {
            let cutoff = lab::cutoff(as_of, before_outcome)?;
            match kind {
                TrainKind::Points => lab::train(engine, &out, &name, cutoff),
                TrainKind::Trees => lab::train_trees(engine, &out, &name, cutoff),
            }
        }
        Command::Predict { model, apply: true, .. } => lab::apply_trees(engine, model.as_deref()),
        Command::Predict { model, leads, top, as_of, json, .. } => {
            lab::predict(engine, model.as_deref(), &leads, top, as_of, json)
        }
        Command::Compare { a, b, lab: l, moves } => {
            lab::compare(engine, &a, &b, lab::cutoff(l.as_of, l.before_outcome)?, l.json, l.chart.as_deref(), moves)
        }
        Command::Leads(LeadsCommand::Delete { lead }) => {
            let lead = parse_lead(&lead)?;
            if engine.delete_lead(&lead)? {
                println!("deleted {lead} with its events, scores and history");
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no {lead}")
            }
        }
        Command::Model(ModelCommand::Apply { file }) => {
            let source = read_model_file(&file)?;
            if let Ok(model) = Model::parse(&source) {
                for w in engine.model_warnings(&model, &source)? {
                    eprintln!("{}: warning: {w}", file.display());
                }
            }
            let report = engine.apply_model(&source, &progress::bar("rescoring"))?;
            println!(
                "model {} ({}) is active; rescored {} leads: {} changed, {} became MQL",
                report.version, report.name, report.rescore.leads, report.rescore.changed, report.rescore.became_mql
            );
            print_predicted(&report.rescore);
            Ok(ExitCode::SUCCESS)
        }
        Command::Model(ModelCommand::List) => {
            let rows: Vec<Vec<String>> = engine
                .models()?
                .iter()
                .map(|m| {
                    vec![
                        if m.active { "*".into() } else { String::new() },
                        m.version.to_string(),
                        m.name.clone(),
                        m.created_at.to_string(),
                        m.activated_at.map(|t| t.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(&["", "version", "name", "created", "last activated"], &rows);
            Ok(ExitCode::SUCCESS)
        }
        Command::Model(ModelCommand::Show { number }) => {
            let models = engine.models()?;
            let model = match number {
                Some(v) => models.iter().find(|m| m.version == ModelVersion(v)),
                None => models.iter().find(|m| m.active),
            }
            .context("no such model version")?;
            print!("{}", model.source);
            Ok(ExitCode::SUCCESS)
        }
        Command::Model(ModelCommand::Activate { number }) => {
            let report = engine.activate_version(ModelVersion(number), &progress::bar("rescoring"))?;
            println!("model {} ({}) is active; rescored {} leads", report.version, report.name, report.rescore.leads);
            print_predicted(&report.rescore);
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(ExportCommand::Scores { out }) => export_scores(engine, out.as_deref()),
        Command::Keys(KeysCommand::Create { name, role }) => {
            let role = leadflow_core::Role::parse(&role)
                .with_context(|| format!("unknown role `{role}` (expected admin, marketing, sales or ingest)"))?;
            let (key, secret) = engine.create_api_key(&name, role)?;
            println!("created key {} `{}` ({})", key.id, key.name, key.role);
            println!("{secret}");
            eprintln!("keep it now: the secret is stored only as a hash and cannot be shown again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(KeysCommand::List) => {
            let rows: Vec<Vec<String>> = engine
                .api_keys()?
                .iter()
                .map(|k| {
                    vec![
                        k.id.to_string(),
                        k.name.clone(),
                        k.role.to_string(),
                        format!("{}...", k.prefix),
                        k.created_at.to_string(),
                        k.revoked_at.map(|t| format!("revoked {t}")).unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(&["id", "name", "role", "key", "created", ""], &rows);
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(KeysCommand::Revoke { id }) => {
            if engine.revoke_api_key(id)? {
                println!("revoked key {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("no live key {id}")
            }
        }
        Command::Init { .. }
        | Command::Demo { .. }
        | Command::Serve { .. }
        | Command::Migrate { .. }
        | Command::Config(_)
        | Command::Stats { .. }
        | Command::Verify
        | Command::Model(ModelCommand::Check { .. }) => {
            unreachable!("handled before opening")
        }
    }
}

fn jobs<S: Backend>(
    engine: &mut Engine<S>,
    kind: Option<String>,
    status: Option<&str>,
    limit: usize,
) -> Result<ExitCode> {
    let status = status
        .map(|s| {
            leadflow_store::JobStatus::parse(s)
                .with_context(|| format!("unknown status `{s}` (expected pending, done, failed or cancelled)"))
        })
        .transpose()?;
    let counts = engine.job_counts()?;
    if counts.is_empty() {
        println!("no jobs yet: a server queues its scheduled jobs as it starts (`leadflow serve`)");
        return Ok(ExitCode::SUCCESS);
    }
    let counts: Vec<Vec<String>> =
        counts.iter().map(|c| vec![c.kind.clone(), c.status.as_str().to_string(), c.count.to_string()]).collect();
    output::table(&["kind", "status", "jobs"], &counts);
    println!();
    let query = leadflow_store::JobQuery { kind, status, limit };
    let rows: Vec<Vec<String>> = engine
        .jobs(&query)?
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.kind.clone(),
                j.key.clone(),
                j.status.as_str().to_string(),
                j.due_at.to_string(),
                format!("{}/{}", j.attempts, j.max_attempts),
                j.finished_at.map(|t| t.to_string()).unwrap_or_default(),
                j.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    output::table(&["id", "kind", "key", "status", "due", "attempts", "finished", "last error"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn serve<S: Backend>(mut engine: Engine<S>, config: config::Config) -> Result<ExitCode> {
    init_logging(&config.log)?;
    engine.active_model().context("the server needs an active model")?;
    let runtime = tokio::runtime::Runtime::new()?;
    let addr = config.addr;
    // Made outside the runtime: a backend's connections may block as they open (PostgreSQL's
    // driver runs a runtime of its own), which no thread of an async runtime may do.
    let state = leadflow_api::AppState::new(engine, config.server)?;
    runtime.block_on(async {
        let (listener, local) = leadflow_api::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
        println!("leadflow listening on http://{local}");
        tracing::info!(%local, "listening");
        leadflow_api::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_logging(log: &config::LogConfig) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level)
        .with_context(|| format!("log.level: `{}` is not a tracing filter", log.level))?;
    // Colours only for a person at a terminal, never into a file or a log collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match log.format {
        config::LogFormat::Json => builder.json().flatten_event(true).init(),
        config::LogFormat::Text => builder.init(),
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight, exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

/// What a rescore's refresh of the active trained model's predictions did, if it ran.
fn print_predicted(report: &leadflow_engine::RescoreReport) {
    if let Some((version, predicted)) = report.predicted {
        println!("trained model {version} is active: {predicted} leads predicted");
    }
}

fn parse_lead(s: &str) -> Result<LeadRef> {
    LeadRef::parse(s).with_context(|| {
        format!(
            "`{s}` names no lead: give its id, its email, its external id (`external:123` for one that is a number), or another identity (`phone:+14155552671`, `salesforce:00Q5g...`)"
        )
    })
}

fn model_check<S: Backend>(file: &Path, db: &DatabaseUrl, json: bool) -> Result<ExitCode> {
    let source = read_model_file(file)?;
    match Model::parse(&source) {
        Ok(model) => {
            // With a database beside it, rules that can match nothing in it are warned about.
            let warnings = match exists(db) {
                true => Engine::new(S::open_reader(db)?, Arc::new(SystemClock)).model_warnings(&model, &source)?,
                false => Vec::new(),
            };
            if json {
                println!("{}", serde_json::to_string(&leadflow_contract::ModelCheck::valid(&model, &warnings))?);
            } else {
                for w in &warnings {
                    eprintln!("{}: warning: {w}", file.display());
                }
                println!(
                    "{}: valid model `{}` ({} fit rules, {} engagement rules, {} inactivity rules)",
                    file.display(),
                    model.name,
                    model.fit.rules.len(),
                    model.engagement.rules.len(),
                    model.engagement.inactivity.len()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::to_string(&leadflow_contract::ModelCheck::invalid(&e))?);
            } else {
                eprintln!("{}: {e}", file.display());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn track<S: Backend>(engine: &mut Engine<S>, args: TrackArgs) -> Result<ExitCode> {
    let mut shape = EventShape::new(EventType::parse(&args.event_type)?);
    for prop in &args.props {
        let (name, value) = prop.split_once('=').with_context(|| format!("--prop `{prop}`: expected NAME=VALUE"))?;
        shape.set_property(name, value)?;
    }
    let input = EventInput {
        key: args.id.as_deref().map(EventKey::parse).transpose()?,
        lead: parse_lead(&args.lead)?,
        ts: args.ts.unwrap_or_else(|| engine.now()),
        shape,
    };
    let outcome = engine.track(input)?;
    match (&outcome, args.json) {
        (TrackOutcome::Duplicate { lead }, false) => {
            println!("duplicate: lead {lead} already has this event; nothing changed")
        }
        (TrackOutcome::Accepted { scored, created_lead }, false) => {
            println!(
                "lead {}{}: total {:.1} (fit {:.1}, engagement {:.1}), {}, grade {}{}",
                scored.lead,
                if *created_lead { " (new)" } else { "" },
                scored.card.total,
                scored.card.fit,
                scored.card.engagement,
                scored.bucket,
                scored.card.grade,
                if scored.became_mql { " - became an MQL" } else { "" }
            )
        }
        (TrackOutcome::Duplicate { lead }, true) => {
            println!("{}", serde_json::to_string(&leadflow_contract::EventOutcome::duplicate(*lead))?)
        }
        (TrackOutcome::Accepted { scored, created_lead }, true) => {
            let outcome = leadflow_contract::EventOutcome::accepted(scored.lead, *created_lead, Some(scored));
            println!("{}", serde_json::to_string(&outcome)?)
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn upsert<S: Backend>(engine: &mut Engine<S>, email: Option<&str>, fields: &[String]) -> Result<ExitCode> {
    use leadflow_engine::PatchValue;
    let mut patch: Vec<(String, PatchValue)> =
        email.map(|e| ("email".into(), PatchValue::Text(e.into()))).into_iter().collect();
    for f in fields {
        let (name, value) = f.split_once('=').with_context(|| format!("--set `{f}`: expected FIELD=VALUE"))?;
        // Typed by hand: `FIELD=` empties a field, and a custom value gets the type it plainly has.
        let value = match (name.starts_with("custom."), leadflow_core::CustomValue::infer(value)) {
            (_, None) => PatchValue::Null,
            (true, Some(leadflow_core::CustomValue::Number(n))) => PatchValue::Number(n),
            (true, Some(leadflow_core::CustomValue::Bool(b))) => PatchValue::Bool(b),
            (true, Some(leadflow_core::CustomValue::Date(t))) => PatchValue::Date(t),
            _ => PatchValue::Text(value.to_string()),
        };
        patch.push((name.to_string(), value));
    }
    let input = leadflow_engine::lead_input(patch).map_err(anyhow::Error::msg)?;
    let outcome = engine.upsert_lead(input)?;
    let s = &outcome.scored;
    println!(
        "{} lead {}: total {:.1} (fit {:.1}, engagement {:.1}), {}, grade {}",
        if outcome.created { "created" } else { "updated" },
        s.lead,
        s.card.total,
        s.card.fit,
        s.card.engagement,
        s.bucket,
        s.card.grade
    );
    Ok(ExitCode::SUCCESS)
}

fn list<S: Backend>(engine: &mut Engine<S>, a: ListArgs) -> Result<ExitCode> {
    let sort = match a.sort {
        SortBy::Score => "score",
        SortBy::ScoreAsc => "score_asc",
        SortBy::Newest => "newest",
        SortBy::Updated => "updated",
    };
    let leads = engine.list_leads(leadflow_engine::LeadFilter {
        bucket: a.bucket,
        grade: a.grade,
        stage: a.stage,
        owner: a.owner,
        min_score: a.min_score,
        max_score: a.max_score,
        mql_only: a.mql,
        text: a.search,
        created_from: a.created_from,
        created_until: a.created_until,
        sort: Some(sort.to_string()),
        limit: a.limit,
        offset: a.offset,
        ..Default::default()
    })?;
    if a.json {
        let rows: Vec<_> = leads.iter().map(leadflow_contract::Lead::from).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        output::print_lead_list(&leads);
    }
    Ok(ExitCode::SUCCESS)
}

fn export_scores<S: Backend>(engine: &mut Engine<S>, out: Option<&Path>) -> Result<ExitCode> {
    let sink: Box<dyn std::io::Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    // The email and the CRM's id join the scores back to the CRM the leads came from.
    w.write_record(["lead_id", "fit", "engagement", "total", "bucket", "grade", "email", "external_id"])?;
    // Hottest first, a page at a time: a cursor page stays right while nothing writes.
    const PAGE: usize = 10_000;
    let mut query = LeadQuery { order: LeadOrder::ScoreDesc, limit: PAGE, ..Default::default() };
    loop {
        let page = engine.store().list_leads(&query)?;
        for lead in &page {
            let Some(score) = &lead.score else { continue };
            let v = &score.values;
            w.write_record([
                lead.id.to_string(),
                format!("{:.6}", v.fit),
                format!("{:.6}", v.engagement),
                format!("{:.6}", v.total),
                v.bucket.clone(),
                v.grade.to_string(),
                lead.profile.email.as_ref().map(ToString::to_string).unwrap_or_default(),
                lead.profile.external_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            ])?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE => {
                query.after = Some(leadflow_store::Cursor { key: query.order.key_of(last), id: last.id })
            }
            _ => break,
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
