//! Benchmarks that the `leadflow` command does not expose.
//!
//! - `leadflow-bench track DB EVENTS.csv [--count N] [--batch B]`: events per second through
//!   `Engine::track` (or `Engine::track_batch`, B events a transaction, with `--batch`),
//!   the call behind `leadflow track` and the API's single-event ingest: one transaction per
//!   event, committed durably (WAL, synchronous = FULL) before the next, with the lead's score
//!   updated incrementally inside it.
//! - `leadflow-bench ml [TASK ...]`: predictive scoring on real data under the fixed 5-fold
//!   protocol of `../shared/ml/ml_peers.py` (tasks x_education, x_education_noleak, bank_full):
//!   ROC AUC per fold, the mean, and the time spent fitting.
//! - `leadflow-bench tracking DB [--leads N] [--owners K] [--ended E] [--breached S]`: the
//!   pipeline sweep, one owner's queue, a stage move (by the engine and through the HTTP API), the
//!   SLA sweep and compliance on N leads (see `tracking.rs`).
//! - `leadflow-bench deliveries DB|URL [--leads N] [--webhooks W]`: webhook deliveries on the job
//!   queue (queueing, a claim from a backlog, draining), beside plain jobs, on SQLite or
//!   PostgreSQL (see `deliveries.rs`).
//! - `leadflow-bench nurture DB SMTP_PORT [--sends N] [--enrollments M]`: nurture emails through
//!   an SMTP sink (`bench/nurture.sh`), beside the sink's raw rate, and scheduling M enrollments'
//!   next step (see `nurture.rs`).
//! - `leadflow-bench parse EVENTS.csv`: how fast the importer reads and parses events, with no
//!   database: the floor under `leadflow import events`.
//! - `leadflow-bench http BASE_URL KEY [--seconds S] [--concurrency C] [--batch B] [--rate R]
//!   [--leads N]`: a running server under load, one phase after another, S seconds each:
//!   `GET /health` (the trivial endpoint, for the ratio), single-event `POST /v1/events` closed
//!   loop (C in flight), the same open loop at R requests/s (latency counted from when each
//!   request was due, so a stalled server cannot hide its queue), `POST /v1/events/batch` with B
//!   events per request (K consecutive ones to the same lead with `--events-per-lead K`), and
//!   `GET /v1/leads/{email}` reads. Events go to N distinct leads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

mod deliveries;
mod ml;
mod nurture;
mod tracking;

use anyhow::{Context, Result, bail};
use leadflow_engine::{Engine, SystemClock, TrackOutcome};
use leadflow_import::{ColumnMapping, Format, ReadOptions};
use leadflow_sqlite::SqliteStore;

/// Scoring and imports allocate many small strings; mimalloc handles that load markedly better
/// than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, tasks @ ..] = args.as_slice()
        && cmd == "ml"
    {
        return ml::run(tasks);
    }
    if let [cmd, db, rest @ ..] = args.as_slice()
        && cmd == "tracking"
    {
        let flag = |name: &str, default: usize| -> Result<usize> {
            match rest.iter().position(|a| a == name) {
                Some(i) => rest.get(i + 1).context("a value after the flag")?.parse().context(name.to_string()),
                None => Ok(default),
            }
        };
        let load = tracking::Tracking {
            leads: flag("--leads", 1_000_000)?,
            owners: flag("--owners", 100)?,
            ended: flag("--ended", 10_000)?,
            breached: flag("--breached", 20_000)?,
        };
        return tracking::run(&PathBuf::from(db), &load);
    }
    if let [cmd, db, port, rest @ ..] = args.as_slice()
        && cmd == "nurture"
    {
        let flag = |name: &str, default: usize| -> Result<usize> {
            match rest.iter().position(|a| a == name) {
                Some(i) => rest.get(i + 1).context("a value after the flag")?.parse().context(name.to_string()),
                None => Ok(default),
            }
        };
        let load = nurture::Nurture { sends: flag("--sends", 10_000)?, enrollments: flag("--enrollments", 100_000)? };
        return nurture::run(&PathBuf::from(db), port.parse().context("the SMTP port")?, &load);
    }
    if let [cmd, db, rest @ ..] = args.as_slice()
        && cmd == "deliveries"
    {
        let flag = |name: &str, default: usize| -> Result<usize> {
            match rest.iter().position(|a| a == name) {
                Some(i) => rest.get(i + 1).context("a value after the flag")?.parse().context(name.to_string()),
                None => Ok(default),
            }
        };
        let load = deliveries::Deliveries { leads: flag("--leads", 20_000)?, webhooks: flag("--webhooks", 5)? };
        return deliveries::run(db, &load);
    }
    if let [cmd, events] = args.as_slice()
        && cmd == "parse"
    {
        return parse(&PathBuf::from(events));
    }
    if let [cmd, base, key, rest @ ..] = args.as_slice()
        && cmd == "http"
    {
        let flag = |name: &str, default: usize| -> Result<usize> {
            match rest.iter().position(|a| a == name) {
                Some(i) => rest.get(i + 1).context("a value after the flag")?.parse().context(name.to_string()),
                None => Ok(default),
            }
        };
        let load = HttpLoad {
            base: base.clone(),
            key: key.clone(),
            seconds: flag("--seconds", 10)?,
            concurrency: flag("--concurrency", 32)?,
            batch: flag("--batch", 1000)?,
            rate: flag("--rate", 5000)?,
            leads: flag("--leads", 50_000)? as u64,
            events_per_lead: flag("--events-per-lead", 1)?.max(1) as u64,
            phases: match rest.iter().position(|a| a == "--phases") {
                Some(i) => rest.get(i + 1).context("a value after --phases")?.split(',').map(str::to_string).collect(),
                None => ["health", "closed", "open", "batch", "reads"].map(String::from).to_vec(),
            },
        };
        return tokio::runtime::Runtime::new()?.block_on(http(load));
    }
    let usage = "usage: leadflow-bench track DB EVENTS.csv [--count N] [--batch B] | leadflow-bench parse EVENTS.csv";
    let (db, events, count, batch) = match args.as_slice() {
        [cmd, db, events, rest @ ..] if cmd == "track" => {
            let flag = |name: &str, default: usize| -> Result<usize> {
                match rest.iter().position(|a| a == name) {
                    Some(i) => rest.get(i + 1).context(usage)?.parse().context(name.to_string()),
                    None => Ok(default),
                }
            };
            (PathBuf::from(db), PathBuf::from(events), flag("--count", 100_000)?, flag("--batch", 1)?.max(1))
        }
        _ => bail!(usage),
    };
    let file = std::fs::File::open(&events).with_context(|| format!("opening {}", events.display()))?;
    let rows: Vec<_> =
        leadflow_import::read_events(file, Format::Csv, &ColumnMapping::default(), &ReadOptions::default())?
            .rows
            .filter_map(|r| r.parsed.ok())
            .take(count)
            .collect();
    let mut engine = Engine::new(SqliteStore::open(&db)?, Arc::new(SystemClock));
    engine.active_model()?;
    let mut latencies = Vec::with_capacity(rows.len());
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    let started = Instant::now();
    if batch > 1 {
        // Latencies are per batch here: one `track_batch` (one transaction) each.
        for chunk in rows.chunks(batch) {
            let t = Instant::now();
            for item in engine.track_batch(chunk.to_vec())?.items {
                match item {
                    leadflow_engine::BatchItem::Accepted { .. } => accepted += 1,
                    _ => duplicates += 1,
                }
            }
            latencies.push(t.elapsed());
        }
    } else {
        for row in rows {
            let t = Instant::now();
            match engine.track(row)? {
                TrackOutcome::Accepted { .. } => accepted += 1,
                TrackOutcome::Duplicate { .. } => duplicates += 1,
            }
            latencies.push(t.elapsed());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    println!(
        "{{\"events\": {}, \"accepted\": {accepted}, \"duplicates\": {duplicates}, \"seconds\": {elapsed:.3}, \"events_per_s\": {:.0}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        accepted + duplicates,
        (accepted + duplicates) as f64 / elapsed,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}

fn parse(events: &std::path::Path) -> Result<()> {
    let file = std::fs::File::open(events).with_context(|| format!("opening {}", events.display()))?;
    let started = Instant::now();
    let (mut ok, mut bad) = (0u64, 0u64);
    for row in leadflow_import::read_events(file, Format::Csv, &ColumnMapping::default(), &ReadOptions::default())?.rows
    {
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

/// What one kind of request did under load.
struct Load {
    requests: u64,
    errors: u64,
    latencies: Vec<std::time::Duration>,
    seconds: f64,
}

impl Load {
    fn report(&mut self, name: &str, events_per_request: u64) -> serde_json::Value {
        self.latencies.sort();
        let pct = |p: f64| {
            self.latencies
                .get(((self.latencies.len() as f64 - 1.0) * p) as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        serde_json::json!({
            "endpoint": name, "requests": self.requests, "errors": self.errors,
            "requests_per_s": (self.requests as f64 / self.seconds).round(),
            "events_per_s": (self.requests as f64 * events_per_request as f64 / self.seconds).round(),
            "p50_ms": (pct(0.5) * 1000.0).round() / 1000.0, "p99_ms": (pct(0.99) * 1000.0).round() / 1000.0,
        })
    }
}

/// Runs `make(n)` requests back to back on `concurrency` tasks for `seconds`.
async fn closed_loop<F, Fut>(seconds: usize, concurrency: usize, make: F) -> Load
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds as u64);
    let started = Instant::now();
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, counter) = (make.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                if !make(n).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
            }
            (latencies, errors)
        }));
    }
    let mut load = Load { requests: 0, errors: 0, latencies: Vec::new(), seconds: 0.0 };
    for t in tasks {
        let (latencies, errors) = t.await.expect("load task");
        load.requests += latencies.len() as u64;
        load.errors += errors;
        load.latencies.extend(latencies);
    }
    load.seconds = started.elapsed().as_secs_f64();
    load
}

/// Settings of `leadflow-bench http`.
struct HttpLoad {
    base: String,
    key: String,
    seconds: usize,
    concurrency: usize,
    batch: usize,
    rate: usize,
    leads: u64,
    /// In a batch, how many consecutive events go to one lead.
    events_per_lead: u64,
    /// Which of health, closed, open, batch and reads to run.
    phases: Vec<String>,
}

/// Sends `make(n)` at a fixed rate for `seconds`, whatever the answers' pace; each latency runs
/// from when its request was due.
async fn open_loop<F, Fut>(seconds: usize, rate: usize, make: F) -> Load
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let period = std::time::Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let total = (seconds * rate) as u64;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = started + period * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let request = make(n);
        tasks.push(tokio::spawn(async move {
            let ok = request.await;
            (due.elapsed(), ok)
        }));
    }
    let mut load = Load { requests: 0, errors: 0, latencies: Vec::with_capacity(tasks.len()), seconds: 0.0 };
    for t in tasks {
        let (latency, ok) = t.await.expect("request task");
        load.requests += 1;
        load.errors += u64::from(!ok);
        load.latencies.push(latency);
    }
    load.seconds = started.elapsed().as_secs_f64();
    load
}

async fn http(load: HttpLoad) -> Result<()> {
    // reqwest is built without a TLS provider of its own (see leadflow-api).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().pool_max_idle_per_host(1024).build()?;
    let run = format!("{}", std::process::id());
    let HttpLoad { base, key, seconds, concurrency, batch, rate, leads, events_per_lead, phases } = load;
    let run_phase = |name: &str| phases.iter().any(|p| p == name);
    let ok = |r: reqwest::Result<reqwest::Response>| r.is_ok_and(|r| r.status().is_success());
    let mut report = Vec::new();

    if run_phase("health") {
        let (c, url) = (client.clone(), format!("{base}/health"));
        let health = closed_loop(seconds, concurrency, move |_| {
            let request = c.get(&url).send();
            async move { ok(request.await) }
        });
        report.push(health.await.report("GET /health (closed loop)", 1));
    }

    let single = |tag: &'static str| {
        let (c, url, key, run) = (client.clone(), format!("{base}/v1/events"), key.clone(), run.clone());
        move |n: u64| {
            let body = serde_json::json!({"id": format!("{tag}-{run}-{n}"), "email": format!("load{}@bench.example", n % leads),
                "type": "page_view", "properties": {"url": "/pricing"}});
            let request = c.post(&url).bearer_auth(&key).json(&body).send();
            async move { ok(request.await) }
        }
    };
    if run_phase("closed") {
        let mut load = closed_loop(seconds, concurrency, single("closed")).await;
        report.push(load.report("POST /v1/events (closed loop)", 1));
    }
    if run_phase("open") {
        let name = format!("POST /v1/events (open loop, {rate}/s)");
        report.push(open_loop(seconds, rate, single("open")).await.report(&name, 1));
    }

    if run_phase("batch") {
        let (c, url, k, r) = (client.clone(), format!("{base}/v1/events/batch"), key.clone(), run.clone());
        let batched = closed_loop(seconds, concurrency.min(8), move |n| {
            let events: Vec<_> = (0..batch as u64)
                .map(|i| {
                    serde_json::json!({"id": format!("batch-{r}-{n}-{i}"),
                    "email": format!("load{}@bench.example", (n * 7919 + i / events_per_lead) % leads),
                    "type": "email_open"})
                })
                .collect();
            let request = c.post(&url).bearer_auth(&k).json(&serde_json::json!({ "events": events })).send();
            async move { ok(request.await) }
        });
        let name = format!("POST /v1/events/batch ({batch} events, {events_per_lead} per lead)");
        report.push(batched.await.report(&name, batch as u64));
    }
    if run_phase("reads") {
        let (c, k) = (client.clone(), key.clone());
        let reads = closed_loop(seconds, concurrency, move |n| {
            let request = c.get(format!("{base}/v1/leads/load{}@bench.example", n % leads)).bearer_auth(&k).send();
            async move { ok(request.await) }
        });
        report.push(reads.await.report("GET /v1/leads/{email} (closed loop)", 1));
    }
    for line in report {
        println!("{line}");
    }
    Ok(())
}
