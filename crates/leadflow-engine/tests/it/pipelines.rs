//! Sales pipelines through the engine, on the shipped example pipelines: routing MQLs in,
//! triggers moving leads on, moves by hand checked against the rules, recycling letting the MQL
//! rule fire again, and the sweep that routes what no request did and ends cycles.

use std::sync::Arc;

use leadflow_core::lead::{CustomValue, Field, FieldRef};
use leadflow_core::{Actor, Email, EventShape, EventType, LeadRef, LifecycleStage, Profile, Role, Timestamp};
use leadflow_engine::{Engine, EngineError, EventInput, FixedClock, LeadInput, StageMove};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin, LeadRecord};

const INBOUND: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");
const PARTNER: &str = include_str!("../../../../examples/pipeline-partner.toml");

/// Companies of 50+ people score 30; a demo request 40, a page view 5: a demo request from a
/// company that size makes an MQL.
const MODEL: &str = r#"
name = "pipeline-test"
[fit]
min = 0
max = 30
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 30
[engagement]
min = 0
max = 100
[[engagement.rules]]
id = "demo"
event = "demo_requested"
points = 40
[[engagement.rules]]
id = "page"
event = "page_view"
points = 5
[mql]
min_total = 60
"#;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
        engine.apply_model(MODEL, &leadflow_engine::Quiet).unwrap();
        engine.save_pipeline(INBOUND, true).unwrap();
        engine.save_pipeline(PARTNER, true).unwrap();
        World { engine, clock, _dir: dir }
    }

    fn upsert(&mut self, email: &str, set: impl FnOnce(&mut Profile)) {
        let mut profile = Profile::new(Email::parse(email).unwrap());
        set(&mut profile);
        self.engine.upsert_lead(LeadInput::of(profile)).unwrap();
    }

    fn track(&mut self, email: &str, event: &str) -> bool {
        let input = EventInput {
            key: None,
            lead: lead(email),
            ts: self.clock.now_plus_a_second(),
            shape: EventShape::new(EventType::parse(event).unwrap()),
        };
        match self.engine.track(input).unwrap() {
            leadflow_engine::TrackOutcome::Accepted { scored, .. } => scored.became_mql,
            leadflow_engine::TrackOutcome::Duplicate { .. } => panic!("a fresh event"),
        }
    }

    fn lead(&self, email: &str) -> LeadRecord {
        self.engine.store().lead(&lead(email)).unwrap().unwrap()
    }

    /// Pipeline and stage of the lead.
    fn place(&self, email: &str) -> (Option<String>, Option<String>) {
        let p = self.lead(email).profile;
        (p.pipeline, p.pipeline_stage)
    }

    fn move_as(
        &mut self,
        actor: &Actor<'_>,
        email: &str,
        stage: &str,
        reason: Option<&str>,
    ) -> Result<(), EngineError> {
        let request =
            StageMove { lead: lead(email), pipeline: None, stage: Some(stage.into()), reason: reason.map(Into::into) };
        self.engine.move_lead(actor, &ChangeOrigin::new(ChangeCause::Api, actor.name), &request).map(drop)
    }

    fn move_to(&mut self, email: &str, stage: &str, reason: Option<&str>) -> Result<(), EngineError> {
        self.move_as(&ADMIN, email, stage, reason)
    }
}

const ADMIN: Actor<'static> = Actor { role: Role::Admin, name: "ops" };

trait Later {
    fn now_plus_a_second(&self) -> Timestamp;
}

impl Later for FixedClock {
    /// Events a second apart, each before the clock's now (an event may not come from the future).
    fn now_plus_a_second(&self) -> Timestamp {
        use leadflow_engine::Clock;
        let now = self.now();
        self.set(now.plus_millis(1000));
        now
    }
}

fn lead(email: &str) -> LeadRef {
    LeadRef::Email(Email::parse(email).unwrap())
}

fn place(pipeline: &str, stage: &str) -> (Option<String>, Option<String>) {
    (Some(pipeline.into()), Some(stage.into()))
}

fn refusal(result: Result<(), EngineError>) -> &'static str {
    match result {
        Err(EngineError::MoveRefused(r)) => r.code(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_mql_enters_the_pipeline_routing_picks_and_triggers_move_it_on_within_the_rules() {
    let mut w = World::new();
    w.upsert("ana@acme.example", |p| p.employees = Some(500.0));
    w.upsert("pat@partner.example", |p| {
        p.employees = Some(500.0);
        p.source = Some("partner".into());
        p.custom.insert("partner_id".into(), CustomValue::Text("P-7".into()));
    });
    assert_eq!(w.place("ana@acme.example"), (None, None), "not an MQL yet: in no pipeline");

    assert!(w.track("ana@acme.example", "demo_requested"), "30 + 40 tips it");
    assert!(w.track("pat@partner.example", "demo_requested"));
    // Routing: partner leads to the partner pipeline (higher priority), at its `enter_at`.
    assert_eq!(w.place("pat@partner.example"), place("partner", "registered"));
    // Ana entered inbound-b2b at `new`. The demo request would take her to `meeting` and her
    // score (70) to `working`, but both require an owner she lacks: she stays.
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "new"));
    let ana = w.lead("ana@acme.example");
    assert_eq!(ana.profile.stage, LifecycleStage::Mql, "the stage's lifecycle");
    assert_eq!(ana.pipeline_clock.entered_at, ana.pipeline_clock.stage_entered_at);
    assert!(ana.pipeline_clock.entered_at.is_some());

    // An owner makes `working` enterable; the upsert's new score fires `score_at_least = 60`.
    w.upsert("ana@acme.example", |p| p.owner = Some("bo".into()));
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "working"));
    assert_eq!(w.lead("ana@acme.example").profile.stage, LifecycleStage::Sql);
    // A page view fires nothing; a demo request with the company set moves her to `meeting`.
    w.track("ana@acme.example", "page_view");
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "working"));
    w.upsert("ana@acme.example", |p| p.company = Some("Acme".into()));
    w.track("ana@acme.example", "demo_requested");
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "meeting"));
    // Automatic moves only go forward: her score firing again does not take her back.
    w.track("ana@acme.example", "page_view");
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "meeting"));

    let log = w.engine.changes(&lead("ana@acme.example"), 100).unwrap().unwrap();
    let moves: Vec<(String, Option<&str>)> = log
        .iter()
        .rev()
        .filter(|c| c.change.field == FieldRef::Standard(Field::PipelineStage))
        .map(|c| (text(&c.change.new), c.origin.actor.as_deref()))
        .collect();
    assert_eq!(
        moves,
        [
            ("new".to_string(), Some("routing")),
            ("working".to_string(), Some("pipeline:inbound-b2b")),
            ("meeting".to_string(), Some("pipeline:inbound-b2b")),
        ]
    );
}

fn text(v: &Option<CustomValue>) -> String {
    match v {
        Some(CustomValue::Text(s)) => s.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn moves_by_hand_are_checked_against_the_pipeline_and_logged_with_their_reason() {
    let mut w = World::new();
    w.upsert("ana@acme.example", |p| p.employees = Some(500.0));
    // A lead in no pipeline enters the one routing picks, at its entry stage.
    let entered = w
        .engine
        .move_lead(
            &ADMIN,
            &ChangeOrigin::of(ChangeCause::Cli),
            &StageMove { lead: lead("ana@acme.example"), pipeline: None, stage: None, reason: None },
        )
        .unwrap();
    assert_eq!((entered.from, entered.to.as_str()), (None, "new"));

    // Each rule, by its code.
    assert_eq!(refusal(w.move_to("ana@acme.example", "nowhere", None)), "unknown_stage");
    assert_eq!(refusal(w.move_to("ana@acme.example", "new", None)), "same_stage");
    assert_eq!(refusal(w.move_to("ana@acme.example", "won", None)), "move_not_allowed");
    assert_eq!(refusal(w.move_to("ana@acme.example", "working", None)), "missing_fields");
    assert_eq!(refusal(w.move_to("ana@acme.example", "disqualified", None)), "reason_required");
    assert_eq!(refusal(w.move_to("ana@acme.example", "disqualified", Some("too small"))), "unknown_reason");
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "new"), "refused moves change nothing");

    // With an owner, `working` may be entered, and her grade A (all her fit points) fires its
    // `grade_at_least = "A"` on the upsert's score.
    w.upsert("ana@acme.example", |p| p.owner = Some("bo".into()));
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "working"));
    w.upsert("ana@acme.example", |p| p.company = Some("Acme".into()));
    w.move_to("ana@acme.example", "meeting", Some("called, interested")).unwrap();
    w.move_to("ana@acme.example", "lost", Some("  No Budget ")).unwrap();
    let log = w.engine.changes(&lead("ana@acme.example"), 100).unwrap().unwrap();
    let last = log.iter().find(|c| c.change.field == FieldRef::Standard(Field::PipelineStage)).unwrap();
    assert_eq!(text(&last.change.new), "lost");
    assert_eq!(last.origin.reason.as_deref(), Some("no budget"), "the stage's own spelling");
    assert_eq!((last.origin.cause, last.origin.actor.as_deref()), (ChangeCause::Api, Some("ops")));
    let note = log.iter().find(|c| c.change.new == Some(CustomValue::Text("meeting".into()))).unwrap();
    assert_eq!(note.origin.reason.as_deref(), Some("called, interested"), "a free note where no list is");

    // Another pipeline by name: entering it starts there, from no stage of it.
    let switched = w
        .engine
        .move_lead(
            &ADMIN,
            &ChangeOrigin::of(ChangeCause::Cli),
            &StageMove {
                lead: lead("ana@acme.example"),
                pipeline: Some("partner".into()),
                stage: Some("sourced".into()),
                reason: None,
            },
        )
        .unwrap();
    assert_eq!((switched.from, switched.to.as_str()), (None, "sourced"));
    let unknown = w.engine.move_lead(
        &ADMIN,
        &ChangeOrigin::of(ChangeCause::Cli),
        &StageMove { lead: lead("ana@acme.example"), pipeline: Some("b2c".into()), stage: None, reason: None },
    );
    assert!(matches!(unknown, Err(EngineError::NoSuchPipeline { .. })), "{unknown:?}");
}

#[test]
fn sales_moves_only_the_leads_it_owns() {
    let mut w = World::new();
    w.upsert("ana@acme.example", |p| {
        p.employees = Some(500.0);
        p.owner = Some("bo".into());
    });
    w.track("ana@acme.example", "demo_requested");
    let bo = Actor { role: Role::Sales, name: "bo" };
    let cy = Actor { role: Role::Sales, name: "cy" };
    assert!(matches!(w.move_as(&cy, "ana@acme.example", "meeting", None), Err(EngineError::Refused(_))));
    w.upsert("ana@acme.example", |p| p.company = Some("Acme".into()));
    w.move_as(&bo, "ana@acme.example", "meeting", None).unwrap();
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "meeting"));
}

#[test]
fn recycling_clears_the_mql_so_that_it_fires_again_and_the_lead_comes_back_for_a_new_cycle() {
    let mut w = World::new();
    w.upsert("ana@acme.example", |p| p.employees = Some(500.0));
    assert!(w.track("ana@acme.example", "demo_requested"));
    let first_cycle = w.lead("ana@acme.example").pipeline_clock.entered_at.unwrap();

    w.clock.set(t("2026-06-10T09:00:00Z"));
    w.move_to("ana@acme.example", "recycled", None).unwrap();
    let recycled = w.lead("ana@acme.example");
    assert_eq!(recycled.mql_at, None, "its MQL mark is cleared");
    assert_eq!(recycled.pipeline_clock.recycles, 1);
    assert_eq!(recycled.profile.stage, LifecycleStage::Recycled);
    assert_eq!(recycled.pipeline_clock.entered_at, Some(first_cycle), "the cycle it ended is still the one it had");

    // Its next score qualifies it again: the MQL rule fires a second time, and it comes back.
    w.clock.set(t("2026-06-20T09:00:00Z"));
    assert!(w.track("ana@acme.example", "page_view"), "the MQL fires again");
    let back = w.lead("ana@acme.example");
    assert_eq!(
        (back.profile.pipeline.as_deref(), back.profile.pipeline_stage.as_deref()),
        (Some("inbound-b2b"), Some("new"))
    );
    assert!(back.pipeline_clock.entered_at.unwrap() > t("2026-06-20T09:00:00Z"), "a new cycle");
    assert_eq!(back.pipeline_clock.recycles, 1, "the count is kept");
    assert!(back.mql_at.is_some());
}

#[test]
fn the_sweep_routes_the_mqls_no_request_did_and_ends_cycles_past_their_length() {
    let mut w = World::new();
    // Imported leads are scored by the rescore after the import, which routes nobody.
    let import = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    let rows: Vec<LeadInput> = [("ana@acme.example", None), ("pat@partner.example", Some("referral"))]
        .into_iter()
        .map(|(email, source)| {
            let mut profile = Profile::new(Email::parse(email).unwrap());
            profile.employees = Some(500.0);
            profile.source = source.map(Into::into);
            profile.custom.insert("partner_id".into(), CustomValue::Text("P-1".into()));
            LeadInput::of(profile)
        })
        .collect();
    w.engine.import_leads(&rows, &import).unwrap();
    for email in ["ana@acme.example", "pat@partner.example"] {
        w.track(email, "demo_requested");
    }
    // Both became MQLs by their events and were routed at once; a third becomes one by a
    // rescore (a model whose threshold it already meets), which routes nobody.
    w.upsert("cy@acme.example", |p| p.employees = Some(500.0));
    const EASY: &str = r#"
name = "easy"
[fit]
min = 0
max = 30
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 30
[engagement]
[mql]
min_total = 30
"#;
    w.engine.apply_model(EASY, &leadflow_engine::Quiet).unwrap();
    assert!(w.lead("cy@acme.example").mql_at.is_some());
    assert_eq!(w.place("cy@acme.example"), (None, None));
    let report = w.engine.sweep_pipelines().unwrap();
    assert_eq!(report.routed, 1);
    assert_eq!(w.place("cy@acme.example"), place("inbound-b2b", "new"));
    assert_eq!(w.engine.sweep_pipelines().unwrap().routed, 0, "a second sweep finds nothing");

    // Partner's cycle is 60 days, inbound's 120: at day 61 the partner lead is disqualified,
    // at day 121 the inbound ones are recycled.
    w.clock.set(t("2026-08-01T09:00:00Z"));
    let report = w.engine.sweep_pipelines().unwrap();
    assert_eq!(report.cycles_ended, 1);
    assert_eq!(w.place("pat@partner.example").1.as_deref(), Some("rejected"));
    w.clock.set(t("2026-10-01T09:00:00Z"));
    let report = w.engine.sweep_pipelines().unwrap();
    assert_eq!(report.cycles_ended, 2);
    for email in ["ana@acme.example", "cy@acme.example"] {
        let record = w.lead(email);
        assert_eq!(record.profile.pipeline_stage.as_deref(), Some("recycled"), "{email}");
        assert_eq!((record.mql_at, record.pipeline_clock.recycles), (None, 1));
    }
    let log = w.engine.changes(&lead("ana@acme.example"), 1).unwrap().unwrap();
    assert_eq!(log[0].origin.reason.as_deref(), Some("its cycle ended after 120 days"));
    // A lead a rep moved on to a closed stage is not the sweep's.
    assert_eq!(w.engine.sweep_pipelines().unwrap().cycles_ended, 0);
}

#[test]
fn a_version_without_a_stage_that_holds_leads_is_refused() {
    let mut w = World::new();
    w.upsert("ana@acme.example", |p| p.employees = Some(500.0));
    w.track("ana@acme.example", "demo_requested");
    assert_eq!(w.place("ana@acme.example"), place("inbound-b2b", "new"));
    // The same pipeline with `new` renamed `fresh`.
    let renamed = INBOUND.replace("id = \"new\"", "id = \"fresh\"").replace("to = [\"new\"]", "to = [\"fresh\"]");
    match w.engine.save_pipeline(&renamed, true) {
        Err(EngineError::StagesInUse { pipeline, stages }) => {
            assert_eq!((pipeline.as_str(), stages), ("inbound-b2b", vec![("new".to_string(), 1)]));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Stored without activating, it can be activated once nobody is in `new`.
    let stored = w.engine.save_pipeline(&renamed, false).unwrap();
    assert!(!stored.activated);
    w.move_to("ana@acme.example", "recycled", None).unwrap();
    w.engine.activate_pipeline(stored.version).unwrap();
    let counts = w.engine.stage_counts("inbound-b2b").unwrap();
    assert_eq!(counts[0], ("fresh".to_string(), 0), "the active version's stages, in its order");
    assert!(counts.contains(&("recycled".to_string(), 1)));
}
