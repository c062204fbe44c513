//! Follow-up tasks through the engine: what is due today is each owner's day, done is done
//! once, sales changes only its own, and leads being worked without a next step are listed.

use std::sync::Arc;

use leadflow_core::task::{Priority, TaskKind, TaskStatus, TaskTitle};
use leadflow_core::team::{User, UserName, UserSpec};
use leadflow_core::{Actor, Email, LeadRef, Profile, Role, Timestamp};
use leadflow_engine::{AddTask, Due, Engine, EngineError, FixedClock, LeadInput, StageMove, TaskChange, TaskList};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{ChangeCause, ChangeOrigin};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

const ADMIN: Actor<'static> = Actor { role: Role::Admin, name: "" };

fn world() -> (Engine<SqliteStore>, Arc<FixedClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // 22:30 UTC: already tomorrow in Tokyo, still today in New York.
    let clock = Arc::new(FixedClock::new(t("2026-06-01T22:30:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
    engine.ensure_model().unwrap();
    for (name, zone) in [("yui", "Asia/Tokyo"), ("joe", "America/New_York")] {
        engine.put_user(&User::build(UserSpec::new(name, zone)).unwrap()).unwrap();
    }
    for (email, owner) in [("a@x.example", "yui"), ("b@x.example", "joe")] {
        let mut profile = Profile::new(Email::parse(email).unwrap());
        profile.owner = Some(owner.into());
        engine.upsert_lead(LeadInput::of(profile)).unwrap();
    }
    (engine, clock, dir)
}

fn lead(email: &str) -> LeadRef {
    LeadRef::Email(Email::parse(email).unwrap())
}

fn add(engine: &mut Engine<SqliteStore>, email: &str, due: &str) -> i64 {
    let task = AddTask {
        lead: lead(email),
        kind: TaskKind::Call,
        title: TaskTitle::parse("Call back").unwrap(),
        owner: None,
        priority: Priority::Normal,
        due_at: t(due),
    };
    engine.add_task(&ADMIN, &task).unwrap().id
}

fn ids(engine: &Engine<SqliteStore>, due: Due, owner: Option<&str>) -> Vec<i64> {
    let list = TaskList { owner: owner.map(|o| UserName::parse(o).unwrap()), lead: None, due, limit: 100 };
    engine.tasks(&list).unwrap().iter().map(|t| t.id).collect()
}

#[test]
fn due_today_is_each_owners_day_in_their_time_zone() {
    let (mut engine, _clock, _dir) = world();
    // Yui's today (Tokyo, June 2nd) ends at 15:00Z on the 2nd; Joe's (New York, June 1st) at 04:00Z on the 2nd.
    let yui_today = add(&mut engine, "a@x.example", "2026-06-02T10:00:00Z");
    let yui_tomorrow = add(&mut engine, "a@x.example", "2026-06-02T16:00:00Z");
    let joe_today = add(&mut engine, "b@x.example", "2026-06-02T03:00:00Z");
    let joe_tomorrow = add(&mut engine, "b@x.example", "2026-06-02T05:00:00Z");
    let overdue = add(&mut engine, "b@x.example", "2026-06-01T20:00:00Z");
    assert_eq!(ids(&engine, Due::Today, None), [overdue, joe_today, yui_today]);
    assert_eq!(ids(&engine, Due::Overdue, None), [overdue]);
    assert_eq!(ids(&engine, Due::Pending, Some("yui")), [yui_today, yui_tomorrow]);
    assert_eq!(ids(&engine, Due::Pending, None).len(), 5);
    let task = engine.tasks(&TaskList { due: Due::Pending, limit: 1, ..Default::default() }).unwrap();
    assert_eq!(task[0].owner.as_ref().map(UserName::as_str), Some("joe"), "the lead's owner by default");
    let _ = joe_tomorrow;
}

#[test]
fn a_task_is_done_once_and_sales_changes_only_its_own() {
    let (mut engine, clock, _dir) = world();
    let id = add(&mut engine, "a@x.example", "2026-06-02T10:00:00Z");
    let joe = Actor { role: Role::Sales, name: "joe" };
    let yui = Actor { role: Role::Sales, name: "yui" };
    let done = TaskChange::Done { note: Some("booked a meeting".into()) };
    assert!(matches!(engine.change_task(&joe, id, &done), Err(EngineError::Refused(_))));
    let snoozed = engine.change_task(&yui, id, &TaskChange::Snooze { until: t("2026-06-05") }).unwrap();
    assert_eq!((snoozed.state.status, snoozed.state.due()), (TaskStatus::Snoozed, t("2026-06-05")));
    assert!(ids(&engine, Due::Today, None).is_empty(), "snoozed past today");
    clock.set(t("2026-06-05T01:00:00Z"));
    let task = engine.change_task(&yui, id, &done).unwrap();
    assert_eq!((task.state.status, task.state.outcome.as_deref()), (TaskStatus::Done, Some("booked a meeting")));
    assert!(matches!(engine.change_task(&ADMIN, id, &done), Err(EngineError::Task(_))), "done once");
    assert!(matches!(engine.change_task(&ADMIN, 999, &done), Err(EngineError::NoSuchTask(999))));
    // Sales adds tasks only to its own leads, for users that exist.
    let mut task = AddTask {
        lead: lead("b@x.example"),
        kind: TaskKind::Email,
        title: TaskTitle::parse("Send the proposal").unwrap(),
        owner: None,
        priority: Priority::High,
        due_at: t("2026-06-06"),
    };
    assert!(matches!(engine.add_task(&yui, &task), Err(EngineError::Refused(_))));
    engine.add_task(&joe, &task).unwrap();
    task.owner = Some(UserName::parse("zed").unwrap());
    assert!(matches!(engine.add_task(&ADMIN, &task), Err(EngineError::NoSuchUser(_))));
}

#[test]
fn leads_being_worked_without_a_next_step_are_listed() {
    let (mut engine, _clock, _dir) = world();
    engine.save_pipeline(&crate::inbound_without_stage_tasks(), true).unwrap();
    let origin = ChangeOrigin::of(ChangeCause::Cli);
    for email in ["a@x.example", "b@x.example"] {
        let request = StageMove { lead: lead(email), pipeline: Some("inbound-b2b".into()), stage: None, reason: None };
        engine.move_lead(&ADMIN, &origin, &request).unwrap();
    }
    assert_eq!(engine.leads_without_next_step(10).unwrap().len(), 2);
    let id = add(&mut engine, "a@x.example", "2026-06-03");
    let b = engine.store().lead(&lead("b@x.example"));
    use leadflow_store::prelude::*;
    let b = b.unwrap().unwrap().id;
    assert_eq!(engine.leads_without_next_step(10).unwrap(), [b]);
    engine.change_task(&ADMIN, id, &TaskChange::Cancel { why: Some("wrong person".into()) }).unwrap();
    assert_eq!(engine.leads_without_next_step(10).unwrap().len(), 2, "a cancelled task is no next step");
}

#[test]
fn the_queue_puts_overdue_then_today_then_rotting_then_no_next_step_first() {
    let (mut engine, clock, _dir) = world();
    engine.save_pipeline(&crate::inbound_without_stage_tasks(), true).unwrap();
    let origin = ChangeOrigin::of(ChangeCause::Cli);
    // Five leads of joe's (New York: his day ends at 04:00Z on June 2nd), all entering `new`,
    // whose rotting_days is 2.
    let emails = ["late@x.example", "today@x.example", "rot@x.example", "idle@x.example", "later@x.example"];
    for email in emails {
        let mut profile = Profile::new(Email::parse(email).unwrap());
        profile.owner = Some("joe".into());
        engine.upsert_lead(LeadInput::of(profile)).unwrap();
    }
    clock.set(t("2026-05-28T12:00:00Z"));
    let request =
        StageMove { lead: lead("rot@x.example"), pipeline: Some("inbound-b2b".into()), stage: None, reason: None };
    engine.move_lead(&ADMIN, &origin, &request).unwrap();
    clock.set(t("2026-06-01T22:30:00Z"));
    for email in ["late@x.example", "today@x.example", "idle@x.example", "later@x.example"] {
        let request = StageMove { lead: lead(email), pipeline: Some("inbound-b2b".into()), stage: None, reason: None };
        engine.move_lead(&ADMIN, &origin, &request).unwrap();
    }
    add(&mut engine, "late@x.example", "2026-06-01T20:00:00Z");
    add(&mut engine, "today@x.example", "2026-06-02T03:00:00Z");
    add(&mut engine, "later@x.example", "2026-06-04T09:00:00Z");
    // A call on yui's lead that joe was handed.
    let handed = AddTask {
        lead: lead("a@x.example"),
        kind: TaskKind::Meeting,
        title: TaskTitle::parse("Cover the demo").unwrap(),
        owner: Some(UserName::parse("joe").unwrap()),
        priority: Priority::High,
        due_at: t("2026-06-01T21:00:00Z"),
    };
    engine.add_task(&ADMIN, &handed).unwrap();

    let queue = engine.queue(&UserName::parse("joe").unwrap(), 20).unwrap();
    let order: Vec<(String, leadflow_engine::Urgency)> =
        queue.iter().map(|i| (i.lead.profile.name().to_string(), i.urgency)).collect();
    use leadflow_engine::Urgency::*;
    assert_eq!(
        order,
        [
            ("late@x.example".to_string(), OverdueTask),
            ("a@x.example".to_string(), OverdueTask),
            ("today@x.example".to_string(), DueToday),
            ("rot@x.example".to_string(), Rotting),
            ("idle@x.example".to_string(), NoNextStep),
            ("later@x.example".to_string(), Later),
        ]
    );
    assert!(queue[3].why.contains("rotting") && queue[3].why.contains("2 days"), "{}", queue[3].why);
    assert!(queue[0].why.contains("overdue since 2026-06-01T20:00:00"), "{}", queue[0].why);
    assert_eq!(engine.queue(&UserName::parse("joe").unwrap(), 2).unwrap().len(), 2);
    assert!(matches!(engine.queue(&UserName::parse("zed").unwrap(), 5), Err(EngineError::NoSuchUser(_))));
}

#[test]
fn a_stage_gives_a_lead_its_next_task_which_follows_the_lead_to_its_owner() {
    let (mut engine, clock, _dir) = world();
    engine.save_pipeline(include_str!("../../../../examples/pipeline-inbound-b2b.toml"), true).unwrap();
    let origin = ChangeOrigin::of(ChangeCause::Cli);
    // Monday 1 June, 14:00 in New York (EDT): joe's first call is due 4 of his working hours on.
    clock.set(t("2026-06-01T18:00:00Z"));
    let request =
        StageMove { lead: lead("b@x.example"), pipeline: Some("inbound-b2b".into()), stage: None, reason: None };
    engine.move_lead(&ADMIN, &origin, &request).unwrap();
    let tasks = engine.tasks(&TaskList { lead: Some(lead("b@x.example")), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(tasks.len(), 1);
    let call = &tasks[0];
    assert_eq!((call.kind, call.title.as_str(), call.priority), (TaskKind::Call, "First call", Priority::High));
    assert_eq!(call.owner.as_ref().map(UserName::as_str), Some("joe"));
    assert_eq!(call.state.due_at, t("2026-06-02T14:00:00Z"), "3 hours on Monday, 1 on Tuesday from 09:00 EDT");
    assert_eq!(call.created_by.as_deref(), Some("pipeline:inbound-b2b"));
    assert!(engine.leads_without_next_step(10).unwrap().is_empty(), "it has its next step");

    // Given to yui, its open task goes with it.
    let yui = UserName::parse("yui").unwrap();
    engine.assign_lead(&ADMIN, &origin, &lead("b@x.example"), Some(&yui), None).unwrap();
    let tasks = engine.tasks(&TaskList { lead: Some(lead("b@x.example")), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(tasks[0].owner.as_ref(), Some(&yui));

    // Disqualified: nothing is left to do on it.
    let out = StageMove {
        lead: lead("b@x.example"),
        pipeline: None,
        stage: Some("disqualified".into()),
        reason: Some("spam".into()),
    };
    engine.move_lead(&ADMIN, &origin, &out).unwrap();
    let tasks =
        engine.tasks(&TaskList { lead: Some(lead("b@x.example")), limit: 10, due: Due::All, ..Default::default() });
    let state = &tasks.unwrap()[0].state;
    assert_eq!(
        (state.status, state.outcome.as_deref()),
        (TaskStatus::Cancelled, Some("the lead entered `disqualified`"))
    );
}
