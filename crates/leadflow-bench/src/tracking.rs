//! `leadflow-bench tracking DB [--leads N] [--owners K] [--ended E]`: lead tracking at scale on
//! the embedded store. Builds a fresh database of N leads in the example inbound pipeline, owned
//! evenly by K users, E of them past their pipeline's cycle, each owner with a task on a tenth
//! of their leads; then times, each beside a reference in the same run:
//!
//! - the pipeline sweep (`Engine::sweep_pipelines`: every lead's cycle checked by the index, the
//!   E past it recycled, one durable transaction each), beside `leadflow stats` (a pass over
//!   every lead);
//! - one owner's queue (`Engine::queue`, N/K leads), beside listing the same owner's leads
//!   (`LeadQuery { owner }`), the reads it is built on;
//! - a stage move (`Engine::move_lead`, the call behind `POST /v1/leads/{lead}/stage`, one
//!   durable transaction), beside a durable upsert of one field (`Engine::upsert_lead`).

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
use leadflow_store::{ChangeCause, ChangeOrigin, LeadQuery, NewLead, NewTask, PipelineClock};

const PIPELINE: &str = include_str!("../../../examples/pipeline-inbound-b2b.toml");
const DAY: i64 = 86_400_000;

pub struct Tracking {
    pub leads: usize,
    pub owners: usize,
    pub ended: usize,
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
        engine.upsert_lead(LeadInput { id: None, profile, created_at: None, outcome: None, clear: Vec::new() })?;
        upsert_times.push(t.elapsed());
    }
    println!(
        "{{\"leads\": {}, \"owners\": {}, \"stats_ms\": {stats_ms:.1}, \"sweep_ms\": {sweep_ms:.1}, \"sweep_cycles_ended\": {}, \"sweep_routed\": {}, \"queue_leads_of_owner\": {}, \"queue_returned\": {queued}, \"queue_median_ms\": {:.1}, \"list_owner_median_ms\": {:.1}, \"stage_move_median_ms\": {:.2}, \"upsert_median_ms\": {:.2}}}",
        stats.leads,
        owners.len(),
        sweep.cycles_ended,
        sweep.routed,
        ids.len() / owners.len(),
        median(queue_times),
        median(list_times),
        median(move_times),
        median(upsert_times),
    );
    Ok(())
}
