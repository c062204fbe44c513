//! `leadflow-bench deliveries DB [--leads N] [--webhooks W]`: webhook deliveries on the job
//! queue, on the embedded store (DB a file, made afresh) or on PostgreSQL (DB a `postgres://` URL
//! of an empty schema). Builds N leads and W webhooks subscribed to `lead.created`, then times,
//! each beside the plain job queue doing the same in the same run:
//!
//! - queueing: a `lead.created` notification per lead, a thousand per durable transaction (N × W
//!   deliveries, each with its job), beside queueing as many plain jobs (no lane, no pool) the
//!   same way;
//! - one claim of 500 from the whole backlog (the query counts every receiver's share and checks
//!   every lane), beside one claim of 500 plain jobs from theirs;
//! - draining: claims of 500 (`Engine::claim_deliveries`, the server's worker's call), each
//!   delivery recorded as answered in a durable transaction of its own (`Engine::record_attempt`)
//!   until none is left, beside claiming and finishing the plain jobs the same way.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use leadflow_core::{Email, LeadId, Profile, Topic};
use leadflow_engine::{Engine, SystemClock};
use leadflow_postgres::PgStore;
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{AttemptOutcome, JobClaim, JobOutcome, NewJob, NewLead, Notification};

pub struct Deliveries {
    pub leads: usize,
    pub webhooks: usize,
}

const CLAIM: usize = 500;
const PLAIN: &str = "bench-plain";

pub fn run(db: &str, load: &Deliveries) -> Result<()> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return run_on(Engine::new(PgStore::open(db)?, Arc::new(SystemClock)), load);
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{db}{suffix}"));
    }
    run_on(Engine::new(SqliteStore::open(Path::new(db))?, Arc::new(SystemClock)), load)
}

fn run_on<S: Store>(mut engine: Engine<S>, load: &Deliveries) -> Result<()> {
    engine.ensure_model()?;
    let now = engine.now();
    let mut ids: Vec<LeadId> = Vec::with_capacity(load.leads);
    for chunk in (0..load.leads).collect::<Vec<_>>().chunks(50_000) {
        let profiles: Vec<Profile> =
            chunk.iter().map(|i| Profile::new(Email::parse(&format!("lead{i}@bench.example")).unwrap())).collect();
        let new: Vec<NewLead<'_>> =
            profiles.iter().map(|profile| NewLead { id: None, profile, created_at: now }).collect();
        let mut tx = engine.store_mut().begin_bulk()?;
        ids.extend(tx.insert_leads(&new, now)?.into_iter().map(|id| id.expect("fresh emails")));
        tx.commit()?;
    }
    for w in 0..load.webhooks {
        engine.create_webhook(&format!("https://receiver-{w}.example/hook"), &[Topic::LeadCreated])?;
    }
    let total = ids.len() * load.webhooks;

    let t = Instant::now();
    for chunk in ids.chunks(1_000) {
        let mut tx = engine.store_mut().begin()?;
        for &lead in chunk {
            tx.notify(&Notification {
                topic: Topic::LeadCreated,
                lead,
                email: None,
                external_id: None,
                at: now,
                score: None,
                previous_bucket: None,
                detail: None,
            })?;
        }
        tx.commit()?;
    }
    let queue = t.elapsed();
    let t = Instant::now();
    for (n, chunk) in (0..total).collect::<Vec<_>>().chunks(1_000).enumerate() {
        let mut tx = engine.store_mut().begin()?;
        for i in chunk {
            let key = format!("{n}-{i}");
            tx.enqueue_job(&NewJob::new(PLAIN, &key, now, "{}", 5), now)?;
        }
        tx.commit()?;
    }
    let queue_plain = t.elapsed();
    ensure!(engine.store().count_pending_deliveries()? as usize == total, "every delivery queued");

    let lease = Duration::from_secs(600);
    let t = Instant::now();
    let first = engine.claim_deliveries(CLAIM, CLAIM, lease)?;
    let claim = t.elapsed();
    let plain_claim = |engine: &mut Engine<S>| {
        let now = engine.now();
        let claim =
            JobClaim { now, lease_until: now.plus_millis(600_000), kinds: &[PLAIN], limit: CLAIM, per_pool: None };
        engine.store_mut().claim_jobs(&claim)
    };
    let t = Instant::now();
    let first_plain = plain_claim(&mut engine)?;
    let claim_plain = t.elapsed();

    let t = Instant::now();
    let (mut claimed, mut drained, mut claiming) = (first, 0usize, claim);
    while !claimed.is_empty() {
        for c in &claimed {
            ensure!(engine.record_attempt(c.ticket, c.delivery.id, &AttemptOutcome::Delivered { status: 204 })?);
            drained += 1;
        }
        let c = Instant::now();
        claimed = engine.claim_deliveries(CLAIM, CLAIM, lease)?;
        claiming += c.elapsed();
    }
    let drain = t.elapsed() + claim;
    let t = Instant::now();
    let (mut claimed, mut drained_plain) = (first_plain, 0usize);
    while !claimed.is_empty() {
        for job in &claimed {
            let now = engine.now();
            let mut tx = engine.store_mut().begin()?;
            ensure!(tx.finish_job(job.ticket(), &JobOutcome::Done, now)?);
            tx.commit()?;
            drained_plain += 1;
        }
        claimed = plain_claim(&mut engine)?;
    }
    let drain_plain = t.elapsed() + claim_plain;
    ensure!(
        drained == total && drained_plain == total,
        "drained {drained} deliveries, {drained_plain} jobs of {total}"
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let per = |d: Duration| ms(d) * 1e3 / total as f64;
    println!("{total} deliveries ({} leads x {} webhooks) beside {total} plain jobs", ids.len(), load.webhooks);
    println!(
        "queue: {:.0} ms ({:.1} us each) | plain jobs {:.0} ms ({:.1} us each) | ratio {:.2}",
        ms(queue),
        per(queue),
        ms(queue_plain),
        per(queue_plain),
        ms(queue) / ms(queue_plain)
    );
    println!(
        "one claim of {CLAIM} from the backlog: {:.1} ms | plain jobs {:.1} ms | ratio {:.2}",
        ms(claim),
        ms(claim_plain),
        ms(claim) / ms(claim_plain)
    );
    println!(
        "drain (claims of {CLAIM}, a durable record each): {:.0} ms ({:.0} us each; claims {:.0} ms) | plain jobs {:.0} ms ({:.0} us each) | ratio {:.2}",
        ms(drain),
        per(drain),
        ms(claiming),
        ms(drain_plain),
        per(drain_plain),
        ms(drain) / ms(drain_plain)
    );
    Ok(())
}
