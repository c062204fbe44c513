//! Users and assignment through the engine: round robin in exact turns, skipping who is away or
//! full, owners given on creation or on MQL by the rules file, and by hand.

use std::sync::Arc;

use leadflow_core::lead::{CustomValue, Field, FieldRef};
use leadflow_core::team::{User, UserName, UserSpec};
use leadflow_core::{Actor, Email, EventShape, EventType, LeadRef, Profile, Role, Timestamp};
use leadflow_engine::{Engine, EngineError, EventInput, FixedClock, LeadInput};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin};

const INBOUND: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");

const RULES: &str = r#"
name = "test"

[[rules]]
id = "key-accounts"
on = "created"
when = [{ field = "company", op = "in", values = ["Acme"] }]
strategy = "fixed"
users = ["kim"]

[[rules]]
id = "emea"
on = "mql"
pipeline = "inbound-b2b"
when = [{ field = "country", op = "in", values = ["DE", "FR"] }]
strategy = "round_robin"
teams = ["emea"]
"#;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn user(name: &str, set: impl FnOnce(&mut UserSpec<'_>)) -> User {
    let mut spec = UserSpec { team: Some("emea"), ..UserSpec::new(name, "Europe/Berlin") };
    set(&mut spec);
    User::build(spec).unwrap()
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
        engine.apply_model(crate::MID_MARKET_MODEL, &leadflow_engine::Quiet).unwrap();
        engine.save_pipeline(INBOUND, true).unwrap();
        for name in ["ana", "bo", "cy"] {
            engine.put_user(&user(name, |_| {})).unwrap();
        }
        engine.put_user(&user("kim", |s| s.team = Some("key-accounts"))).unwrap();
        let saved = engine.save_assignment_rules(RULES, true).unwrap();
        assert!(saved.unknown_names.is_empty(), "{:?}", saved.unknown_names);
        World { engine, clock, _dir: dir }
    }

    fn upsert(&mut self, email: &str, set: impl FnOnce(&mut Profile)) {
        let mut profile = Profile::new(Email::parse(email).unwrap());
        profile.employees = Some(500.0);
        profile.country = Some("DE".into());
        set(&mut profile);
        self.engine.upsert_lead(LeadInput::of(profile)).unwrap();
    }

    /// Makes the lead an MQL by a demo request.
    fn qualify(&mut self, email: &str) {
        use leadflow_engine::Clock;
        let ts = self.clock.now();
        self.clock.set(ts.plus_millis(1000));
        let input = EventInput {
            key: None,
            lead: lead(email),
            ts,
            shape: EventShape::new(EventType::parse("demo_requested").unwrap()),
        };
        self.engine.track(input).unwrap();
    }

    fn owner(&self, email: &str) -> Option<String> {
        self.engine.store().lead(&lead(email)).unwrap().unwrap().profile.owner
    }
}

fn lead(email: &str) -> LeadRef {
    LeadRef::Email(Email::parse(email).unwrap())
}

#[test]
fn mqls_go_round_the_team_in_turn_and_the_log_says_why() {
    let mut w = World::new();
    let owners: Vec<String> = (0..7)
        .map(|i| {
            let email = format!("l{i}@globex.example");
            w.upsert(&email, |_| {});
            assert_eq!(w.owner(&email), None, "no rule gives a new lead outside key accounts");
            w.qualify(&email);
            w.owner(&email).expect("an MQL in the pipeline gets an owner")
        })
        .collect();
    assert_eq!(owners, ["ana", "bo", "cy", "ana", "bo", "cy", "ana"]);
    let log = w.engine.changes(&lead("l1@globex.example"), 100).unwrap().unwrap();
    let given = log.iter().find(|c| c.change.field == FieldRef::Standard(Field::Owner)).unwrap();
    assert_eq!(given.change.new, Some(CustomValue::Text("bo".into())));
    assert_eq!((given.origin.cause, given.origin.actor.as_deref()), (ChangeCause::Rule, Some("assignment:emea")));
    assert!(given.origin.reason.as_deref().unwrap().contains("round robin"), "{:?}", given.origin.reason);
}

#[test]
fn who_is_away_or_full_is_passed_over_and_an_owned_lead_stays_its_owners() {
    let mut w = World::new();
    w.engine.put_user(&user("bo", |s| s.away_until = Some("2026-06-08T00:00:00Z"))).unwrap();
    w.engine.put_user(&user("cy", |s| s.capacity = Some(1))).unwrap();
    let mut owners = Vec::new();
    for i in 0..4 {
        let email = format!("l{i}@globex.example");
        w.upsert(&email, |_| {});
        w.qualify(&email);
        owners.push(w.owner(&email).unwrap());
    }
    // Bo is away; Cy takes one open lead, then is full.
    assert_eq!(owners, ["ana", "cy", "ana", "ana"]);
    let log = w.engine.changes(&lead("l3@globex.example"), 100).unwrap().unwrap();
    let reason = log.iter().find(|c| c.change.field == FieldRef::Standard(Field::Owner)).unwrap().origin.reason.clone();
    let reason = reason.unwrap();
    assert!(reason.contains("bo") && reason.contains("away"), "{reason}");
    assert!(reason.contains("cy") && reason.contains("1/1"), "{reason}");

    // A lead that has an owner keeps it when it qualifies.
    w.upsert("owned@globex.example", |p| p.owner = Some("bo".into()));
    w.qualify("owned@globex.example");
    assert_eq!(w.owner("owned@globex.example").as_deref(), Some("bo"));
}

#[test]
fn a_key_accounts_new_lead_is_its_account_managers_at_once() {
    let mut w = World::new();
    w.upsert("new@acme.example", |p| p.company = Some("Acme".into()));
    assert_eq!(w.owner("new@acme.example").as_deref(), Some("kim"));
}

#[test]
fn an_owner_given_by_hand_must_be_an_active_user_and_the_actor_may_give_it() {
    let mut w = World::new();
    w.upsert("l@globex.example", |_| {});
    let cli = ChangeOrigin::of(ChangeCause::Cli);
    let admin = Actor { role: Role::Admin, name: "" };
    let name = |n: &str| UserName::parse(n).unwrap();
    let given =
        w.engine.assign_lead(&admin, &cli, &lead("l@globex.example"), Some(&name("cy")), Some("knows them")).unwrap();
    assert_eq!((given.owner.as_str(), given.previous, given.reason.as_str()), ("cy", None, "knows them"));
    let nobody = w.engine.assign_lead(&admin, &cli, &lead("l@globex.example"), Some(&name("zed")), None);
    assert!(matches!(nobody, Err(EngineError::NoSuchUser(_))), "{nobody:?}");
    w.engine.put_user(&user("bo", |s| s.active = false)).unwrap();
    let gone = w.engine.assign_lead(&admin, &cli, &lead("l@globex.example"), Some(&name("bo")), None);
    assert!(matches!(gone, Err(EngineError::UserInactive(_))), "{gone:?}");
    // Sales gives away none of its leads.
    let cy = Actor { role: Role::Sales, name: "cy" };
    let away = w.engine.assign_lead(&cy, &cli, &lead("l@globex.example"), Some(&name("ana")), None);
    assert!(matches!(away, Err(EngineError::Refused(_))), "{away:?}");
    // By the rules: as if it had just qualified (it is in no pipeline: the emea rule needs one).
    let by_rules = w.engine.assign_lead(&admin, &cli, &lead("l@globex.example"), None, None);
    assert!(matches!(by_rules, Err(EngineError::NobodyToAssign(_))), "{by_rules:?}");
}

#[test]
fn a_sales_key_is_a_users() {
    let mut w = World::new();
    assert!(matches!(w.engine.create_api_key("zed", Role::Sales), Err(EngineError::NoSuchUser(_))));
    w.engine.create_api_key("ana", Role::Sales).unwrap();
    w.engine.create_api_key("website", Role::Ingest).unwrap();
}

#[test]
fn a_routed_mql_gets_its_entry_stages_tasks_in_its_new_owners_working_time() {
    let mut w = World::new();
    // Monday 16:00 UTC: 18:00 in Berlin, after the owner's hours (in UTC's default week there
    // would be an hour left today).
    w.clock.set(t("2026-06-01T16:00:00Z"));
    w.upsert("first@globex.example", |_| {});
    w.qualify("first@globex.example");
    let owner = w.owner("first@globex.example").expect("assigned as it qualified");
    let list = leadflow_engine::TaskList { lead: Some(lead("first@globex.example")), limit: 10, ..Default::default() };
    let tasks = w.engine.tasks(&list).unwrap();
    let call = tasks.iter().find(|t| t.title.as_str() == "First call").expect("the entry stage's task");
    assert_eq!(call.owner.as_ref().map(UserName::as_str), Some(owner.as_str()));
    // 4 of the owner's working hours: Tuesday 09:00 to 13:00 in Berlin.
    assert_eq!(call.state.due_at, t("2026-06-02T11:00:00Z"));
}
