//! Event properties no rule reads stay out of shapes, and come in when a model reads them: a
//! score never misses a property because it was set aside.

use leadflow_store::prelude::*;
use std::sync::Arc;

use leadflow_core::{Email, EventShape, EventType, LeadRef, Model, Timestamp};
use leadflow_engine::{Engine, EventInput, FixedClock, Quiet};
use leadflow_sqlite::SqliteStore;

const MODEL: &str = leadflow_core::model::DEFAULT_MODEL_SOURCE;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// The default model with its careers-page rule (-10) reading a campaign instead (+10, once).
fn reads_campaign(property: &str) -> String {
    let careers = "where = [{ property = \"url\", op = \"contains\", value = \"/careers\" }]\npoints = -10";
    assert!(MODEL.contains(careers));
    let campaign =
        format!("where = [{{ property = \"{property}\", op = \"equals\", value = \"spring\" }}]\npoints = 10");
    MODEL.replace(careers, &campaign)
}

fn total(engine: &Engine<SqliteStore>) -> f64 {
    let lead = engine.store().lead(&LeadRef::Email(Email::parse("ana@acme.example").unwrap())).unwrap().unwrap();
    lead.score.unwrap().values.total
}

#[test]
fn a_model_that_reads_a_set_aside_property_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-12-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("p.db")).unwrap(), clock);
    engine.apply_model(MODEL, &Quiet).unwrap();
    for i in 0..20 {
        let shape = EventShape::new(EventType::parse("page_view").unwrap())
            .with_property("url", "/docs")
            .unwrap()
            .with_property("campaign", "spring")
            .unwrap()
            .with_property("session_id", &format!("session-{i}"))
            .unwrap();
        let ts = Timestamp::from_millis(t("2026-11-30T10:00:00Z").millis() + i * 60_000);
        let lead = LeadRef::Email(Email::parse("ana@acme.example").unwrap());
        engine.track(EventInput { key: None, lead, ts, shape }).unwrap();
    }
    assert_eq!(engine.store().shapes().unwrap().len(), 1, "twenty sessions, one shape");
    let before = total(&engine);

    let report = engine.apply_model(&reads_campaign("campaign"), &Quiet).unwrap();
    assert_eq!(report.rescore.leads, 1);
    let after = total(&engine);
    assert!(after > before + 9.0, "the campaign rule saw the events it was set aside from: {before} -> {after}");
    // One campaign: one more shape (the first stays, for events without a campaign).
    assert_eq!(engine.store().shapes().unwrap().len(), 2);

    // `model check` knows the set-aside properties, and suggests them for a typo.
    let typo = reads_campaign("sesion_id");
    let warnings = engine.model_warnings(&Model::parse(&typo).unwrap(), &typo).unwrap();
    assert!(warnings.iter().any(|w| w.message.contains("campaign, session_id, url")), "{warnings:?}");
    let fine = reads_campaign("session_id");
    let warnings = engine.model_warnings(&Model::parse(&fine).unwrap(), &fine).unwrap();
    assert!(!warnings.iter().any(|w| w.message.contains("property")), "{warnings:?}");
}
