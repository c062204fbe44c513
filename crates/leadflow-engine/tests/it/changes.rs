//! The change log through the engine: each use case that changes a lead logs what it changed,
//! who did and when, and the profile at any past instant is rebuilt from it.

use std::sync::Arc;

use leadflow_core::lead::{CustomValue, Field, FieldRef};
use leadflow_core::{Email, LeadRef, LifecycleStage, Profile, Timestamp};
use leadflow_engine::{Engine, FixedClock, LeadInput};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A change as the test reads it: field, old, new, cause, actor.
type Logged<'a> = (String, Option<CustomValue>, Option<CustomValue>, ChangeCause, Option<&'a str>);

fn input(profile: Profile) -> LeadInput {
    LeadInput::of(profile)
}

#[test]
fn each_change_is_logged_with_its_origin_and_past_profiles_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
    engine.ensure_model().unwrap();
    let email = Email::parse("ana@acme.example").unwrap();
    let ana = LeadRef::Email(email.clone());

    let mut first = Profile::new(email.clone());
    first.job_title = Some("Engineer".into());
    engine.upsert_lead(input(first.clone())).unwrap();
    assert_eq!(engine.changes(&ana, 10).unwrap().unwrap(), [], "a new lead has no changes, only its first profile");

    clock.set(t("2026-06-02T09:00:00Z"));
    let mut promoted = Profile::new(email.clone());
    promoted.job_title = Some("CTO".into());
    promoted.custom.insert("zip".into(), CustomValue::Text("02134".into()));
    let import = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    let report = engine.import_leads(&[input(promoted)], &import).unwrap();
    assert_eq!(report.updated_leads, 1);

    clock.set(t("2026-06-03T09:00:00Z"));
    let mut owned = Profile::new(email.clone());
    owned.owner = Some("bo".into());
    let api = ChangeOrigin::new(ChangeCause::Api, "website key");
    let admin = leadflow_core::Actor { role: leadflow_core::Role::Admin, name: "" };
    engine.upsert_lead_as(&admin, &api, input(owned)).unwrap();
    // The same again changes nothing, and logs nothing.
    let mut same = Profile::new(email.clone());
    same.owner = Some("bo".into());
    engine.upsert_lead_as(&admin, &api, input(same)).unwrap();

    clock.set(t("2026-06-04T09:00:00Z"));
    engine.recycle(&ana, &ChangeOrigin::of(ChangeCause::Cli)).unwrap();

    let log = engine.changes(&ana, 10).unwrap().unwrap();
    let seen: Vec<Logged> = log
        .iter()
        .map(|c| {
            (
                c.change.field.to_string(),
                c.change.old.clone(),
                c.change.new.clone(),
                c.origin.cause,
                c.origin.actor.as_deref(),
            )
        })
        .collect();
    let text = |s: &str| Some(CustomValue::Text(s.into()));
    assert_eq!(
        seen,
        [
            ("stage".into(), text("lead"), text("recycled"), ChangeCause::Cli, None),
            ("owner".into(), None, text("bo"), ChangeCause::Api, Some("website key")),
            ("custom.zip".into(), None, text("02134"), ChangeCause::Import, Some("crm.csv")),
            ("job_title".into(), text("Engineer"), text("CTO"), ChangeCause::Import, Some("crm.csv")),
        ],
        "newest first"
    );

    let at = |s: &str| engine.profile_at(&ana, t(s)).unwrap().unwrap();
    assert_eq!(at("2026-06-01T12:00:00Z"), first, "as it was created");
    assert_eq!(at("2026-06-02T12:00:00Z").job_title.as_deref(), Some("CTO"));
    assert_eq!(at("2026-06-02T12:00:00Z").owner, None);
    assert_eq!(at("2026-06-03T12:00:00Z").owner.as_deref(), Some("bo"));
    assert_eq!(at("2026-06-03T12:00:00Z").stage, LifecycleStage::Lead);
    let now = engine.store().lead(&ana).unwrap().unwrap().profile;
    assert_eq!(at("2026-06-05T00:00:00Z"), now, "after the last change: as it is");
    assert_eq!(log[0].change.field, FieldRef::Standard(Field::Stage));
}

/// Qualifying as an MQL moves a lead at an earlier stage to mql, and the log says the MQL rule
/// did it, whether the lead was scored by its own write or by a rescore after an import.
#[test]
fn the_mql_tipping_point_logs_the_stage_it_moves() {
    const MODEL: &str = r#"
name = "ctos"
[fit]
min = 0
max = 50
[[fit.rules]]
id = "cto"
field = "job_title"
op = "contains_phrase"
values = ["cto"]
points = 50
[engagement]
[[engagement.rules]]
id = "pricing"
event = "page_view"
points = 1
max_count = 3
[mql]
min_total = 40
"#;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock);
    engine.apply_model(MODEL, &leadflow_engine::Quiet).unwrap();
    let cto = |email: &str| {
        let mut p = Profile::new(Email::parse(email).unwrap());
        p.job_title = Some("CTO".into());
        input(p)
    };
    engine.upsert_lead(cto("one@acme.example")).unwrap();
    let import = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    engine.import_leads(&[cto("two@acme.example")], &import).unwrap();
    engine
        .rescore(leadflow_engine::RescoreOptions::needed(t("2026-06-01T09:00:00Z")), &leadflow_engine::Quiet)
        .unwrap();

    for email in ["one@acme.example", "two@acme.example"] {
        let lead = LeadRef::Email(Email::parse(email).unwrap());
        let log = engine.changes(&lead, 10).unwrap().unwrap();
        assert_eq!(log.len(), 1, "{email}: {log:?}");
        assert_eq!(log[0].change.field, FieldRef::Standard(Field::Stage));
        assert_eq!(log[0].change.new, Some(CustomValue::Text("mql".into())));
        assert_eq!(log[0].origin, ChangeOrigin::mql_rule());
        assert_eq!(engine.store().lead(&lead).unwrap().unwrap().profile.stage, LifecycleStage::Mql);
    }
}
