//! The SQLite store passes the shared storage conformance suite, and keeps what it commits.

use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_sqlite::{SCHEMA_VERSION, SqliteStore};
use leadflow_store::StoreError;
use leadflow_store::prelude::*;

/// The shared suite, one test per check.
mod conformance {
    use leadflow_sqlite::SqliteStore;

    fn fresh() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (SqliteStore::open(&dir.path().join("conformance.db")).unwrap(), dir)
    }

    leadflow_store::conformance_tests!(fresh);
}

#[test]
fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leadflow.db");
    let now = Timestamp::parse("2026-07-01").unwrap();
    {
        let mut s = SqliteStore::open(&path).unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("kept@example.com").unwrap()), now, now).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("lost@example.com").unwrap()), now, now).unwrap();
        drop(tx);
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("kept@example.com").unwrap())).unwrap().is_some());
    assert!(s.lead(&LeadRef::Email(Email::parse("lost@example.com").unwrap())).unwrap().is_none());
}

#[test]
fn refuses_a_database_from_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leadflow.db");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite_set_user_version(&path, 99);
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found: 99, known }) if known == SCHEMA_VERSION => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

fn rusqlite_set_user_version(path: &std::path::Path, v: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "user_version", v).unwrap();
}

/// A database made by an earlier version (schema 1) is upgraded in place, keeping its data.
#[test]
fn upgrades_an_older_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_initial.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO leads (id, email, stage, created_at, updated_at) VALUES (7, 'old@example.com', 'lead', 0, 0)",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO scores (lead_id) VALUES (7)", []).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("old@example.com").unwrap())).unwrap().is_some());
    assert!(s.api_keys().unwrap().is_empty(), "the new table is there");
}

/// Schema 8: a lead an earlier version gave a made-up `<id>@no-email.invalid` address loses it
/// and is named by the CRM id it kept as `custom.external_id`; a real address stays; a second
/// lead with the same id keeps it as a custom field; pending webhook deliveries name the lead
/// the same way; deleted ids stay used.
#[test]
fn made_up_addresses_become_external_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &leadflow_sqlite::MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 7).unwrap();
        let id = |x: &str| {
            format!(r#"{{"external_id":{{"type":"text","value":"{x}"}},"plan":{{"type":"text","value":"pro"}}}}"#)
        };
        for (email, custom) in [
            ("7927b2df-8bba@no-email.invalid", id("7927b2df-8bba")),
            ("ana@acme.example", id("00Q5gA")),
            ("twin@acme.example", id("00Q5gA")),
            ("plain@acme.example", "{}".to_string()),
            ("gone@acme.example", "{}".to_string()),
        ] {
            conn.execute(
                "INSERT INTO leads (email, stage, custom, created_at, updated_at) VALUES (?1, 'lead', ?2, 0, 0)",
                [email, &custom],
            )
            .unwrap();
            conn.execute("INSERT INTO scores (lead_id) VALUES (last_insert_rowid())", []).unwrap();
        }
        conn.execute("DELETE FROM leads WHERE email = 'gone@acme.example'", []).unwrap();
        conn.execute(
            "INSERT INTO webhooks (url, secret, topics, created_at) VALUES ('http://x', 's', 'lead.mql', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO webhook_deliveries (webhook_id, topic, lead_id, email, occurred_at, fit, engagement, total,
                 bucket, grade, status, next_attempt_at)
             VALUES (1, 'lead.mql', 1, '7927b2df-8bba@no-email.invalid', 0, 1, 2, 3, 'hot', 'A', 'pending', 0)",
            [],
        )
        .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let external = |x: &str| LeadRef::External(leadflow_core::ExternalId::parse(x).unwrap());
    let crm = s.lead(&external("7927b2df-8bba")).unwrap().expect("named by its CRM id");
    assert_eq!((crm.id.0, crm.profile.email.as_ref()), (1, None));
    assert_eq!(crm.profile.custom.keys().collect::<Vec<_>>(), ["plan"]);
    let ana = s.lead(&external("00Q5gA")).unwrap().unwrap();
    assert_eq!(ana.profile.email.as_ref().map(Email::as_str), Some("ana@acme.example"));
    let twin = s.lead(&LeadRef::Email(Email::parse("twin@acme.example").unwrap())).unwrap().unwrap();
    assert_eq!((twin.profile.external_id.as_ref(), twin.profile.custom.len()), (None, 2));
    let claim = leadflow_store::DeliveryClaim {
        now: Timestamp::from_millis(1),
        lease_until: Timestamp::from_millis(1),
        per_webhook: 10,
        limit: 10,
    };
    let due = s.claim_deliveries(&claim).unwrap();
    let n = &due[0].delivery.notification;
    assert_eq!((n.email.as_ref(), n.external_id.as_ref().map(|x| x.as_str())), (None, Some("7927b2df-8bba")));
    let mut tx = s.begin().unwrap();
    let new = tx
        .insert_lead(
            None,
            &Profile::new(Email::parse("new@acme.example").unwrap()),
            Timestamp::from_millis(0),
            Timestamp::from_millis(0),
        )
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(new.0, 6, "the deleted lead's id 5 is not given again");
}

/// Migration 0022 moves every delivery onto the job queue with its state: a pending one stays
/// due (its lane and pool with it), a finished one keeps how it ended, and ids are never given
/// again.
#[test]
fn deliveries_become_jobs_of_the_queue() {
    use leadflow_store::{DeliveryClaim, DeliveryStatus, JobQuery, JobStatus};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &leadflow_sqlite::MIGRATIONS[..21] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 21).unwrap();
        conn.execute_batch(
            "INSERT INTO webhooks (url, secret, topics, created_at) VALUES ('http://x', 's', 'lead.mql lead.created', 0);
             INSERT INTO webhook_deliveries (id, webhook_id, topic, lead_id, occurred_at, status, attempts,
                 next_attempt_at, last_status, last_error, delivered_at)
             VALUES (1, 1, 'lead.created', 7, 10, 'delivered', 2, 30, 200, NULL, 40),
                    (2, 1, 'lead.mql', 7, 20, 'pending', 1, 100, 503, 'busy', NULL),
                    (3, 1, 'lead.mql', 8, 20, 'cancelled', 0, 20, NULL, NULL, NULL),
                    (4, 1, 'lead.mql', 9, 25, 'failed', 10, 90, NULL, 'refused', NULL);",
        )
        .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    // Id, status, attempts, the receiver's last status, when delivered.
    type Listed = (i64, DeliveryStatus, u32, Option<u16>, Option<Timestamp>);
    let listed: Vec<Listed> = s
        .deliveries(1, 10)
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.status, d.attempts, d.last_status, d.delivered_at))
        .collect();
    let at = Timestamp::from_millis;
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
    let claim = |now: i64| DeliveryClaim { now: at(now), lease_until: at(now + 1), per_webhook: 10, limit: 10 };
    assert!(s.claim_deliveries(&claim(99)).unwrap().is_empty(), "the retry's time stands");
    let due = s.claim_deliveries(&claim(100)).unwrap();
    assert_eq!((due.len(), due[0].delivery.id, due[0].ticket.attempt), (1, 2, 2));

    let mut tx = s.begin().unwrap();
    assert_eq!(tx.prune_jobs(at(1_000), 100).unwrap(), 3, "the delivered, the cancelled and the failed");
    tx.notify(&leadflow_store::Notification {
        topic: leadflow_core::Topic::LeadCreated,
        lead: leadflow_core::LeadId(9),
        email: None,
        external_id: None,
        at: at(200),
        score: None,
        previous_bucket: None,
        detail: None,
    })
    .unwrap();
    tx.commit().unwrap();
    let left: Vec<i64> = s.deliveries(1, 10).unwrap().iter().map(|d| d.id).collect();
    assert_eq!(left, [5, 2], "the pruned deliveries went with their jobs, and id 4 is not given again");
}

/// A delivery job whose delivery row is gone (a hand-edited database) is given up at its claim,
/// and `verify` names it, rather than every claim failing on it.
#[test]
fn a_delivery_job_without_its_delivery_is_given_up() {
    use leadflow_store::{DeliveryClaim, JobQuery, JobStatus};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orphan.db");
    let mut s = SqliteStore::open(&path).unwrap();
    let at = Timestamp::from_millis;
    let mut tx = s.begin().unwrap();
    tx.create_webhook("https://a.example/hook", "s", &[leadflow_core::Topic::LeadCreated], at(0)).unwrap();
    for lead in [1, 2] {
        tx.notify(&leadflow_store::Notification {
            topic: leadflow_core::Topic::LeadCreated,
            lead: leadflow_core::LeadId(lead),
            email: None,
            external_id: None,
            at: at(10),
            score: None,
            previous_bucket: None,
            detail: None,
        })
        .unwrap();
    }
    tx.commit().unwrap();
    rusqlite::Connection::open(&path).unwrap().execute("DELETE FROM webhook_deliveries WHERE id = 1", []).unwrap();
    assert_eq!(s.verify().unwrap(), ["1 delivery jobs of no delivery"]);
    let claim = DeliveryClaim { now: at(20), lease_until: at(30), per_webhook: 10, limit: 10 };
    let claimed = s.claim_deliveries(&claim).unwrap();
    assert_eq!(claimed.iter().map(|c| c.delivery.id).collect::<Vec<_>>(), [2], "the other one goes");
    let failed = s.jobs(&JobQuery { kind: None, status: Some(JobStatus::Failed), limit: 10 }).unwrap();
    assert_eq!((failed.len(), failed[0].key.as_str()), (1, "1"));
    assert_eq!(failed[0].last_error.as_deref(), Some("its delivery is gone"));
}
