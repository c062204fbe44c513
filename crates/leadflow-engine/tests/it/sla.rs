//! SLAs through the engine: clocks start as leads qualify and get owners, count in the owner's
//! working time, are met by acceptance, rejection, touches and moves, and the sweep records
//! breaches and runs each escalation step once, in order, as its time comes.

use std::sync::Arc;

use leadflow_core::task::{Priority, TaskKind, TaskTitle};
use leadflow_core::team::{User, UserName, UserSpec};
use leadflow_core::{Actor, Email, EventShape, EventType, LeadRef, LifecycleStage, Profile, Role, Timestamp};
use leadflow_engine::{
    AddTask, ClockState, Decision, Engine, EngineError, EventInput, FixedClock, LeadInput, StageMove, TaskChange,
    TaskList,
};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin, SlaClockQuery, SlaMet};

const POLICY: &str = include_str!("../../../../examples/sla-handoff.toml");

const RULES: &str = r#"
name = "test"
[[rules]]
id = "emea"
on = "mql"
strategy = "round_robin"
teams = ["emea"]
"#;

const ADMIN: Actor<'static> = Actor { role: Role::Admin, name: "" };

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl World {
    /// Monday 1 June 2026, 09:00 UTC: 11:00 in Berlin, where everyone works 09:00-17:00.
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
        engine.apply_model(crate::MID_MARKET_MODEL, &leadflow_engine::Quiet).unwrap();
        // Its stages' own tasks apart: these tests count the tasks escalations give.
        engine.save_pipeline(&crate::inbound_without_stage_tasks(), true).unwrap();
        for name in ["ana", "bo", "cy"] {
            engine.put_user(&user(name, None)).unwrap();
        }
        engine.put_user(&user("mia", Some("manager"))).unwrap();
        engine.save_assignment_rules(RULES, true).unwrap();
        let saved = engine.save_sla_policy(POLICY, true).unwrap();
        assert!(saved.activated);
        World { engine, clock, _dir: dir }
    }

    fn at(&self, when: &str) {
        self.clock.set(t(when));
    }

    /// A new lead of a mid-sized German company that requests a demo now: an MQL.
    fn qualify(&mut self, email: &str) {
        use leadflow_engine::Clock;
        let mut profile = Profile::new(Email::parse(email).unwrap());
        profile.employees = Some(500.0);
        profile.country = Some("DE".into());
        self.engine.upsert_lead(LeadInput::of(profile)).unwrap();
        let input = EventInput {
            key: None,
            lead: lead(email),
            ts: self.clock.now(),
            shape: EventShape::new(EventType::parse("demo_requested").unwrap()),
        };
        self.engine.track(input).unwrap();
    }

    fn owner(&self, email: &str) -> Option<String> {
        self.engine.store().lead(&lead(email)).unwrap().unwrap().profile.owner
    }

    /// The lead's clocks as (rule, owner, state), oldest first.
    fn clocks(&self, email: &str) -> Vec<(String, Option<String>, ClockState)> {
        let id = self.engine.store().lead(&lead(email)).unwrap().unwrap().id;
        let mut clocks =
            self.engine.sla_clocks(&SlaClockQuery { lead: Some(id), limit: 100, ..Default::default() }).unwrap();
        clocks.reverse();
        clocks.into_iter().map(|c| (c.record.rule, c.record.owner.map(|o| o.as_str().to_string()), c.state)).collect()
    }

    fn clock_of(&self, email: &str, rule: &str) -> leadflow_engine::SlaClock {
        let id = self.engine.store().lead(&lead(email)).unwrap().unwrap().id;
        let clocks =
            self.engine.sla_clocks(&SlaClockQuery { lead: Some(id), limit: 100, ..Default::default() }).unwrap();
        clocks.into_iter().find(|c| c.record.rule == rule).unwrap()
    }

    fn decide(&mut self, email: &str, decision: Decision) -> Result<leadflow_engine::Decided, EngineError> {
        let origin = ChangeOrigin::new(ChangeCause::Cli, "cli");
        self.engine.decide_lead(&ADMIN, &origin, &lead(email), &decision)
    }

    fn titles_for(&self, owner: &str) -> Vec<String> {
        let list = TaskList { owner: Some(UserName::parse(owner).unwrap()), limit: 100, ..Default::default() };
        self.engine.tasks(&list).unwrap().into_iter().map(|t| t.title.as_str().to_string()).collect()
    }
}

fn user(name: &str, role: Option<&str>) -> User {
    User::build(UserSpec { team: Some("emea"), role, ..UserSpec::new(name, "Europe/Berlin") }).unwrap()
}

fn lead(email: &str) -> LeadRef {
    LeadRef::Email(Email::parse(email).unwrap())
}

fn pending(owner: &str) -> (Option<String>, ClockState) {
    (Some(owner.to_string()), ClockState::Pending)
}

#[test]
fn an_mql_starts_its_clocks_in_its_owners_working_time_and_acceptance_meets_them() {
    let mut w = World::new();
    w.qualify("a@globex.example");
    assert_eq!(w.owner("a@globex.example").as_deref(), Some("ana"));
    let clocks = w.clocks("a@globex.example");
    assert_eq!(
        clocks,
        [
            ("first-touch".to_string(), pending("ana").0, pending("ana").1),
            ("accept-mql".to_string(), pending("ana").0, pending("ana").1)
        ],
        "assigned, then qualified; the meeting rule holds only for big DACH companies"
    );
    // 4 working hours from 11:00 Berlin on Monday; first touch by the end of Tuesday's hours.
    let accept = w.clock_of("a@globex.example", "accept-mql");
    assert_eq!(accept.rule_name, "Accept or reject an MQL");
    assert_eq!(accept.record.due_at, Some(t("2026-06-01T13:00:00Z")));
    assert_eq!(w.clock_of("a@globex.example", "first-touch").record.due_at, Some(t("2026-06-02T15:00:00Z")));

    w.at("2026-06-01T12:30:00Z");
    let decided = w.decide("a@globex.example", Decision::Accept).unwrap();
    assert_eq!(decided.clocks_met, 1);
    let accept = w.clock_of("a@globex.example", "accept-mql");
    assert_eq!(
        (accept.state, accept.record.met),
        (ClockState::MetOnTime, Some((t("2026-06-01T12:30:00Z"), SlaMet::Accepted)))
    );
    let record = w.engine.store().lead(&lead("a@globex.example")).unwrap().unwrap();
    assert_eq!(record.profile.stage, LifecycleStage::Sql, "sales-accepted");

    // A call done is a touch: it meets the first touch and starts the weekly follow-up.
    let task = AddTask {
        lead: lead("a@globex.example"),
        kind: TaskKind::Call,
        title: TaskTitle::parse("Discovery call").unwrap(),
        owner: None,
        priority: Priority::Normal,
        due_at: t("2026-06-01T14:00:00Z"),
    };
    let id = w.engine.add_task(&ADMIN, &task).unwrap().id;
    w.at("2026-06-01T14:00:00Z");
    w.engine.change_task(&ADMIN, id, &TaskChange::Done { note: Some("interested".into()) }).unwrap();
    assert_eq!(w.clock_of("a@globex.example", "first-touch").state, ClockState::MetOnTime);
    let follow = w.clock_of("a@globex.example", "follow-up");
    assert_eq!((follow.state, follow.record.due_at), (ClockState::Pending, Some(t("2026-06-08T14:00:00Z"))));

    // The next touch meets it and starts the next.
    let id = w.engine.add_task(&ADMIN, &AddTask { kind: TaskKind::Email, ..task }).unwrap().id;
    w.at("2026-06-05T10:00:00Z");
    w.engine.change_task(&ADMIN, id, &TaskChange::Done { note: None }).unwrap();
    let rules: Vec<(String, ClockState)> = w.clocks("a@globex.example").into_iter().map(|(r, _, s)| (r, s)).collect();
    assert_eq!(
        rules,
        [
            ("first-touch".into(), ClockState::MetOnTime),
            ("accept-mql".into(), ClockState::MetOnTime),
            ("follow-up".into(), ClockState::MetOnTime),
            ("follow-up".into(), ClockState::Pending),
        ]
    );
    let compliance = w.engine.sla_compliance(t("2026-06-01"), t("2026-07-01")).unwrap();
    assert_eq!(compliance.total.met_on_time, 3);
    assert_eq!(compliance.total.pending, 1);
    assert_eq!(compliance.teams.len(), 1);
    assert_eq!(compliance.teams[0].team.as_deref(), Some("emea"));
    assert_eq!(compliance.owners[0].owner.as_ref().map(UserName::as_str), Some("ana"));
}

#[test]
fn the_sweep_records_a_breach_once_and_escalates_step_by_step_until_reassigned() {
    let mut w = World::new();
    w.qualify("a@globex.example");
    w.at("2026-06-01T09:00:01Z");
    w.qualify("b@globex.example");
    assert_eq!(w.owner("b@globex.example").as_deref(), Some("bo"));
    assert_eq!(w.clock_of("b@globex.example", "accept-mql").record.due_at, Some(t("2026-06-01T13:00:01Z")));

    // Bo's queue puts the MQL waiting for his answer first, with its deadline.
    let bo = UserName::parse("bo").unwrap();
    let queue = w.engine.queue(&bo, 10).unwrap();
    assert_eq!(queue[0].urgency, leadflow_engine::Urgency::SlaDueToday);
    assert_eq!(queue[0].sla_due_at, Some(t("2026-06-01T13:00:01Z")));
    assert!(queue[0].why.contains("Accept or reject an MQL"), "{}", queue[0].why);

    // Due at 13:00:01, met exactly then would be on time: only Ana's, due a second before, is late.
    w.at("2026-06-01T13:00:01Z");
    let swept = w.engine.sweep_pipelines().unwrap();
    assert_eq!((swept.sla.breached.len(), swept.sla.escalations), (1, 1), "{swept:?}");
    assert_eq!(w.clock_of("b@globex.example", "accept-mql").state, ClockState::Pending);
    w.at("2026-06-01T13:00:02Z");
    let swept = w.engine.sweep_pipelines().unwrap();
    assert_eq!(swept.sla.breached.len(), 1, "{swept:?}");
    assert_eq!(swept.sla.escalations, 1, "the owner is told at the breach");
    assert_eq!(w.clock_of("b@globex.example", "accept-mql").state, ClockState::Breached);
    assert_eq!(w.engine.queue(&bo, 10).unwrap()[0].urgency, leadflow_engine::Urgency::SlaBreached);
    assert_eq!(w.titles_for("bo"), ["SLA `Accept or reject an MQL` breached: act on this lead now"]);
    let again = w.engine.sweep_pipelines().unwrap();
    assert_eq!((again.sla.breached.len(), again.sla.escalations), (0, 0), "each step once");

    // Ana answers in time for the next step; Bo does not, and his manager hears of it two
    // working hours after the breach (15:00:01 UTC, 17:00:01 in Berlin is after hours).
    w.decide("a@globex.example", Decision::Reject { reason: "Not a fit".into() }).unwrap();
    w.at("2026-06-01T15:00:00Z");
    assert_eq!(w.engine.sweep_pipelines().unwrap().sla.escalations, 0);
    w.at("2026-06-02T07:00:02Z");
    let swept = w.engine.sweep_pipelines().unwrap();
    assert_eq!(swept.sla.escalations, 1, "{swept:?}");
    assert_eq!(w.titles_for("mia"), ["SLA `Accept or reject an MQL` breached by bo"]);
    assert!(w.titles_for("ana").is_empty(), "back to nurture, her to-do cancelled; a met clock escalates no more");

    // A working day after the breach: taken from Bo and given to the next in turn but him.
    w.at("2026-06-02T15:00:00Z");
    assert_eq!(w.engine.sweep_pipelines().unwrap().sla.reassigned, 0, "due when Tuesday's hours end");
    w.at("2026-06-02T15:00:02Z");
    let swept = w.engine.sweep_pipelines().unwrap();
    assert_eq!(swept.sla.reassigned, 1, "{swept:?}");
    assert_eq!(w.owner("b@globex.example").as_deref(), Some("cy"));
    let clocks = w.clocks("b@globex.example");
    assert_eq!(
        clocks,
        [
            ("first-touch".into(), Some("bo".into()), ClockState::Breached),
            ("accept-mql".into(), Some("bo".into()), ClockState::Breached),
            ("first-touch".into(), Some("cy".into()), ClockState::Pending),
            ("accept-mql".into(), Some("cy".into()), ClockState::Pending),
        ],
        "the breaches stay Bo's; Cy gets the rules' full time"
    );
    let old = w.clock_of("b@globex.example", "accept-mql");
    assert_eq!(old.record.owner.as_ref().map(UserName::as_str), Some("cy"), "newest first");
    let compliance = w.engine.sla_compliance(t("2026-06-01"), t("2026-07-01")).unwrap();
    let bo = compliance.owners.iter().find(|l| l.owner.as_ref().map(UserName::as_str) == Some("bo")).unwrap();
    assert_eq!((bo.compliance.breached, bo.compliance.rate()), (2, Some(0.0)));
    let ana = compliance.owners.iter().find(|l| l.owner.as_ref().map(UserName::as_str) == Some("ana")).unwrap();
    assert_eq!(
        (ana.compliance.met_late, ana.compliance.breached),
        (1, 0),
        "rejected late; first touch stopped in time"
    );
}

#[test]
fn a_rejection_needs_a_listed_reason_and_sends_the_lead_back_to_nurture() {
    let mut w = World::new();
    w.qualify("a@globex.example");
    let refused = w.decide("a@globex.example", Decision::Reject { reason: "too small".into() }).unwrap_err();
    assert!(matches!(&refused, EngineError::RejectReason { listed, .. } if listed.len() == 4), "{refused:?}");
    assert!(refused.to_string().contains("not a fit, duplicate"), "{refused}");
    assert!(matches!(
        w.decide("a@globex.example", Decision::Reject { reason: " ".into() }),
        Err(EngineError::RejectReason { .. })
    ));

    let decided = w.decide("a@globex.example", Decision::Reject { reason: "DUPLICATE".into() }).unwrap();
    assert_eq!(decided.decision, Decision::Reject { reason: "duplicate".into() }, "the policy's spelling");
    let moved = decided.moved.unwrap();
    assert_eq!((moved.to.as_str(), moved.recycled), ("recycled", true));
    let record = w.engine.store().lead(&lead("a@globex.example")).unwrap().unwrap();
    assert_eq!(record.mql_at, None, "the MQL rule can fire again");
    let states: Vec<ClockState> = w.clocks("a@globex.example").into_iter().map(|(_, _, s)| s).collect();
    assert_eq!(states, [ClockState::Stopped, ClockState::MetOnTime], "first touch stopped, the MQL answered");
    let log = w.engine.changes(&lead("a@globex.example"), 100).unwrap().unwrap();
    assert!(log.iter().any(|c| c.origin.reason.as_deref() == Some("rejected by sales: duplicate")), "{log:?}");
}

#[test]
fn a_clock_waits_for_an_owner_and_leaving_a_stage_meets_its_rule() {
    let mut w = World::new();
    // Nobody to assign: everyone is away.
    w.engine
        .save_assignment_rules(
            "name = \"none\"\n[[rules]]\nid = \"n\"\non = \"mql\"\nstrategy = \"fixed\"\nusers = [\"zed\"]\n",
            true,
        )
        .unwrap();
    w.qualify("big@globex.example");
    assert_eq!(w.owner("big@globex.example"), None);
    assert_eq!(w.clocks("big@globex.example"), [("accept-mql".to_string(), None, ClockState::Waiting)]);
    w.at("2026-06-01T10:00:00Z");
    let origin = ChangeOrigin::new(ChangeCause::Cli, "cli");
    w.engine
        .assign_lead(&ADMIN, &origin, &lead("big@globex.example"), Some(&UserName::parse("cy").unwrap()), None)
        .unwrap();
    let accept = w.clock_of("big@globex.example", "accept-mql");
    assert_eq!((accept.state, accept.record.started_at), (ClockState::Pending, Some(t("2026-06-01T10:00:00Z"))));
    assert_eq!(accept.record.due_at, Some(t("2026-06-01T14:00:00Z")));

    // A big DACH company entering the meeting stage has five working days to move on.
    // (Its score moves it to `working` as it gets an owner: a rule's move accepts nothing.)
    let mut profile = Profile::new(Email::parse("big@globex.example").unwrap());
    (profile.employees, profile.country, profile.company) = (Some(5000.0), Some("DE".into()), Some("Globex".into()));
    w.engine.upsert_lead(LeadInput::of(profile)).unwrap();
    assert_eq!(w.clock_of("big@globex.example", "accept-mql").state, ClockState::Pending);
    let to = |stage: &str| StageMove {
        lead: lead("big@globex.example"),
        pipeline: None,
        stage: Some(stage.into()),
        reason: None,
    };
    w.engine.move_lead(&ADMIN, &origin, &to("meeting")).unwrap();
    assert_eq!(
        w.clock_of("big@globex.example", "accept-mql").state,
        ClockState::MetOnTime,
        "a rep moving it on accepts it"
    );
    let meeting = w.clock_of("big@globex.example", "meeting-outcome");
    assert_eq!(meeting.state, ClockState::Pending);
    w.at("2026-06-03T10:00:00Z");
    w.engine.move_lead(&ADMIN, &origin, &to("won")).unwrap();
    let meeting = w.clock_of("big@globex.example", "meeting-outcome");
    assert_eq!((meeting.state, meeting.record.met.map(|m| m.1)), (ClockState::MetOnTime, Some(SlaMet::StageLeft)));
    let running = w.engine.sla_clocks(&SlaClockQuery { running: true, limit: 10, ..Default::default() }).unwrap();
    assert!(running.is_empty(), "won: the first touch stopped too: {running:?}");
}

#[test]
fn webhooks_hear_of_assignments_moves_recycles_breaches_and_tasks_due_and_overdue() {
    use leadflow_core::Topic;
    use leadflow_store::NotificationDetail;
    let mut w = World::new();
    let now = t("2026-06-01T09:00:00Z");
    let mut tx = w.engine.store_mut().begin().unwrap();
    let hook = tx.create_webhook("https://hooks.example/lf", "s3cret", &Topic::ALL, now).unwrap();
    tx.commit().unwrap();
    let news = |w: &World| -> Vec<(Topic, Option<NotificationDetail>)> {
        let mut all = w.engine.store().deliveries(hook, 100).unwrap();
        all.reverse();
        all.into_iter().map(|d| (d.notification.topic, d.notification.detail)).collect()
    };

    w.qualify("a@globex.example");
    let topics: Vec<Topic> = news(&w).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        topics,
        [Topic::LeadCreated, Topic::LeadMql, Topic::LeadStageChanged, Topic::LeadAssigned, Topic::LeadStageChanged],
        "the score's news, then routed, assigned, and moved on by its score"
    );
    let told = news(&w);
    assert_eq!(
        told[3].1,
        Some(NotificationDetail::Assigned {
            owner: "ana".into(),
            previous_owner: None,
            reason: "round robin in rule `emea` (1 of 3)".into()
        })
    );
    assert_eq!(
        told[4].1,
        Some(NotificationDetail::StageChanged {
            pipeline: "inbound-b2b".into(),
            from_stage: Some("new".into()),
            to_stage: "working".into(),
            reason: None
        })
    );

    // A task due at 10:00 is told of then, and as overdue once Ana's day in Berlin is over.
    let task = AddTask {
        lead: lead("a@globex.example"),
        kind: TaskKind::Call,
        title: TaskTitle::parse("Discovery call").unwrap(),
        owner: None,
        priority: Priority::Normal,
        due_at: t("2026-06-01T10:00:00Z"),
    };
    let id = w.engine.add_task(&ADMIN, &task).unwrap().id;
    let before = news(&w).len();
    w.at("2026-06-01T09:59:59Z");
    assert_eq!(w.engine.remind_tasks().unwrap(), leadflow_engine::Reminders::default());
    w.at("2026-06-01T10:00:00Z");
    assert_eq!(w.engine.remind_tasks().unwrap(), leadflow_engine::Reminders { due: 1, overdue: 0 });
    w.at("2026-06-01T21:59:59Z");
    assert_eq!(w.engine.remind_tasks().unwrap(), leadflow_engine::Reminders::default(), "once");
    w.at("2026-06-01T22:00:00Z");
    assert_eq!(
        w.engine.remind_tasks().unwrap(),
        leadflow_engine::Reminders { due: 0, overdue: 1 },
        "midnight in Berlin"
    );
    assert_eq!(w.engine.remind_tasks().unwrap(), leadflow_engine::Reminders::default());
    let told = news(&w);
    assert_eq!(told[before..].iter().map(|(t, _)| *t).collect::<Vec<_>>(), [Topic::TaskDue, Topic::TaskOverdue]);
    assert!(
        matches!(&told[before].1, Some(NotificationDetail::Task { task, title, .. }) if *task == id && title == "Discovery call")
    );
    // Snoozed, it is due anew; done, it is told of no more.
    w.engine.change_task(&ADMIN, id, &TaskChange::Snooze { until: t("2026-06-02T08:00:00Z") }).unwrap();
    w.at("2026-06-02T08:00:00Z");
    assert_eq!(w.engine.remind_tasks().unwrap().due, 1);
    w.engine.change_task(&ADMIN, id, &TaskChange::Done { note: None }).unwrap();
    w.at("2026-06-03T08:00:00Z");
    assert_eq!(w.engine.remind_tasks().unwrap(), leadflow_engine::Reminders::default());

    // The SLA breach (the MQL was never answered; the call was its first touch), found two days
    // late: every escalation step runs, the last gives the lead to Bo; then back to nurture.
    let before = news(&w).len();
    w.engine.sweep_pipelines().unwrap();
    let told = news(&w);
    let breaches: Vec<&Option<NotificationDetail>> =
        told[before..].iter().filter(|(t, _)| *t == Topic::SlaBreached).map(|(_, d)| d).collect();
    assert_eq!(breaches.len(), 1, "{told:?}");
    assert!(
        matches!(breaches[0], Some(NotificationDetail::SlaBreached { rule, owner: Some(o), .. }) if rule == "accept-mql" && o == "ana")
    );
    assert!(told[before..].iter().any(|(t, d)| *t == Topic::LeadAssigned
        && matches!(d, Some(NotificationDetail::Assigned { owner, previous_owner: Some(p), .. }) if owner == "bo" && p == "ana")));
    let before = told.len();
    w.decide("a@globex.example", Decision::Reject { reason: "not a fit".into() }).unwrap();
    let told = news(&w);
    assert_eq!(
        told[before..].iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        [Topic::LeadRecycled, Topic::LeadStageChanged]
    );
    let payload =
        leadflow_store::Notification { ..w.engine.store().deliveries(hook, 1).unwrap()[0].notification.clone() };
    assert!(payload.score.is_some(), "a scored lead's news carries its score");
}

#[test]
fn an_owner_set_by_an_upsert_starts_and_moves_clocks_as_an_assignment_does() {
    let mut w = World::new();
    let upsert = |w: &mut World, owner: &str| {
        let mut profile = Profile::new(Email::parse("crm@globex.example").unwrap());
        profile.owner = Some(owner.into());
        let origin = ChangeOrigin::new(ChangeCause::Api, "crm-sync");
        w.engine.upsert_lead_as(&ADMIN, &origin, LeadInput::of(profile)).unwrap();
    };
    upsert(&mut w, "ana");
    assert_eq!(w.clocks("crm@globex.example"), [("first-touch".to_string(), pending("ana").0, pending("ana").1)]);
    upsert(&mut w, "ana");
    assert_eq!(w.clocks("crm@globex.example").len(), 1, "the same owner again changes nothing");
    w.at("2026-06-01T10:00:00Z");
    upsert(&mut w, "bo");
    let clocks = w.clocks("crm@globex.example");
    assert_eq!(
        clocks,
        [
            ("first-touch".to_string(), Some("ana".into()), ClockState::Stopped),
            ("first-touch".to_string(), Some("bo".into()), ClockState::Pending),
        ]
    );
    let log = w.engine.changes(&lead("crm@globex.example"), 10).unwrap().unwrap();
    assert!(log.iter().any(|c| c.origin.actor.as_deref() == Some("crm-sync")), "{log:?}");
}

#[test]
fn the_sweep_starts_the_clocks_of_mqls_an_import_and_a_rescore_made() {
    let mut w = World::new();
    let mut profile = Profile::new(Email::parse("imported@globex.example").unwrap());
    (profile.employees, profile.country, profile.owner) = (Some(500.0), Some("DE".into()), Some("cy".into()));
    let row = LeadInput::of(profile);
    let import = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    w.engine.import_leads(&[row], &import).unwrap();
    let demo = EventInput {
        key: None,
        lead: lead("imported@globex.example"),
        ts: t("2026-06-01T08:00:00Z"),
        shape: EventShape::new(EventType::parse("demo_requested").unwrap()),
    };
    w.engine.import_events(vec![demo]).unwrap();
    w.engine
        .rescore(leadflow_engine::RescoreOptions::needed_now(t("2026-06-01T09:00:00Z")), &leadflow_engine::Quiet)
        .unwrap();
    let record = w.engine.store().lead(&lead("imported@globex.example")).unwrap().unwrap();
    assert!(record.mql_at.is_some(), "the rescore qualified it");
    assert!(w.clocks("imported@globex.example").is_empty(), "no request followed it up");

    let swept = w.engine.sweep_slas().unwrap();
    assert_eq!(swept.mqls_started, 1);
    assert_eq!(w.clocks("imported@globex.example"), [("accept-mql".to_string(), pending("cy").0, pending("cy").1)]);
    assert_eq!(w.engine.sweep_slas().unwrap().mqls_started, 0, "once");
}

#[test]
fn a_new_policy_version_starts_no_second_clock_of_a_rule_already_running() {
    let mut w = World::new();
    let origin = ChangeOrigin::new(ChangeCause::Cli, "cli");
    let mut profile = Profile::new(Email::parse("v@globex.example").unwrap());
    profile.employees = Some(10.0);
    w.engine.upsert_lead(LeadInput::of(profile)).unwrap();
    let to = |name: &str| UserName::parse(name).unwrap();
    w.engine.assign_lead(&ADMIN, &origin, &lead("v@globex.example"), Some(&to("ana")), None).unwrap();
    let second = POLICY.replace("for 2026", "for 2027");
    let saved = w.engine.save_sla_policy(&second, true).unwrap();
    w.engine.assign_lead(&ADMIN, &origin, &lead("v@globex.example"), Some(&to("bo")), None).unwrap();
    let clocks = w.clocks("v@globex.example");
    assert_eq!(
        clocks,
        [
            ("first-touch".to_string(), Some("ana".into()), ClockState::Stopped),
            ("first-touch".to_string(), Some("bo".into()), ClockState::Pending),
        ],
        "bo's restarts the clock, under the version it began with; the new one starts no other"
    );
    assert_ne!(w.clock_of("v@globex.example", "first-touch").record.policy, saved.version);
}

#[test]
fn only_an_open_lead_can_be_rejected() {
    let mut w = World::new();
    w.qualify("a@globex.example");
    w.decide("a@globex.example", Decision::Reject { reason: "duplicate".into() }).unwrap();
    let again = w.decide("a@globex.example", Decision::Reject { reason: "duplicate".into() }).unwrap_err();
    assert!(matches!(&again, EngineError::NotHandedOver { stage, .. } if stage == "recycled"), "{again:?}");
    let record = w.engine.store().lead(&lead("a@globex.example")).unwrap().unwrap();
    assert_eq!(record.pipeline_clock.recycles, 1, "recycled once");
}

/// Response times count the owner's working hours only (Berlin, 09:00-17:00 on weekdays): a
/// lead handed to Ana at 16:30 on Friday and accepted at 09:30 on Monday took one hour; one
/// handed to Bo on Saturday and accepted at 10:00 on Monday took one hour too; Cy's is waiting.
#[test]
fn the_reps_report_gives_response_times_in_each_owners_working_hours() {
    let mut w = World::new();
    w.at("2026-06-05T14:30:00Z");
    w.qualify("a@globex.example");
    w.at("2026-06-06T10:00:00Z");
    w.qualify("b@globex.example");
    w.at("2026-06-08T07:30:00Z");
    w.decide("a@globex.example", Decision::Accept).unwrap();
    w.at("2026-06-08T08:00:00Z");
    w.decide("b@globex.example", Decision::Accept).unwrap();
    w.at("2026-06-08T09:00:00Z");
    w.qualify("c@globex.example");
    let owners: Vec<Option<String>> = ["a", "b", "c"].iter().map(|l| w.owner(&format!("{l}@globex.example"))).collect();
    assert_eq!(owners, [Some("ana".into()), Some("bo".into()), Some("cy".into())]);

    w.at("2026-06-08T10:00:00Z");
    let request = leadflow_engine::RepsReportRequest {
        from: Some(t("2026-06-01")),
        ..leadflow_engine::RepsReportRequest::default()
    };
    let report = w.engine.reps_report(&request, &leadflow_engine::Quiet).unwrap();
    let response = |owner: &str| {
        let line = report.reps.iter().find(|r| r.owner.as_deref() == Some(owner)).unwrap();
        let r = &line.response;
        (r.clocks, r.responded, r.waiting, r.median_hours)
    };
    // Each lead has its accept clock and its first-touch clock, which no touch met yet.
    assert_eq!(response("ana"), (2, 1, 1, Some(1.0)));
    assert_eq!(response("bo"), (2, 1, 1, Some(1.0)));
    assert_eq!(response("cy"), (2, 0, 2, None));
    let emea = &report.teams[0];
    assert_eq!(emea.team.as_deref(), Some("emea"));
    assert_eq!((emea.response.clocks, emea.response.responded, emea.response.median_hours), (6, 2, Some(1.0)));

    // As of before Monday's answers, nobody had responded.
    let before = leadflow_engine::RepsReportRequest {
        from: Some(t("2026-06-01")),
        pipeline: leadflow_engine::PipelineReportRequest {
            as_of: Some(t("2026-06-07")),
            ..leadflow_engine::PipelineReportRequest::default()
        },
    };
    let report = w.engine.reps_report(&before, &leadflow_engine::Quiet).unwrap();
    let ana = report.reps.iter().find(|r| r.owner.as_deref() == Some("ana")).unwrap();
    assert_eq!((ana.response.clocks, ana.response.responded, ana.response.waiting), (2, 0, 2));
}
