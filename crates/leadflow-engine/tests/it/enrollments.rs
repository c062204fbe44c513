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

/// The nurture job needs a mailer; these sequences send nothing, so it is never reached.
struct NothingSent;

impl leadflow_engine::Mailer for NothingSent {
    fn send(&self, _: &leadflow_engine::OutgoingEmail) -> Result<(), leadflow_engine::MailError> {
        panic!("these sequences send nothing")
    }
}

fn nurture() -> leadflow_engine::NurtureSettings {
    leadflow_engine::NurtureSettings {
        every: std::time::Duration::from_secs(60),
        mailer: Arc::new(NothingSent),
        links: leadflow_engine::MailLinks::new("https://lf.example", "yourco.example", &"s".repeat(32)).unwrap(),
        team_sender: leadflow_core::template::Sender::default(),
        policy: leadflow_core::sequence::SendPolicy {
            cap: leadflow_core::sequence::FrequencyCap { max: 3, days: 7 },
            hours: leadflow_core::calendar::WeeklyHours::parse(["00:00-24:00"; 7]).unwrap(),
        },
        default_zone: chrono_tz::UTC,
    }
}

/// Two pricing views in a month enroll a lead; a lost deal quiet for a month is re-engaged; a
/// task and a stage step run for it, each once, however often the job runs.
#[test]
fn the_job_enrolls_by_rule_and_re_engages_lost_leads_gone_quiet() {
    let (mut engine, clock, _dir) = world();
    let interested = "name = \"interested\"\n[enroll]\n[[enroll.events]]\nevent = \"page_view\"\nurl_contains = \"/pricing\"\nat_least = 2\nwithin_days = 30\n[[steps]]\nid = \"call\"\ntask = { title = \"Call: looked at pricing twice\", due = \"1d\", kind = \"call\" }\n[[steps]]\nid = \"wait\"\nwait = { days = 7 }\n";
    let winback = "name = \"winback\"\n[enroll]\noutcomes = [\"lost\"]\nquiet_days = 30\n[[steps]]\nid = \"wait\"\nwait = { days = 14 }\n";
    engine.save_sequence(interested, true).unwrap();
    engine.save_sequence(winback, true).unwrap();
    for email in ["ana@acme.example", "bo@acme.example", "lea@acme.example"] {
        engine.upsert_lead(LeadInput::of(Profile::new(Email::parse(email).unwrap()))).unwrap();
    }
    let lead = |e: &str| LeadRef::Email(Email::parse(e).unwrap());
    let view = |e: &str, url: &str, at: &str| {
        let shape = leadflow_core::EventShape::new(leadflow_core::EventType::parse("page_view").unwrap())
            .with_property("url", url)
            .unwrap();
        leadflow_engine::EventInput { key: None, lead: lead(e), ts: t(at), shape }
    };
    clock.set(t("2026-06-20T10:00:00Z"));
    engine.track(view("ana@acme.example", "https://acme.example/pricing", "2026-06-10T10:00:00Z")).unwrap();
    engine.track(view("ana@acme.example", "/pricing?plan=pro", "2026-06-19T10:00:00Z")).unwrap();
    engine.track(view("bo@acme.example", "/pricing", "2026-06-19T10:00:00Z")).unwrap();
    let lost = leadflow_core::Outcome { kind: leadflow_core::OutcomeKind::Lost, at: t("2026-05-01T00:00:00Z") };
    engine.set_outcome(&lead("lea@acme.example"), Some(lost)).unwrap();

    // Lea, created on June 1st and lost in May, has been quiet for 30 days on July 1st.
    clock.set(t("2026-07-01T10:00:00Z"));
    let round = engine.run_nurture(&nurture()).unwrap();
    let all = engine.enrollments(&EnrollmentQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(round.enrolled, 2, "ana by her pricing views, lea as a quiet lost deal: {round:?} {all:?}");
    let of = |engine: &Engine<SqliteStore>, e: &str| {
        let lead = Some(engine.lead_id(&lead(e)).unwrap());
        let all = engine.enrollments(&EnrollmentQuery { lead, limit: 10, ..Default::default() }).unwrap();
        all.into_iter().map(|e| (e.sequence, e.enrolled_by, e.step)).collect::<Vec<_>>()
    };
    // Each waits out its last wait in the sequence.
    assert_eq!(of(&engine, "ana@acme.example"), [("interested".into(), "rule".into(), Some("(end)".into()))]);
    assert_eq!(of(&engine, "bo@acme.example"), [], "one view is not two");
    assert_eq!(of(&engine, "lea@acme.example"), [("winback".into(), "rule".into(), Some("(end)".into()))]);
    let tasks = leadflow_store::TaskReads::tasks(
        engine.store(),
        &leadflow_store::TaskQuery { limit: 10, ..Default::default() },
    )
    .unwrap();
    assert_eq!(tasks.len(), 1, "the call for ana");
    assert_eq!(
        (tasks[0].title.as_str(), tasks[0].created_by.as_deref()),
        ("Call: looked at pricing twice", Some("sequence:interested"))
    );

    // Again, and a day on: nobody enrolled twice, no second task.
    engine.run_nurture(&nurture()).unwrap();
    clock.set(t("2026-07-02T10:00:00Z"));
    let round = engine.run_nurture(&nurture()).unwrap();
    assert_eq!((round.enrolled, round.steps), (0, 0), "{round:?}");
    assert_eq!(
        leadflow_store::TaskReads::tasks(
            engine.store(),
            &leadflow_store::TaskQuery { limit: 10, ..Default::default() }
        )
        .unwrap()
        .len(),
        1
    );
    // Both last waits are over (ana's week, lea's fortnight): out, and not back (once each).
    clock.set(t("2026-07-15T10:00:01Z"));
    let round = engine.run_nurture(&nurture()).unwrap();
    assert_eq!((round.exited, round.enrolled), (2, 0), "{round:?}");
    let lea = engine.enrollments(&EnrollmentQuery { sequence: Some("winback".into()), limit: 1, ..Default::default() });
    assert_eq!(lea.unwrap()[0].exit_reason.as_deref(), Some("completed"));
}
