//! Enrolling leads in sequences by hand: once at a time, again only as the sequence's
//! `reenroll` says, from its first step at once; exits kept with why.

use std::sync::Arc;

use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_engine::{Engine, EngineError, FixedClock, LeadInput};
use leadflow_sqlite::SqliteStore;
use leadflow_store::EnrollmentQuery;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const PIPELINE: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");

/// A sequence of one email, with this re-enrollment policy.
fn sequence(name: &str, reenroll: &str) -> String {
    format!(
        "name = \"{name}\"\n{reenroll}\n[[steps]]\nid = \"hello\"\nsend = \"hello\"\n[[steps]]\nid = \"pause\"\nwait = {{ days = 2 }}\n"
    )
}

fn world() -> (Engine<SqliteStore>, Arc<FixedClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-06-01T10:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
    engine.ensure_model().unwrap();
    engine.save_pipeline(PIPELINE, true).unwrap();
    engine.save_template("name = \"hello\"\nsubject = \"Hi\"\ntext = \"Hello\"\n", true).unwrap();
    engine.save_sequence(&sequence("once", ""), true).unwrap();
    engine.save_sequence(&sequence("quarterly", "reenroll = \"after_exit\"\nreenroll_after_days = 90"), true).unwrap();
    engine.upsert_lead(LeadInput::of(Profile::new(Email::parse("kim@acme.example").unwrap()))).unwrap();
    (engine, clock, dir)
}

fn kim() -> LeadRef {
    LeadRef::Email(Email::parse("kim@acme.example").unwrap())
}

#[test]
fn a_lead_is_enrolled_once_at_a_time_and_again_as_the_sequence_says() {
    let (mut engine, clock, _dir) = world();
    let e = engine.enroll(&kim(), "quarterly", "cli").unwrap();
    assert_eq!(
        (e.step.as_deref(), e.due_at, e.enrolled_by.as_str()),
        (Some("hello"), Some(t("2026-06-01T10:00:00Z")), "cli")
    );
    assert!(matches!(engine.enroll(&kim(), "quarterly", "cli"), Err(EngineError::AlreadyEnrolled { .. })));
    let ended = engine.exit_enrollment(&kim(), "quarterly", "replied").unwrap();
    assert_eq!((ended.exited_at, ended.exit_reason.as_deref()), (Some(t("2026-06-01T10:00:00Z")), Some("replied")));
    assert!(matches!(engine.exit_enrollment(&kim(), "quarterly", "again"), Err(EngineError::NotEnrolled { .. })));

    // Ninety days after it left, not a millisecond before.
    clock.set(t("2026-08-30T09:59:59Z"));
    let refused = engine.enroll(&kim(), "quarterly", "cli").unwrap_err();
    assert_eq!(
        refused.to_string(),
        "lead 1 was in sequence `quarterly`: it may be enrolled again from 2026-08-30T10:00:00Z"
    );
    clock.set(t("2026-08-30T10:00:00Z"));
    engine.enroll(&kim(), "quarterly", "api:marketing").unwrap();

    // A sequence without `reenroll` takes a lead once.
    engine.enroll(&kim(), "once", "cli").unwrap();
    engine.exit_enrollment(&kim(), "once", "done").unwrap();
    clock.set(t("2027-08-30T10:00:00Z"));
    let refused = engine.enroll(&kim(), "once", "cli").unwrap_err();
    assert!(refused.to_string().ends_with("it enrolls a lead once"), "{refused}");

    let lead = Some(engine.lead_id(&kim()).unwrap());
    let all = engine.enrollments(&EnrollmentQuery { lead, limit: 10, ..Default::default() }).unwrap();
    let seen: Vec<(&str, bool)> = all.iter().map(|e| (e.sequence.as_str(), e.is_active())).collect();
    assert_eq!(seen, [("once", false), ("quarterly", true), ("quarterly", false)]);
}

#[test]
fn only_an_active_sequence_and_a_known_lead_are_enrolled() {
    let (mut engine, _clock, _dir) = world();
    assert!(matches!(engine.enroll(&kim(), "nothing", "cli"), Err(EngineError::NoSuchSequence(_))));
    engine.pause_sequence("once").unwrap();
    assert!(matches!(engine.enroll(&kim(), "once", "cli"), Err(EngineError::NoSuchSequence(_))), "paused");
    let nobody = LeadRef::Email(Email::parse("nobody@acme.example").unwrap());
    assert!(matches!(engine.enroll(&nobody, "quarterly", "cli"), Err(EngineError::NoSuchLead(_))));
}
