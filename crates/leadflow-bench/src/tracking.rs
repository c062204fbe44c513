//! `leadflow-bench tracking DB [--leads N] [--owners K] [--ended E] [--breached S]`: lead tracking at scale on
//! the embedded store. Builds a fresh database of N leads in the example inbound pipeline, owned
//! evenly by K users, E of them past their pipeline's cycle, each owner with a task on a tenth
//! of their leads; then times, each beside a reference in the same run:
//!
//! - the task reminders the sweep sends (`Engine::remind_tasks`: every task due by now told of
//!   once, a page per durable transaction), and the rest of the pipeline sweep
//!   (`Engine::sweep_pipelines`: every lead's cycle checked by the index, the E past it recycled,
//!   one durable transaction each), beside `leadflow stats` (a pass over every lead);
//! - one owner's queue (`Engine::queue`, N/K leads), beside listing the same owner's leads
//!   (`LeadQuery { owner }`), the reads it is built on;
//! - a stage move (`Engine::move_lead`, the call behind `POST /v1/leads/{lead}/stage`, one
//!   durable transaction), beside a durable upsert of one field (`Engine::upsert_lead`);
//! - the SLA part of the sweep (`Engine::sweep_slas`: S clocks past their deadline of the
//!   example hand-off policy's `accept-mql` rule, among one clock per lead, each breach recorded
//!   and its due escalation steps run in a durable transaction of its own), beside the pipeline
//!   sweep's figure; and the compliance report over every clock, beside `stats`;
//! - a stage move through the HTTP API (`POST /v1/leads/{lead}/stage` on the real server,
//!   in-process on 127.0.0.1, one request at a time), beside an upsert through it
//!   (`PUT /v1/leads`) and `GET /health`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use leadflow_core::task::{Priority, TaskKind, TaskTitle};
use leadflow_core::team::{User, UserName, UserSpec};
use leadflow_core::{Actor, Email, LeadId, LeadRef, Profile, Role, Timestamp};
use leadflow_engine::{Engine, LeadInput, StageMove, SystemClock};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin, LeadQuery, NewLead, NewSlaClock, NewTask, PipelineClock, SlaMet};

const PIPELINE: &str = include_str!("../../../examples/pipeline-inbound-b2b.toml");
const SLA: &str = include_str!("../../../examples/sla-handoff.toml");
const DAY: i64 = 86_400_000;

pub struct Tracking {
    pub leads: usize,
    pub owners: usize,
    pub ended: usize,
    /// SLA clocks past due (the others are met).
    pub breached: usize,
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

pub fn run(db: &Path, load: &Tracking) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut engine = Engine::new(SqliteStore::open(db)?, Arc::new(SystemClock));
    engine.ensure_model()?;
    engine.save_pipeline(PIPELINE, true)?;
    let owners: Vec<UserName> = (0..load.owners).map(|i| UserName::parse(&format!("rep-{i:03}")).unwrap()).collect();
    for owner in &owners {
        engine.put_user(&User::build(UserSpec::new(owner.as_str(), "Europe/Berlin"))?)?;
    }
    let now = engine.now();
    let built = Instant::now();
    // Leads in `new` or `working`, each entered some days ago: within the cycle's 120 days,
    // but for `ended` of them (evenly spread), entered 130 days ago.
    let stride = (load.leads / load.ended.max(1)).max(1);
    let mut ids = Vec::with_capacity(load.leads);
    for chunk in (0..load.leads).collect::<Vec<_>>().chunks(50_000) {
        let profiles: Vec<Profile> = chunk
            .iter()
            .map(|&i| {
                let mut p = Profile::new(Email::parse(&format!("lead{i}@bench.example")).unwrap());
                p.owner = Some(owners[i % owners.len()].to_string());
                p.pipeline = Some("inbound-b2b".into());
                p.pipeline_stage = Some(if i % 3 == 0 { "working" } else { "new" }.into());
                p
            })
            .collect();
        let new: Vec<NewLead<'_>> =
            profiles.iter().map(|profile| NewLead { id: None, profile, created_at: now }).collect();
        let mut tx = engine.store_mut().begin_bulk()?;
        let inserted = tx.insert_leads(&new, now)?;
        for (&i, id) in chunk.iter().zip(inserted) {
            let id = id.expect("fresh emails");
            let days = if i % stride == 0 && ids.len() / stride < load.ended { 130 } else { (i % 110) as i64 };
            let at = Timestamp::from_millis(now.millis() - days * DAY);
            tx.set_pipeline_clock(
                id,
                &PipelineClock { entered_at: Some(at), stage_entered_at: Some(at), recycles: 0 },
            )?;
            ids.push(id);
        }
        tx.commit()?;
    }
    // A task on every tenth lead, owned by the lead's owner.
    let title = TaskTitle::parse("Call back")?;
    let mut tx = engine.store_mut().begin()?;
    for (i, id) in ids.iter().enumerate().step_by(10) {
        let task = NewTask {
            lead: *id,
            kind: TaskKind::Call,
            title: &title,
            owner: Some(&owners[i % owners.len()]),
            priority: Priority::Normal,
            due_at: Timestamp::from_millis(now.millis() + ((i % 7) as i64 - 3) * DAY),
            created_by: Some("bench"),
        };
        tx.add_task(&task, now)?;
    }
    tx.commit()?;
    eprintln!("built {} leads, {} owners in {:.1}s", ids.len(), owners.len(), built.elapsed().as_secs_f64());

    let t = Instant::now();
    let stats = engine.store().stats()?;
    let stats_ms = t.elapsed().as_secs_f64() * 1e3;
    // The tasks due by now, told of once (the first sweep after they fell due does it).
    let t = Instant::now();
    let reminders = engine.remind_tasks()?;
    let reminders_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let sweep = engine.sweep_pipelines()?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1e3;

    let owner = &owners[7];
    let (mut queue_times, mut list_times) = (Vec::new(), Vec::new());
    let mut queued = 0;
    for _ in 0..5 {
        let t = Instant::now();
        queued = engine.queue(owner, 50)?.len();
        queue_times.push(t.elapsed());
        let t = Instant::now();
        let query = LeadQuery { owner: Some(owner.to_string()), limit: 100_000, ..Default::default() };
        engine.store().list_leads(&query)?;
        list_times.push(t.elapsed());
    }

    let admin = Actor { role: Role::Admin, name: "" };
    let origin = ChangeOrigin::of(ChangeCause::Cli);
    let (mut move_times, mut upsert_times) = (Vec::new(), Vec::new());
    // Leads in `new` (i % 3 != 0) whose cycle has not ended move to `recycled`, which `new` allows.
    let movable = ids.iter().enumerate().filter(|(i, _)| i % 3 == 1 && i % stride != 0).take(200);
    for (n, (i, id)) in movable.enumerate() {
        let id: LeadId = *id;
        let request = StageMove { lead: LeadRef::Id(id), pipeline: None, stage: Some("recycled".into()), reason: None };
        let t = Instant::now();
        engine.move_lead(&admin, &origin, &request)?;
        move_times.push(t.elapsed());
        let mut profile = Profile::new(Email::parse(&format!("lead{i}@bench.example")).unwrap());
        profile.job_title = Some(format!("Engineer {n}"));
        let t = Instant::now();
        engine.upsert_lead(LeadInput::of(profile))?;
        upsert_times.push(t.elapsed());
    }
    let (sla_sweep_ms, breaches, escalations, compliance_ms) = sla(&mut engine, &ids, &owners, load.breached)?;
    let http = http(engine, &ids, stride)?;
    println!(
        "{{\"leads\": {}, \"owners\": {}, \"stats_ms\": {stats_ms:.1}, \"sweep_ms\": {sweep_ms:.1}, \"sweep_cycles_ended\": {}, \"sweep_routed\": {}, \"task_reminders\": {}, \"task_reminders_ms\": {reminders_ms:.1}, \"queue_leads_of_owner\": {}, \"queue_returned\": {queued}, \"queue_median_ms\": {:.1}, \"list_owner_median_ms\": {:.1}, \"stage_move_median_ms\": {:.2}, \"upsert_median_ms\": {:.2}, \"sla_sweep_ms\": {sla_sweep_ms:.1}, \"sla_breaches\": {breaches}, \"sla_escalations\": {escalations}, \"sla_compliance_ms\": {compliance_ms:.1}, \"http_stage_move_median_ms\": {:.2}, \"http_upsert_median_ms\": {:.2}, \"http_health_median_ms\": {:.2}}}",
        stats.leads,
        owners.len(),
        sweep.cycles_ended,
        sweep.routed,
        reminders.due + reminders.overdue,
        ids.len() / owners.len(),
        median(queue_times),
        median(list_times),
        median(move_times),
        median(upsert_times),
        http.stage_move_ms,
        http.upsert_ms,
        http.health_ms,
    );
    Ok(())
}

/// One `accept-mql` clock per lead under the example SLA policy, started 3 days ago in its
/// owner's working time: `breached` of them (evenly spread) still running, the others met an hour
/// after they started. Then the SLA sweep over them, and the compliance report over all.
fn sla(
    engine: &mut Engine<SqliteStore>,
    ids: &[LeadId],
    owners: &[UserName],
    breached: usize,
) -> Result<(f64, usize, usize, f64)> {
    let saved = engine.save_sla_policy(SLA, true)?;
    let policy = leadflow_core::sla::SlaPolicy::parse(SLA)?;
    let rule = policy.rule("accept-mql").expect("the example's rule");
    let users = engine.users()?;
    let now = engine.now();
    let started = Timestamp::from_millis(now.millis() - 3 * DAY);
    let stride = (ids.len() / breached.max(1)).max(1);
    let built = Instant::now();
    for (c, chunk) in ids.chunks(50_000).enumerate() {
        let mut tx = engine.store_mut().begin_bulk()?;
        for (j, id) in chunk.iter().enumerate() {
            let i = c * 50_000 + j;
            let owner = &owners[i % owners.len()];
            let calendar = users.iter().find(|u| u.name() == owner).expect("a user").calendar();
            let due_at = rule.deadline(calendar, started);
            let clock = NewSlaClock {
                lead: *id,
                policy: saved.version,
                rule: rule.id(),
                owner: Some(owner),
                started_at: Some(started),
                due_at,
                check_at: due_at.map(|d| d.plus_millis(1)),
            };
            let clock = tx.start_sla_clock(&clock, started)?;
            if i % stride != 0 || i / stride >= breached {
                let mut met = tx.sla_clock_now(clock)?.expect("just started");
                (met.met, met.check_at) = (Some((started.plus_millis(3_600_000), SlaMet::Accepted)), None);
                tx.update_sla_clock(&met)?;
            }
        }
        tx.commit()?;
    }
    eprintln!("built {} SLA clocks in {:.1}s", ids.len(), built.elapsed().as_secs_f64());
    let t = Instant::now();
    let swept = engine.sweep_slas()?;
    let sweep_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let report = engine.sla_compliance(Timestamp::from_millis(started.millis() - DAY), now)?;
    let compliance_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(report.total.total() as usize, ids.len(), "every clock counted");
    Ok((sweep_ms, swept.breached.len(), swept.escalations, compliance_ms))
}

/// Medians of one request at a time through the real server.
struct HttpFigures {
    stage_move_ms: f64,
    upsert_ms: f64,
    health_ms: f64,
}

/// The server in-process on the benchmark's database (no background jobs, no rate limit), and
/// 200 requests of each kind, one at a time.
fn http(mut engine: Engine<SqliteStore>, ids: &[LeadId], stride: usize) -> Result<HttpFigures> {
    let (_, key) = engine.create_api_key("bench", Role::Admin)?;
    let mut config = leadflow_api::ServerConfig::default();
    config.rate_limit.per_second = 0;
    config.jobs.poll_interval_ms = 0;
    config.webhooks.poll_interval_ms = 0;
    let state = leadflow_api::AppState::new(engine, config)?;
    leadflow_api::install_tls_provider();
    // Leads in `new` that neither the sweep nor the moves above touched: to `working`.
    let movable: Vec<(usize, LeadId)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 2 && i % stride != 0)
        .map(|(i, id)| (i, *id))
        .take(200)
        .collect();
    tokio::runtime::Runtime::new()?.block_on(async move {
        let (listener, addr) = leadflow_api::bind("127.0.0.1:0".parse()?).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(leadflow_api::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();
        let base = format!("http://{addr}");
        let (mut moves, mut upserts, mut health) = (Vec::new(), Vec::new(), Vec::new());
        for (n, (i, id)) in movable.iter().enumerate() {
            let t = Instant::now();
            let moved = client
                .post(format!("{base}/v1/leads/{}/stage", id.0))
                .bearer_auth(&key)
                .json(&serde_json::json!({"stage": "working"}))
                .send()
                .await?;
            anyhow::ensure!(moved.status().is_success(), "a move: {}", moved.text().await?);
            moved.bytes().await?;
            moves.push(t.elapsed());
            let t = Instant::now();
            let upserted = client
                .put(format!("{base}/v1/leads"))
                .bearer_auth(&key)
                .json(
                    &serde_json::json!({"email": format!("lead{i}@bench.example"), "job_title": format!("Buyer {n}")}),
                )
                .send()
                .await?;
            anyhow::ensure!(upserted.status().is_success(), "an upsert: {}", upserted.text().await?);
            upserted.bytes().await?;
            upserts.push(t.elapsed());
            let t = Instant::now();
            client.get(format!("{base}/health")).send().await?.bytes().await?;
            health.push(t.elapsed());
        }
        let _ = stop.send(());
        served.await??;
        Ok(HttpFigures { stage_move_ms: median(moves), upsert_ms: median(upserts), health_ms: median(health) })
    })
}
