//! A server killed (SIGKILL) in the middle of a pipeline sweep, and another started on the same
//! database: the sweep's work is finished by the job the next server queues (the killed one's
//! stays claimed until its lease ends), and every lead is moved once, with one line in its
//! change log, whichever server moved it: each move checks again, in its own unit of work, what
//! the sweep found.

use std::sync::Arc;
use std::time::{Duration, Instant};

use leadflow_core::lead::{Field, FieldRef};
use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_engine::{Engine, FixedClock, SystemClock};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{NewLead, PipelineClock};

use crate::common::{Cli, ServeProcess};

const LEADS: usize = 20_000;

/// How many of the leads are recycled, as a reader sees it beside the server.
fn recycled(cli: &Cli) -> u64 {
    let reader = SqliteStore::open_reader(&cli.db()).unwrap();
    reader.stage_counts("inbound-b2b").unwrap().iter().find(|(s, _)| s == "recycled").map_or(0, |(_, n)| *n)
}

#[test]
fn a_sweep_killed_mid_way_is_finished_by_the_next_server_and_moves_each_lead_once() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    // Leads in `new` that entered the pipeline 130 days ago: past its 120-day cycle.
    {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let mut engine = Engine::new(SqliteStore::open(&cli.db()).unwrap(), Arc::new(FixedClock::new(now)));
        engine.save_pipeline(include_str!("../../../../examples/pipeline-inbound-b2b.toml"), true).unwrap();
        let entered = Timestamp::parse("2025-08-24T00:00:00Z").unwrap();
        let profiles: Vec<Profile> = (0..LEADS)
            .map(|i| {
                let mut p = Profile::new(Email::parse(&format!("l{i}@sweep.example")).unwrap());
                (p.pipeline, p.pipeline_stage) = (Some("inbound-b2b".into()), Some("new".into()));
                p
            })
            .collect();
        let new: Vec<NewLead<'_>> =
            profiles.iter().map(|profile| NewLead { id: None, profile, created_at: now }).collect();
        let store = engine.store_mut();
        let mut tx = store.begin().unwrap();
        let clock = PipelineClock { entered_at: Some(entered), stage_entered_at: Some(entered), recycles: 0 };
        for id in tx.insert_leads(&new, now).unwrap() {
            tx.set_pipeline_clock(id.unwrap(), &clock).unwrap();
        }
        tx.commit().unwrap();
    }

    let env = [
        ("LEADFLOW_SERVER__JOBS__POLL_INTERVAL_MS", "50"),
        ("LEADFLOW_SERVER__JOBS__PIPELINE_SWEEP_EVERY_SECONDS", "1"),
        ("LEADFLOW_SERVER__JOBS__RESCORE_EVERY_MINUTES", "0"),
    ];
    let first = ServeProcess::start(&cli, &env);
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let n = recycled(&cli);
        if n > 0 {
            break n;
        }
        assert!(Instant::now() < deadline, "the sweep did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(first); // SIGKILL, mid-sweep
    let after_kill = recycled(&cli);
    assert!(after_kill < LEADS as u64, "killed mid-way: {after_kill} of {LEADS} recycled (at the kill: {at_kill})");

    // The dead server's claim on its slot lasts the job's lease (five minutes); the next server
    // queues the slot of its own start, so it starts a second later, in another slot.
    std::thread::sleep(Duration::from_millis(1500));
    let _second = ServeProcess::start(&cli, &env);
    let deadline = Instant::now() + Duration::from_secs(300);
    while recycled(&cli) < LEADS as u64 {
        assert!(Instant::now() < deadline, "{} of {LEADS} recycled", recycled(&cli));
        std::thread::sleep(Duration::from_millis(100));
    }
    // The queue shows the sweeps that ran, and the one the killed server still holds.
    let jobs = cli.ok(&["jobs", "--kind", "pipeline-sweep"]);
    assert!(jobs.contains("pipeline-sweep") && jobs.contains("done"), "{jobs}");
    assert!(jobs.contains("pending"), "the killed server's claim, until its lease ends: {jobs}");
    let reader = Engine::new(SqliteStore::open_reader(&cli.db()).unwrap(), Arc::new(SystemClock));
    for i in (0..LEADS).step_by(97) {
        let lead = LeadRef::Email(Email::parse(&format!("l{i}@sweep.example")).unwrap());
        let record = reader.store().lead(&lead).unwrap().unwrap();
        assert_eq!(record.pipeline_clock.recycles, 1, "lead {i}");
        let log = reader.changes(&lead, 100).unwrap().unwrap();
        let moves = log.iter().filter(|c| c.change.field == FieldRef::Standard(Field::PipelineStage)).count();
        assert_eq!(moves, 1, "lead {i} moved once: {log:?}");
    }
}
