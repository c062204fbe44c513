//! The public tracking endpoint's policy, through the real store: what an unauthenticated
//! visitor can and cannot do to a lead (the threat model is in ARCHITECTURE.md).

use leadflow_store::prelude::*;
use std::sync::Arc;

use leadflow_core::{Email, EventShape, EventType, LeadRef, Profile, Timestamp, VisitorId};
use leadflow_engine::{
    Clock, Engine, FixedClock, IdentitySecret, JobRound, JobSettings, LeadInput, Quiet, TrackingLimits, Visit,
    VisitOutcome,
};
use leadflow_sqlite::SqliteStore;

const MODEL: &str = leadflow_core::model::DEFAULT_MODEL_SOURCE;
const LIMITS: TrackingLimits = TrackingLimits { events_per_lead_per_day: 5 };
const ROOMY: TrackingLimits = TrackingLimits { events_per_lead_per_day: 50 };

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-12-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("t.db")).unwrap(), clock.clone());
    engine.apply_model(MODEL, &Quiet).unwrap();
    World { engine, clock, _dir: dir }
}

fn visit(w: &World, visitor: &str, kind: &str, url: &str, email: Option<&str>) -> Visit {
    Visit {
        visitor: VisitorId::parse(visitor).unwrap(),
        email: email.map(|e| Email::parse(e).unwrap()),
        identity: None,
        ts: w.clock.now(),
        shape: EventShape::new(EventType::parse(kind).unwrap()).with_property("url", url).unwrap(),
    }
}

/// A known lead: VP Sales at a large software company, warm.
fn victim(w: &mut World) -> leadflow_core::LeadId {
    let mut profile = Profile::new(Email::parse("victim@bigco.example").unwrap());
    profile.job_title = Some("VP Sales".into());
    profile.employees = Some(2000.0);
    profile.industry = Some("software".into());
    w.engine.upsert_lead(LeadInput::of(profile)).unwrap().scored.lead
}

fn score(w: &World, email: &str) -> (f64, Option<Timestamp>, usize) {
    let lead = w.engine.store().lead(&LeadRef::Email(Email::parse(email).unwrap())).unwrap().unwrap();
    let events = w.engine.store().activity(lead.id).unwrap().len();
    (lead.score.map_or(0.0, |s| s.values.total), lead.mql_at, events)
}

#[test]
fn a_form_naming_a_known_lead_moves_nothing() {
    let mut w = world();
    let id = victim(&mut w);
    let before = score(&w, "victim@bigco.example");
    // The probe's attack, many times over: forms with the victim's email from fresh visitors,
    // then page views and demo requests from those visitors.
    for i in 0..20 {
        let attacker = format!("attacker-visitor-{i:02}");
        for (kind, url) in [("form_submitted", "/contact"), ("form_submitted", "/demo")] {
            let v = visit(&w, &attacker, kind, url, Some("victim@bigco.example"));
            assert_eq!(w.engine.track_visit(v, LIMITS).unwrap(), VisitOutcome::Unproven);
        }
        for url in ["/pricing", "/pricing/enterprise", "/demo"] {
            let v = visit(&w, &attacker, "page_view", url, None);
            assert_eq!(w.engine.track_visit(v, LIMITS).unwrap(), VisitOutcome::Anonymous);
        }
    }
    assert_eq!(score(&w, "victim@bigco.example"), before, "score, MQL and events as they were");
    assert_eq!(w.engine.store().count_pending_deliveries().unwrap(), 0, "no webhook fired");
    assert!(w.engine.store().lead(&LeadRef::Id(id)).unwrap().unwrap().mql_at.is_none());
}

#[test]
fn an_identity_token_proves_the_visitor_and_brings_its_history() {
    let mut w = world();
    victim(&mut w);
    let visitor = "real-victim-browser";
    for url in ["/pricing", "/pricing"] {
        w.clock.set(Timestamp::from_millis(w.clock.now().millis() + 60_000));
        w.engine.track_visit(visit(&w, visitor, "page_view", url, None), ROOMY).unwrap();
    }
    let claim = visit(&w, visitor, "form_submitted", "/contact", Some("victim@bigco.example"));
    assert_eq!(w.engine.track_visit(claim, ROOMY).unwrap(), VisitOutcome::Unproven);
    let secret = IdentitySecret::new("0123456789abcdef0123456789abcdef").unwrap();
    let victim = Email::parse("victim@bigco.example").unwrap();
    let visitor_id = VisitorId::parse(visitor).unwrap();
    let token = secret.issue(&victim, Some(&visitor_id), Timestamp::from_millis(w.clock.now().millis() + 3_600_000));
    let proven = secret.verify(&token, &visitor_id, w.clock.now()).unwrap();
    let mut v = visit(&w, visitor, "page_view", "/welcome", None);
    v.identity = Some(proven.email);
    match w.engine.track_visit(v, ROOMY).unwrap() {
        VisitOutcome::Lead { merged, created_lead: false, dropped: 0, .. } => assert_eq!(merged, 3),
        other => panic!("{other:?}"),
    }
    assert_eq!(score(&w, "victim@bigco.example").2, 4, "two views, the form and this view");
    // The proven visitor's later views count for the lead at once; its forms with its own email too.
    w.clock.set(Timestamp::from_millis(w.clock.now().millis() + 60_000));
    let v = visit(&w, visitor, "page_view", "/pricing", None);
    assert!(matches!(w.engine.track_visit(v, ROOMY).unwrap(), VisitOutcome::Lead { .. }));
    let v = visit(&w, visitor, "form_submitted", "/quote", Some("victim@bigco.example"));
    assert!(matches!(w.engine.track_visit(v, ROOMY).unwrap(), VisitOutcome::Lead { .. }));
}

#[test]
fn a_lead_a_form_creates_gets_a_bounded_day() {
    let mut w = world();
    let visitor = "fresh-visitor-001";
    for i in 0..8 {
        w.engine.track_visit(visit(&w, visitor, "page_view", &format!("/page-{i}"), None), LIMITS).unwrap();
    }
    let form = visit(&w, visitor, "form_submitted", "/contact", Some("new@lead.example"));
    match w.engine.track_visit(form, LIMITS).unwrap() {
        VisitOutcome::Lead { created_lead: true, merged: 8, dropped: 4, .. } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(score(&w, "new@lead.example").2, 5, "the form and the four newest views");
    let more = visit(&w, visitor, "page_view", "/pricing", None);
    assert_eq!(w.engine.track_visit(more, LIMITS).unwrap(), VisitOutcome::OverLimit, "the day is full");
    w.clock.set(t("2026-12-02T09:00:00Z"));
    let next_day = visit(&w, visitor, "page_view", "/pricing", None);
    assert!(matches!(w.engine.track_visit(next_day, LIMITS).unwrap(), VisitOutcome::Lead { dropped: 0, .. }));
}

#[test]
fn anonymous_visitors_expire() {
    let mut w = world();
    w.engine.track_visit(visit(&w, "old-visitor-01", "page_view", "/", None), LIMITS).unwrap();
    w.clock.set(t("2026-12-20T09:00:00Z"));
    w.engine.track_visit(visit(&w, "new-visitor-01", "page_view", "/", None), LIMITS).unwrap();
    w.clock.set(t("2027-01-05T09:00:00Z"));
    // The hourly sweep, on the job queue.
    let settings = JobSettings {
        rescore_every: None,
        anonymous_retention_days: Some(30),
        keep_finished_days: 7,
        pipeline_sweep_every: None,
        digest: None,
        nurture: None,
    };
    w.engine.schedule_jobs(&settings).unwrap();
    assert_eq!(w.engine.run_due_jobs(&settings, 10).unwrap().done, 2, "the sweep, and the pruning of old jobs");
    assert_eq!(w.engine.run_due_jobs(&settings, 10).unwrap(), JobRound::default(), "one sweep an hour");
    assert_eq!(w.engine.store().stats().unwrap().leads, 0);
    let form = visit(&w, "old-visitor-01", "form_submitted", "/contact", Some("old@lead.example"));
    assert!(matches!(w.engine.track_visit(form, LIMITS).unwrap(), VisitOutcome::Lead { merged: 0, .. }));
    let form = visit(&w, "new-visitor-01", "form_submitted", "/contact", Some("new@lead.example"));
    assert!(matches!(w.engine.track_visit(form, LIMITS).unwrap(), VisitOutcome::Lead { merged: 1, .. }));
}

#[test]
fn a_token_for_someone_new_makes_their_lead() {
    let mut w = world();
    let mut v = visit(&w, "signed-in-visitor", "page_view", "/account", None);
    v.identity = Some(Email::parse("new.customer@acme.example").unwrap());
    assert!(matches!(w.engine.track_visit(v, ROOMY).unwrap(), VisitOutcome::Lead { created_lead: true, .. }));
    assert_eq!(score(&w, "new.customer@acme.example").2, 1);
}

#[test]
fn a_full_day_says_so() {
    let mut w = world();
    let form = visit(&w, "busy-visitor-01", "form_submitted", "/contact", Some("busy@lead.example"));
    w.engine.track_visit(form, TrackingLimits { events_per_lead_per_day: 1 }).unwrap();
    let more = visit(&w, "busy-visitor-01", "page_view", "/pricing", None);
    assert_eq!(
        w.engine.track_visit(more, TrackingLimits { events_per_lead_per_day: 1 }).unwrap(),
        VisitOutcome::OverLimit
    );
}
