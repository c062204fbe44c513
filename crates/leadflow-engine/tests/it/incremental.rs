//! Through the real store: events tracked one at a time or in batches (the incremental path, with
//! states kept between calls, events arriving out of order, and repeated keys) leave every lead
//! with the score a bulk rescore from all its events gives at the same instant.

use std::sync::Arc;

use leadflow_core::{Email, EventKey, EventShape, EventType, LeadId, LeadRef, Profile, Timestamp};
use leadflow_engine::{Engine, EventInput, FixedClock, LeadInput, Quiet, RescoreOptions};
use leadflow_sqlite::SqliteStore;
use leadflow_store::Store;
use proptest::prelude::*;

const MODEL: &str = leadflow_core::model::DEFAULT_MODEL_SOURCE;
const TYPES: [&str; 7] = [
    "page_view",
    "email_open",
    "email_click",
    "demo_requested",
    "webinar_attended",
    "email_unsubscribed",
    "trial_started",
];
const URLS: [&str; 3] = ["/", "/pricing", "/careers"];

fn scores<S: Store>(store: &S) -> Vec<(LeadId, f64, f64, f64, String)> {
    let mut out = Vec::new();
    store
        .for_each_score(&mut |id, s| {
            out.push((id, s.values.fit, s.values.engagement, s.values.total, s.values.bucket.clone()))
        })
        .unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn tracking_agrees_with_rescoring_from_events(
        events in prop::collection::vec((0usize..6, 0usize..TYPES.len(), 0usize..URLS.len(), 0i64..300 * 86_400), 1..60),
        batch in prop_oneof![Just(1usize), 2usize..20],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let start = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let now = Timestamp::from_secs(start.millis() / 1000 + 320 * 86_400);
        let clock = Arc::new(FixedClock::new(now));
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("db")).unwrap(), clock);
        engine.apply_model(MODEL, &Quiet).unwrap();
        let titles = ["CTO", "Marketing Manager", "Student", ""];
        for (i, title) in titles.iter().enumerate() {
            let mut profile = Profile::new(Email::parse(&format!("lead{i}@example.com")).unwrap());
            profile.job_title = (!title.is_empty()).then(|| title.to_string());
            profile.employees = Some(10.0 * 10f64.powi(i as i32));
            engine.upsert_lead(LeadInput { id: None, profile, created_at: Some(start), outcome: None, clear: Vec::new(), identities: Vec::new() }).unwrap();
        }
        let inputs: Vec<EventInput> = events.iter().enumerate().map(|(n, (lead, kind, url, offset))| {
            let mut shape = EventShape::new(EventType::parse(TYPES[*kind]).unwrap());
            if TYPES[*kind] == "page_view" {
                shape.set_property("url", URLS[*url]).unwrap();
            }
            EventInput {
                key: Some(EventKey::parse(&format!("e{}", n % 45)).unwrap()),
                lead: LeadRef::Email(Email::parse(&format!("lead{lead}@example.com")).unwrap()),
                ts: Timestamp::from_secs(start.millis() / 1000 + offset),
                shape,
            }
        }).collect();
        // One at a time, or in batches of `batch` (keys repeat past 45: a repeat is skipped as a
        // duplicate for its own lead, refused for another's). Leads 4 and 5 are unknown: their
        // first event creates them.
        if batch == 1 {
            for input in inputs {
                match engine.track(input) {
                    Ok(_) | Err(leadflow_engine::EngineError::KeyOfAnotherLead(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        } else {
            for chunk in inputs.chunks(batch) {
                engine.track_batch(chunk.to_vec()).unwrap();
            }
        }
        let incremental = scores(engine.store());
        let leads = engine.store().stats().unwrap().leads;

        let options = RescoreOptions { from_events: true, all: true, ..RescoreOptions::needed(now) };
        let report = engine.rescore(options, &Quiet).unwrap();
        prop_assert_eq!(report.leads, leads);
        let recomputed = scores(engine.store());
        prop_assert_eq!(incremental.len(), recomputed.len());
        for (a, b) in incremental.iter().zip(&recomputed) {
            prop_assert_eq!(a.0, b.0);
            prop_assert!((a.1 - b.1).abs() < 1e-9 && (a.2 - b.2).abs() < 1e-6 && (a.3 - b.3).abs() < 1e-6, "{:?} vs {:?}", a, b);
            prop_assert_eq!(&a.4, &b.4);
        }
    }
}
