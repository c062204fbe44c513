use proptest::prelude::*;

use super::*;
use crate::email::Email;
use crate::event::{EventShape, EventType};

const MODEL: &str = r#"
name = "test"
[fit]
min = -20
max = 40
[[fit.rules]]
id = "exec"
field = "job_title"
op = "contains_phrase"
values = ["cto", "vp"]
points = 25
[[fit.rules]]
id = "big"
field = "employees"
op = "between"
min = 1000
points = 15
[[fit.rules]]
id = "student"
field = "job_title"
op = "contains_phrase"
values = ["student"]
points = -30
[engagement]
half_life_days = 30
[[engagement.rules]]
id = "pricing"
event = "page_view"
where = [{ property = "url", op = "contains", value = "/pricing" }]
points = 10
max_count = 2
[[engagement.rules]]
id = "any_view"
event = "page_view"
points = 1
[[engagement.rules]]
id = "demo"
event = "demo_requested"
points = 30
max_count = 1
decay = false
[[engagement.rules]]
id = "opens"
event = "email_open"
points = 2
max_count = 1
per = "day"
half_life_days = 7
[[engagement.rules]]
id = "weekly_clicks"
event = "email_click"
points = 3
max_count = 2
per = "week"
[[engagement.inactivity]]
id = "no_open"
event = "email_open"
days = 30
points = -10
[[engagement.inactivity]]
id = "silent"
event = "any"
days = 60
points = -5
[mql]
min_total = 50
min_grade = "B"
"#;

fn model() -> Model {
    Model::parse(MODEL).unwrap()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn shape(t: &str, url: &str) -> EventShape {
    EventShape::new(EventType::parse(t).unwrap()).with_property("url", url).unwrap()
}

fn profile(title: &str, employees: Option<f64>) -> Profile {
    let mut p = Profile::new(Email::parse("x@y.co").unwrap());
    p.job_title = Some(title.to_string());
    p.employees = employees;
    p
}

#[test]
fn hand_computed_score() {
    let m = model();
    let as_of = ts("2026-07-01T00:00:00Z");
    let p = profile("VP Engineering", Some(5000.0));
    let lead = LeadFacts { profile: &p, created_at: ts("2026-01-01T00:00:00Z") };
    let ev = |t: &str, s: &EventShape| Activity { ts: ts(t), matched: m.match_event(s) };
    let pricing = shape("page_view", "/pricing/enterprise");
    let home = shape("page_view", "/");
    let demo = shape("demo_requested", "");
    let activity = [
        ev("2026-07-01T00:00:00Z", &pricing), // age 0: 10 + 1
        ev("2026-06-01T00:00:00Z", &pricing), // age 30: 5 + 0.5
        ev("2026-05-02T00:00:00Z", &pricing), // third pricing view: over the cap, 0 + 0.25
        ev("2026-05-02T00:00:00Z", &home),    // 0.25
        ev("2026-03-01T00:00:00Z", &demo),    // no decay: 30
        ev("2026-07-02T00:00:00Z", &demo),    // after as_of: ignored
    ];
    let card = score(&m, lead, &activity, as_of);
    assert_eq!(card.fit, 40.0);
    // The lead has no email open in 30 days (-10) but was active in the last 60 days.
    let expected = 11.0 + 5.5 + 0.25 + 0.25 + 30.0 - 10.0;
    assert!((card.engagement - expected).abs() < 1e-9, "{}", card.engagement);
    assert!((card.total - (40.0 + expected)).abs() < 1e-9);
    assert_eq!(card.bucket_name(&m), "warm");
    assert_eq!(card.grade, Grade::A);
    assert!(card.qualifies_mql);

    let why = explain(&m, lead, &activity, as_of);
    assert_eq!(why.card, card);
    assert_eq!(why.fit.iter().map(|l| l.rule.as_str()).collect::<Vec<_>>(), ["exec", "big"]);
    assert_eq!(why.fit_before_bounds, 40.0);
    let pricing_line = why.engagement.iter().find(|l| l.rule == "pricing").unwrap();
    assert_eq!((pricing_line.events_matched, pricing_line.events_counted), (3, 2));
    assert_eq!(pricing_line.points_before_decay, 20.0);
    assert!((pricing_line.points_after_decay - 15.0).abs() < 1e-9);
    assert_eq!(why.inactivity.len(), 1);
    assert_eq!(why.inactivity[0].rule, "no_open");
}

#[test]
fn bounds_clamp_and_new_leads_escape_inactivity() {
    let m = model();
    let p = profile("Student", None);
    let as_of = ts("2026-07-01T00:00:00Z");
    let fresh = LeadFacts { profile: &p, created_at: ts("2026-06-15T00:00:00Z") };
    let card = score(&m, fresh, &[], as_of);
    assert_eq!((card.fit, card.engagement, card.total), (-20.0, 0.0, 0.0));
    let nobody = profile("", None);
    let none = LeadFacts { profile: &nobody, ..fresh };
    assert!(m.raw_fit(&nobody).is_sign_positive(), "no rule matched: +0, not -0");
    let state = ScoreState::new(&m).score(&m, none, as_of).unwrap();
    assert!(state.fit.is_sign_positive() && state.engagement.is_sign_positive());
    assert_eq!(card.grade, Grade::F);
    let old = LeadFacts { created_at: ts("2025-01-01T00:00:00Z"), ..fresh };
    assert_eq!(score(&m, old, &[], as_of).engagement, -15.0);
}

#[test]
fn per_period_caps_count_the_newest_in_each_period() {
    let m = model();
    let p = profile("", None);
    let lead = LeadFacts { profile: &p, created_at: ts("2026-06-30T00:00:00Z") };
    let open = m.match_event(&shape("email_open", ""));
    let as_of = ts("2026-07-01T00:00:00Z");
    let a = |t: &str| Activity { ts: ts(t), matched: open };
    // Two opens on June 30 (one counts), one on July 1.
    let activity = [a("2026-06-30T08:00:00Z"), a("2026-06-30T20:00:00Z"), a("2026-07-01T00:00:00Z")];
    let why = explain(&m, lead, &activity, as_of);
    let line = &why.engagement[0];
    assert_eq!((line.events_matched, line.events_counted), (3, 2));
    let expected = 2.0 + 2.0 * 0.5f64.powf((4.0 / 24.0) / 7.0);
    assert!((line.points_after_decay - expected).abs() < 1e-9);
}

/// A model, a lead and events with random times and random rule matches.
fn arb_case() -> impl Strategy<Value = (Vec<Activity>, i64, i64, u64)> {
    let day = 86_400_000i64;
    let event = (0i64..400 * day, any::<u64>(), any::<u32>());
    (prop::collection::vec(event, 0..60), 0i64..400 * day, 0i64..30 * day, any::<u64>()).prop_map(
        move |(events, created_offset, after_newest, seed)| {
            let base = 1_750_000_000_000i64;
            let activity: Vec<Activity> = events
                .into_iter()
                .map(|(t, rules, inactivity)| Activity {
                    ts: Timestamp::from_millis(base + t),
                    matched: EventMatch { rules: rules & 0b11111, inactivity: inactivity & 0b11 },
                })
                .collect();
            let newest = activity.iter().map(|a| a.ts.millis()).max().unwrap_or(base);
            (activity, base + created_offset, newest + after_newest, seed)
        },
    )
}

fn shuffle(v: &mut [Activity], mut seed: u64) {
    for i in (1..v.len()).rev() {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        v.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

fn assert_agree(a: &ScoreCard, b: &ScoreCard) -> Result<(), TestCaseError> {
    prop_assert!((a.fit - b.fit).abs() < 1e-9);
    prop_assert!((a.engagement - b.engagement).abs() < 1e-6, "{} vs {}", a.engagement, b.engagement);
    prop_assert!((a.total - b.total).abs() < 1e-6);
    prop_assert_eq!(a.grade, b.grade);
    Ok(())
}

proptest! {
    #[test]
    fn incremental_agrees_with_full_recompute((mut activity, created, as_of, seed) in arb_case()) {
        let m = model();
        let p = profile("CTO", Some(50.0));
        let lead = LeadFacts { profile: &p, created_at: Timestamp::from_millis(created) };
        let as_of = Timestamp::from_millis(as_of);
        let full = score(&m, lead, &activity, as_of);

        // Events arrive in any order, one at a time.
        shuffle(&mut activity, seed);
        let mut state = ScoreState::new(&m);
        for a in &activity {
            state.apply(&m, *a);
        }
        let incremental = state.score(&m, lead, as_of).expect("as_of is after every event");
        assert_agree(&full, &incremental)?;

        // The full score does not depend on the order it is given the events in.
        assert_agree(&full, &score(&m, lead, &activity, as_of))?;

        // What the store keeps reads back the same.
        let decoded = ScoreState::decode(&state.encode(), &m).unwrap();
        prop_assert_eq!(&decoded, &state);

        // Time passing (decay, inactivity) is scored from the state alone.
        let later = as_of.plus_days(45);
        assert_agree(&score(&m, lead, &activity, later), &state.score(&m, lead, later).unwrap())?;

        // Before the newest event the state cannot answer.
        if let Some(newest) = state.newest() {
            prop_assert!(state.score(&m, lead, Timestamp::from_millis(newest.millis() - 1)).is_none());
        }
    }
}

#[test]
fn decode_rejects_garbage_and_other_models() {
    let m = model();
    let bytes = ScoreState::new(&m).encode();
    assert!(ScoreState::decode(&bytes[..bytes.len() - 1], &m).is_err());
    assert!(ScoreState::decode(&[9, 9, 9], &m).is_err());
    let other = Model::builtin_default();
    assert_eq!(ScoreState::decode(&bytes, &other), Err(StateDecodeError::OtherModel));
}
