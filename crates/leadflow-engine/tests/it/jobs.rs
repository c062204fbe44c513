//! The job queue through the engine and the real store: scheduled rescores and sweeps as chains
//! of slot jobs, claims that die, servers that start together.

use leadflow_store::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use leadflow_core::{Email, EventShape, EventType, LeadRef, Profile, Timestamp};
use leadflow_engine::{Clock, Engine, EventInput, FixedClock, JobKind, JobSettings, LeadInput, Quiet};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{JobClaim, JobQuery, JobStatus};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const HOURLY_RESCORE: JobSettings = JobSettings {
    rescore_every: Some(Duration::from_secs(3_600)),
    anonymous_retention_days: None,
    keep_finished_days: 7,
    pipeline_sweep_every: None,
    digest: None,
    nurture: None,
};

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("t.db")).unwrap(), clock.clone());
    engine.apply_model(leadflow_core::model::DEFAULT_MODEL_SOURCE, &Quiet).unwrap();
    World { engine, clock, dir }
}

impl World {
    fn another_server(&self) -> Engine<SqliteStore> {
        Engine::new(SqliteStore::open(&self.dir.path().join("t.db")).unwrap(), self.clock.clone())
    }

    fn jobs(&self, status: JobStatus) -> Vec<(String, String)> {
        let query = JobQuery { kind: None, status: Some(status), limit: 100 };
        let mut jobs: Vec<_> = self.engine.jobs(&query).unwrap().into_iter().map(|j| (j.kind, j.key)).collect();
        jobs.sort();
        jobs
    }
}

fn slot(at: &str) -> String {
    (t(at).millis() / 3_600_000).to_string()
}

/// An engaged lead: its points come from a pricing page view, which fades with time.
fn engaged_lead(w: &mut World) -> f64 {
    let email = Email::parse("ana@acme.example").unwrap();
    w.engine
        .upsert_lead(LeadInput {
            id: None,
            profile: Profile::new(email.clone()),
            created_at: None,
            outcome: None,
            clear: Vec::new(),
            identities: Vec::new(),
        })
        .unwrap();
    let shape = EventShape::new(EventType::parse("page_view").unwrap()).with_property("url", "/pricing").unwrap();
    let event = EventInput { key: None, lead: LeadRef::Email(email), ts: w.clock.now(), shape };
    w.engine.track(event).unwrap();
    total(w)
}

fn total(w: &World) -> f64 {
    let lead = w.engine.store().lead(&LeadRef::Email(Email::parse("ana@acme.example").unwrap())).unwrap().unwrap();
    lead.score.unwrap().values.total
}

#[test]
fn a_scheduled_rescore_lets_points_fade_without_anybody_asking() {
    let mut w = world();
    let fresh = engaged_lead(&mut w);
    w.engine.schedule_jobs(&HOURLY_RESCORE).unwrap();
    w.clock.set(t("2026-07-31T09:30:00Z"));
    assert_eq!(total(&w), fresh, "nothing rescored yet");
    // The slot queued at the start is due: it runs, and so does nobody else's.
    let round = w.engine.run_due_jobs(&HOURLY_RESCORE, 10).unwrap();
    assert_eq!((round.done, round.retried, round.failed, round.lost), (2, 0, 0, 0), "the rescore and the pruning");
    assert!(total(&w) < fresh, "sixty days on, the page view counts less: {} < {fresh}", total(&w));
    assert_eq!(
        w.jobs(JobStatus::Pending),
        [
            ("prune-jobs".to_string(), (t("2026-07-31T09:30:00Z").millis() / 86_400_000 + 1).to_string()),
            ("rescore".to_string(), slot("2026-07-31T10:00:00Z"))
        ],
        "each chain's next slot, after now (the missed ones are not run one by one)"
    );
    assert_eq!(w.engine.run_due_jobs(&HOURLY_RESCORE, 10).unwrap().done, 0, "not due again until ten");
}

#[test]
fn servers_starting_together_queue_each_slot_once() {
    let mut w = world();
    let mut other = w.another_server();
    w.engine.schedule_jobs(&HOURLY_RESCORE).unwrap();
    other.schedule_jobs(&HOURLY_RESCORE).unwrap();
    w.clock.set(t("2026-06-01T09:59:59Z"));
    other.schedule_jobs(&HOURLY_RESCORE).unwrap();
    let pending = w.jobs(JobStatus::Pending);
    assert_eq!(pending.iter().filter(|(kind, _)| kind == "rescore").count(), 1, "{pending:?}");
    let (mine, theirs) =
        (w.engine.run_due_jobs(&HOURLY_RESCORE, 10).unwrap(), other.run_due_jobs(&HOURLY_RESCORE, 10).unwrap());
    assert_eq!(mine.done + theirs.done, 2, "each job runs on one of them: {mine:?} {theirs:?}");
}

#[test]
fn a_job_whose_claimer_died_runs_again_once_its_lease_is_over_and_only_then() {
    let mut w = world();
    let fresh = engaged_lead(&mut w);
    w.engine.schedule_jobs(&HOURLY_RESCORE).unwrap();
    w.clock.set(t("2026-07-31T09:00:00Z"));
    // A server claims the rescore and dies before finishing it (its claim committed, nothing else).
    let mut dead = w.another_server();
    let now = w.clock.now();
    let claim = JobClaim {
        now,
        lease_until: now.plus_millis(30 * 60_000),
        kinds: &[JobKind::Rescore.as_str()],
        limit: 1,
        per_pool: None,
    };
    let claimed = dead.store_mut().claim_jobs(&claim).unwrap();
    assert_eq!(claimed.len(), 1);
    drop(dead);

    w.clock.set(t("2026-07-31T09:20:00Z"));
    let round = w.engine.run_due_jobs(&HOURLY_RESCORE, 10).unwrap();
    assert_eq!(round.done, 1, "only the pruning: the rescore is still the dead server's");
    assert_eq!(total(&w), fresh);

    w.clock.set(t("2026-07-31T09:31:00Z"));
    let round = w.engine.run_due_jobs(&HOURLY_RESCORE, 10).unwrap();
    assert_eq!(round.done, 1, "its lease is over: run again, here");
    assert!(total(&w) < fresh);
    let rescores = w.engine.jobs(&JobQuery { kind: Some("rescore".into()), status: None, limit: 10 }).unwrap();
    let done: Vec<_> = rescores.iter().filter(|j| j.status == JobStatus::Done).collect();
    assert_eq!((done.len(), done[0].attempts), (1, 2), "done once, on its second attempt");
    assert_eq!(
        w.jobs(JobStatus::Pending).iter().filter(|(k, _)| k == "rescore").count(),
        1,
        "and the chain goes on once"
    );
}

#[test]
fn a_sweep_turned_off_is_not_run() {
    let mut w = world();
    let off = JobSettings {
        rescore_every: None,
        anonymous_retention_days: None,
        keep_finished_days: 7,
        pipeline_sweep_every: None,
        digest: None,
        nurture: None,
    };
    w.engine.schedule_jobs(&off).unwrap();
    assert_eq!(
        w.jobs(JobStatus::Pending),
        [("prune-jobs".to_string(), (t("2026-06-01").millis() / 86_400_000).to_string())]
    );
}
