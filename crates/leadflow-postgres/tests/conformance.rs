//! The PostgreSQL store passes the shared storage conformance suite, each check in a schema of
//! its own on the server `LEADFLOW_TEST_PG_URL` names (`scripts/test` starts a throwaway one).

use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_postgres::testing::Schema;
use leadflow_postgres::{PgStore, SCHEMA_VERSION};
use leadflow_store::prelude::*;

/// The shared suite, one test per check.
mod conformance {
    use leadflow_postgres::PgStore;
    use leadflow_postgres::testing::Schema;

    fn fresh() -> (PgStore, Schema) {
        let schema = Schema::create();
        (PgStore::open(&schema.url()).unwrap(), schema)
    }

    leadflow_store::conformance_tests!(fresh);
}

#[test]
fn committed_data_survives_reconnecting_and_a_dropped_transaction_leaves_nothing() {
    let schema = Schema::create();
    let now = Timestamp::parse("2026-07-01").unwrap();
    {
        let mut s = PgStore::open(&schema.url()).unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("kept@example.com").unwrap()), now, now).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("lost@example.com").unwrap()), now, now).unwrap();
        drop(tx);
    }
    let s = PgStore::open_reader(&schema.url()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("kept@example.com").unwrap())).unwrap().is_some());
    assert!(s.lead(&LeadRef::Email(Email::parse("lost@example.com").unwrap())).unwrap().is_none());
}

/// TLS as the URL's `sslmode` asks, the server's certificate verified (scripts/test's server has
/// one from a CA of its own, in PGSSLROOTCERT).
#[test]
fn connections_are_encrypted_as_the_url_asks() {
    let schema = Schema::create();
    let with = |mode: &str| format!("{}&sslmode={mode}", schema.url());
    assert!(PgStore::open(&with("require")).unwrap().encrypted().unwrap());
    assert!(PgStore::open(&with("prefer")).unwrap().encrypted().unwrap(), "taken when offered");
    assert!(!PgStore::open(&with("disable")).unwrap().encrypted().unwrap());
}

/// Servers that start together on a new database migrate it once between them.
#[test]
fn servers_starting_together_migrate_once() {
    let schema = Schema::create();
    let url = schema.url();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for handle in opened {
        assert_eq!(handle.join().unwrap().unwrap(), SCHEMA_VERSION);
    }
}

/// What only matters with several servers: each on its own connection, at the same time.
mod concurrency {
    use std::collections::HashSet;

    use leadflow_core::Grade;
    use leadflow_core::{Email, EventKey, EventShape, EventType, LeadId, Profile, Timestamp, Topic};
    use leadflow_postgres::PgStore;
    use leadflow_postgres::testing::Schema;
    use leadflow_store::prelude::*;
    use leadflow_store::{DeliveryClaim, Inserted, NewEvent, Notification, ScoreValues};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    /// Two senders claiming the same due deliveries at once: each goes to one of them.
    #[test]
    fn two_senders_never_claim_the_same_delivery() {
        let schema = Schema::create();
        let mut s = PgStore::open(&schema.url()).unwrap();
        let mut tx = s.begin().unwrap();
        tx.create_webhook("https://a.example/hook", "s", &[Topic::LeadCreated], t("2026-03-01")).unwrap();
        for i in 0..300 {
            let lead = tx
                .insert_lead(
                    None,
                    &Profile::new(Email::parse(&format!("l{i}@example.com")).unwrap()),
                    t("2026-03-01"),
                    t("2026-03-01"),
                )
                .unwrap();
            let score = ScoreValues { fit: 0.0, engagement: 0.0, total: 0.0, bucket: "cold".into(), grade: Grade::F };
            let n = Notification {
                topic: Topic::LeadCreated,
                lead,
                email: None,
                external_id: None,
                at: t("2026-03-02"),
                score: Some(score),
                previous_bucket: None,
                detail: None,
            };
            tx.notify(&n).unwrap();
        }
        tx.commit().unwrap();
        let senders: Vec<_> = (0..2)
            .map(|_| {
                let url = schema.url();
                std::thread::spawn(move || {
                    let mut s = PgStore::open(&url).unwrap();
                    let mut mine = Vec::new();
                    loop {
                        let claim = DeliveryClaim {
                            now: t("2026-03-03"),
                            lease_until: t("2026-03-04"),
                            per_webhook: 1000,
                            limit: 7,
                        };
                        let got = s.claim_deliveries(&claim).unwrap();
                        if got.is_empty() {
                            return mine;
                        }
                        mine.extend(got.into_iter().map(|c| c.delivery.id));
                    }
                })
            })
            .collect();
        let claimed: Vec<Vec<i64>> = senders.into_iter().map(|h| h.join().unwrap()).collect();
        let all: HashSet<i64> = claimed.iter().flatten().copied().collect();
        assert_eq!(all.len(), 300, "every delivery is claimed");
        assert_eq!(claimed[0].len() + claimed[1].len(), 300, "and by one sender only");
    }

    /// Four servers claiming from one queue at once, each holding its claim's rows locked while
    /// the others claim: every job goes to one of them, none twice, and none waits on another.
    #[test]
    fn servers_claiming_jobs_at_once_each_get_their_own() {
        use leadflow_store::{JobClaim, JobReads, JobWrites, NewJob};
        let schema = Schema::create();
        let mut s = PgStore::open(&schema.url()).unwrap();
        let mut tx = s.begin().unwrap();
        for i in 0..400 {
            let key = i.to_string();
            let job = NewJob::new("sweep", &key, t("2026-03-01"), "{}", 3);
            tx.enqueue_job(&job, t("2026-03-01")).unwrap();
        }
        tx.commit().unwrap();
        let servers = 4;
        let start = std::sync::Arc::new(std::sync::Barrier::new(servers));
        let claimers: Vec<_> = (0..servers)
            .map(|_| {
                let (url, start) = (schema.url(), start.clone());
                std::thread::spawn(move || {
                    let mut s = PgStore::open(&url).unwrap();
                    start.wait();
                    let mut mine = Vec::new();
                    loop {
                        let claim = JobClaim {
                            now: t("2026-03-01T09:00:00Z"),
                            lease_until: t("2026-03-01T10:00:00Z"),
                            kinds: &["sweep"],
                            limit: 7,
                            per_pool: None,
                        };
                        let claimed = s.claim_jobs(&claim).unwrap();
                        if claimed.is_empty() {
                            return mine;
                        }
                        mine.extend(claimed.into_iter().map(|j| j.id));
                    }
                })
            })
            .collect();
        let claimed: Vec<Vec<i64>> = claimers.into_iter().map(|h| h.join().unwrap()).collect();
        let all: HashSet<i64> = claimed.iter().flatten().copied().collect();
        assert_eq!(all.len(), 400, "every job is claimed");
        assert_eq!(claimed.iter().map(Vec::len).sum::<usize>(), 400, "and by one server only");
    }

    /// Two writers at once, on leads of their own and on the same ones: nothing is lost, no key
    /// is given twice, and an event sent by both is stored once.
    #[test]
    fn two_writers_at_once_lose_nothing() {
        let schema = Schema::create();
        drop(PgStore::open(&schema.url()).unwrap());
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let url = schema.url();
                std::thread::spawn(move || {
                    let mut s = PgStore::open(&url).unwrap();
                    let shape = EventShape::new(EventType::parse("page_view").unwrap());
                    let mut new = 0;
                    for i in 0..200 {
                        let mut tx = s.begin().unwrap();
                        let own = tx
                            .insert_lead(
                                None,
                                &Profile::new(Email::parse(&format!("w{w}-{i}@example.com")).unwrap()),
                                t("2026-03-01"),
                                t("2026-03-01"),
                            )
                            .unwrap();
                        let shared = match tx.insert_lead(
                            None,
                            &Profile::new(Email::parse(&format!("both-{i}@example.com")).unwrap()),
                            t("2026-03-01"),
                            t("2026-03-01"),
                        ) {
                            Ok(id) => id,
                            Err(leadflow_store::StoreError::DuplicateEmail(_)) => tx
                                .resolve_lead(&leadflow_core::LeadRef::Email(
                                    Email::parse(&format!("both-{i}@example.com")).unwrap(),
                                ))
                                .unwrap()
                                .unwrap(),
                            Err(e) => panic!("{e}"),
                        };
                        for (key, lead) in [(format!("own-{w}-{i}"), own), (format!("both-{i}"), shared)] {
                            let e = NewEvent {
                                key: EventKey::parse(&key).unwrap(),
                                lead,
                                ts: t("2026-03-02"),
                                shape: shape.clone(),
                            };
                            if tx.insert_event(&e, t("2026-03-02")).unwrap() == Inserted::New {
                                new += 1;
                            }
                        }
                        tx.commit().unwrap();
                    }
                    new
                })
            })
            .collect();
        let mut stored = 0;
        for h in writers {
            // A unique key taken by the other writer's uncommitted row waits for it, then fails
            // as a duplicate: the retry above resolves it. A real conflict would have panicked.
            stored += h.join().unwrap();
        }
        let s = PgStore::open_reader(&schema.url()).unwrap();
        let stats = s.stats().unwrap();
        assert_eq!(stats.leads, 600, "two own leads per round, one shared");
        assert_eq!(stats.events, 600, "two own events per round, one shared");
        assert_eq!(stored, 600, "each event counted new once");
        assert!(s.lead(&leadflow_core::LeadRef::Id(LeadId(1))).unwrap().is_some());
        assert_eq!(s.verify().unwrap(), Vec::<String>::new());
    }
}

/// A statement that runs past the statement timeout is stopped by the server, and the unit of
/// work fails with `TimedOut` (here it waits on a lead another unit of work holds, which the
/// timeout counts as running; the lock wait alone would allow it much longer).
#[test]
fn a_statement_past_the_timeout_is_stopped() {
    use leadflow_store::{Backend, ModelVersion, StoreError};
    use std::time::Duration;
    let schema = Schema::create();
    let now = Timestamp::parse("2026-07-01").unwrap();
    let (mut holder, mut waiter) = (PgStore::open(&schema.url()).unwrap(), PgStore::open(&schema.url()).unwrap());
    let mut tx = holder.begin().unwrap();
    let lead = tx.insert_lead(None, &Profile::new(Email::parse("held@example.com").unwrap()), now, now).unwrap();
    tx.commit().unwrap();
    waiter.set_write_wait(Duration::from_secs(30)).unwrap();
    waiter.set_statement_timeout(Some(Duration::from_millis(200))).unwrap();

    let mut held = holder.begin().unwrap();
    held.hold_for_scoring(&[lead], ModelVersion(1)).unwrap();
    let started = std::time::Instant::now();
    let mut tx = waiter.begin().unwrap();
    assert!(matches!(tx.hold_for_scoring(&[lead], ModelVersion(1)), Err(StoreError::TimedOut)));
    drop(tx);
    assert!(started.elapsed() < Duration::from_secs(10), "stopped by the statement timeout, not the lock wait");
    drop(held);

    // Without a timeout the same statement runs as long as it needs.
    waiter.set_statement_timeout(None).unwrap();
    let mut tx = waiter.begin().unwrap();
    assert!(tx.hold_for_scoring(&[lead], ModelVersion(1)).unwrap()[0].is_some());
}

/// Two units of work that each hold a lead the other wants: PostgreSQL breaks the deadlock by
/// failing one, which the ports say as `Conflict` (safe to run again, and the engine does), while
/// the other goes on.
#[test]
fn a_deadlock_fails_one_side_as_a_conflict() {
    use leadflow_store::{ModelVersion, StoreError};
    let schema = Schema::create();
    let now = Timestamp::parse("2026-07-01").unwrap();
    let mut setup = PgStore::open(&schema.url()).unwrap();
    let mut tx = setup.begin().unwrap();
    let a = tx.insert_lead(None, &Profile::new(Email::parse("a@example.com").unwrap()), now, now).unwrap();
    let b = tx.insert_lead(None, &Profile::new(Email::parse("b@example.com").unwrap()), now, now).unwrap();
    tx.commit().unwrap();

    let both_hold_one = std::sync::Arc::new(std::sync::Barrier::new(2));
    let side = |first: leadflow_core::LeadId, then: leadflow_core::LeadId| {
        let (url, both_hold_one) = (schema.url(), both_hold_one.clone());
        std::thread::spawn(move || {
            let mut store = PgStore::open(&url).unwrap();
            let mut tx = store.begin().unwrap();
            tx.hold_for_scoring(&[first], ModelVersion(1)).unwrap();
            both_hold_one.wait();
            let outcome = tx.hold_for_scoring(&[then], ModelVersion(1)).map(drop);
            // The side that lost rolls back here, which lets the other go on.
            drop(tx);
            outcome
        })
    };
    let (one, other) = (side(a, b), side(b, a));
    let mut outcomes = [one.join().unwrap(), other.join().unwrap()];
    outcomes.sort_by_key(Result::is_ok);
    assert!(matches!(outcomes[0], Err(StoreError::Conflict)), "{outcomes:?}");
    assert!(outcomes[1].is_ok(), "{outcomes:?}");
}

/// Migration 0014 moves every delivery onto the job queue with its state: a pending one stays
/// due (its lane and pool with it), a finished one keeps how it ended.
#[test]
fn deliveries_become_jobs_of_the_queue() {
    use leadflow_store::{DeliveryClaim, DeliveryStatus, JobQuery, JobStatus};
    let schema = Schema::create();
    {
        let mut old = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
        old.batch_execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ)")
            .unwrap();
        for (i, sql) in leadflow_postgres::MIGRATIONS[..13].iter().enumerate() {
            old.batch_execute(sql).unwrap();
            old.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i64 + 1)]).unwrap();
        }
        old.batch_execute(
            "INSERT INTO webhooks (url, secret, topics, created_at) VALUES ('http://x', 's', 'lead.mql', 0);
             INSERT INTO webhook_deliveries (webhook_id, topic, lead_id, occurred_at, status, attempts,
                 next_attempt_at, last_status, last_error, delivered_at)
             VALUES (1, 'lead.created', 7, 10, 'delivered', 2, 30, 200, NULL, 40),
                    (1, 'lead.mql', 7, 20, 'pending', 1, 100, 503, 'busy', NULL),
                    (1, 'lead.mql', 8, 20, 'cancelled', 0, 20, NULL, NULL, NULL),
                    (1, 'lead.mql', 9, 25, 'failed', 10, 90, NULL, 'refused', NULL);",
        )
        .unwrap();
    }
    let mut s = PgStore::open(&schema.url()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let at = Timestamp::from_millis;
    // Id, status, attempts, the receiver's last status, when delivered.
    type Listed = (i64, DeliveryStatus, u32, Option<u16>, Option<Timestamp>);
    let listed: Vec<Listed> = s
        .deliveries(1, 10)
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.status, d.attempts, d.last_status, d.delivered_at))
        .collect();
    assert_eq!(
        listed,
        [
            (4, DeliveryStatus::Failed, 10, None, None),
            (3, DeliveryStatus::Cancelled, 0, None, None),
            (2, DeliveryStatus::Pending, 1, Some(503), None),
            (1, DeliveryStatus::Delivered, 2, Some(200), Some(at(40))),
        ]
    );
    let jobs = s.jobs(&JobQuery { kind: Some("webhook-delivery".into()), status: None, limit: 10 }).unwrap();
    let pending = jobs.iter().find(|j| j.key == "2").unwrap();
    assert_eq!(
        (pending.status, pending.due_at, pending.last_error.as_deref()),
        (JobStatus::Pending, at(100), Some("busy"))
    );
    assert_eq!((pending.lane.as_deref(), pending.pool.as_deref()), (Some("webhook:1:lead:7"), Some("webhook:1")));
    assert_eq!(pending.payload, r#"{"webhook":1,"topic":"lead.mql"}"#);
    let claim = |now: i64| DeliveryClaim { now: at(now), lease_until: at(now + 1), per_webhook: 10, limit: 10 };
    assert!(s.claim_deliveries(&claim(99)).unwrap().is_empty(), "the retry's time stands");
    let due = s.claim_deliveries(&claim(100)).unwrap();
    assert_eq!((due.len(), due[0].delivery.id, due[0].ticket.attempt), (1, 2, 2));
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.prune_jobs(at(1_000), 100).unwrap(), 3, "the delivered, the cancelled and the failed");
    tx.commit().unwrap();
    assert_eq!(s.deliveries(1, 10).unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), [2]);
}

/// A delivery job whose delivery row is gone (a hand-edited database) is given up at its claim,
/// and `verify` names it, rather than holding up the claims' other deliveries.
#[test]
fn a_delivery_job_without_its_delivery_is_given_up() {
    use leadflow_core::{LeadId, Topic};
    use leadflow_store::{DeliveryClaim, JobQuery, JobStatus, Notification};
    let schema = Schema::create();
    let mut s = PgStore::open(&schema.url()).unwrap();
    let at = Timestamp::from_millis;
    let mut tx = s.begin().unwrap();
    tx.create_webhook("https://a.example/hook", "s", &[Topic::LeadCreated], at(0)).unwrap();
    for lead in [1, 2] {
        let n = Notification {
            topic: Topic::LeadCreated,
            lead: LeadId(lead),
            email: None,
            external_id: None,
            at: at(10),
            score: None,
            previous_bucket: None,
            detail: None,
        };
        tx.notify(&n).unwrap();
    }
    tx.commit().unwrap();
    let mut raw = postgres::Client::connect(&schema.url(), postgres::NoTls).unwrap();
    let first: i64 = raw.query_one("SELECT min(id) FROM webhook_deliveries", &[]).unwrap().get(0);
    raw.execute("DELETE FROM webhook_deliveries WHERE id = $1", &[&first]).unwrap();
    assert_eq!(s.verify().unwrap(), ["1 delivery jobs of no delivery"]);
    let claim = DeliveryClaim { now: at(20), lease_until: at(30), per_webhook: 10, limit: 10 };
    let claimed = s.claim_deliveries(&claim).unwrap();
    assert_eq!(claimed.iter().map(|c| c.delivery.id).collect::<Vec<_>>(), [first + 1], "the other one goes");
    let failed = s.jobs(&JobQuery { kind: None, status: Some(JobStatus::Failed), limit: 10 }).unwrap();
    assert_eq!((failed.len(), failed[0].last_error.as_deref()), (1, Some("its delivery is gone")));
}
