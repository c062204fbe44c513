//! Scoring: a pure function of (model, lead facts, events, as-of time).
//!
//! [`score`] is the definition. [`explain`] is the same computation, recording each rule's part.
//! [`ScoreState`] is the incremental path: it folds events in one at a time, in any order, and
//! must always agree with [`score`] (a property test checks that).

mod state;

use serde::{Deserialize, Serialize};

use crate::event::EventShape;
use crate::lead::Profile;
use crate::model::{Cap, Grade, Model};
use crate::time::Timestamp;

pub use state::{ScoreState, StateDecodeError};

/// What scoring needs to know about a lead besides its events.
#[derive(Clone, Copy, Debug)]
pub struct LeadFacts<'a> {
    pub profile: &'a Profile,
    pub created_at: Timestamp,
}

/// Which engagement rules (bit i = rule i) and inactivity rules an event matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventMatch {
    pub rules: u64,
    pub inactivity: u32,
}

impl EventMatch {
    pub fn is_empty(self) -> bool {
        self.rules == 0 && self.inactivity == 0
    }
}

impl Model {
    /// Matches an event's type and properties against every rule. Depends on nothing else, so
    /// callers match each distinct shape once.
    pub fn match_event(&self, shape: &EventShape) -> EventMatch {
        let mut m = EventMatch::default();
        for (i, r) in self.engagement.rules.iter().enumerate() {
            if r.matches(shape) {
                m.rules |= 1 << i;
            }
        }
        for (i, r) in self.engagement.inactivity.iter().enumerate() {
            if r.watches(shape) {
                m.inactivity |= 1 << i;
            }
        }
        m
    }

    /// The fit score before clamping.
    pub fn raw_fit(&self, profile: &Profile) -> f64 {
        // fold from +0.0: `Sum` for floats starts at -0.0, and "-0" is no score to show anyone.
        self.fit.rules.iter().filter(|r| r.matches(profile)).fold(0.0, |acc, r| acc + r.points)
    }
}

/// One event as scoring sees it: when, and which rules it matched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Activity {
    pub ts: Timestamp,
    pub matched: EventMatch,
}

/// A lead's scores under one model at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreCard {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    /// Index into the model's buckets.
    pub bucket: usize,
    pub grade: Grade,
    pub qualifies_mql: bool,
}

impl ScoreCard {
    pub fn bucket_name<'m>(&self, model: &'m Model) -> &'m str {
        &model.buckets[self.bucket].name
    }

    fn from_raw(model: &Model, raw_fit: f64, raw_engagement: f64) -> ScoreCard {
        let fit = model.fit.bounds.clamp(raw_fit);
        let engagement = model.engagement.bounds.clamp(raw_engagement);
        let total = model.total.clamp(fit + engagement);
        let bucket =
            model.buckets.iter().position(|b| b.min.is_none_or(|m| total >= m)).unwrap_or(model.buckets.len() - 1);
        let grade = model.grade_for(fit);
        ScoreCard { fit, engagement, total, bucket, grade, qualifies_mql: model.qualifies_mql(total, grade) }
    }
}

/// Each rule's part in a score, for people.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub card: ScoreCard,
    pub as_of: Timestamp,
    /// The fit rules that matched.
    pub fit: Vec<FitLine>,
    pub fit_before_bounds: f64,
    /// Every engagement rule that matched at least one event.
    pub engagement: Vec<EngagementLine>,
    /// The inactivity penalties that applied.
    pub inactivity: Vec<InactivityLine>,
    pub engagement_before_bounds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitLine {
    pub rule: String,
    pub points: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngagementLine {
    pub rule: String,
    /// Events of the rule's type and conditions up to the as-of time.
    pub events_matched: u64,
    /// Of those, the ones its cap let count.
    pub events_counted: u64,
    pub points_before_decay: f64,
    pub points_after_decay: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InactivityLine {
    pub rule: String,
    pub days: u32,
    pub points: f64,
}

/// Receives each rule's part as [`run`] computes it; the no-op one costs nothing.
trait Recorder {
    fn fit(&mut self, _rule: usize, _points: f64) {}
    fn engagement(&mut self, _rule: usize, _matched: u64, _counted: u64, _before: f64, _after: f64) {}
    fn inactivity(&mut self, _rule: usize, _points: f64) {}
}

struct Silent;
impl Recorder for Silent {}

/// Scores a lead. `activity` may be in any order; events after `as_of` are ignored.
pub fn score(model: &Model, lead: LeadFacts<'_>, activity: &[Activity], as_of: Timestamp) -> ScoreCard {
    run(model, lead, activity, as_of, &mut Silent)
}

/// Scores a lead and says how each rule contributed.
pub fn explain(model: &Model, lead: LeadFacts<'_>, activity: &[Activity], as_of: Timestamp) -> Explanation {
    #[derive(Default)]
    struct Lines {
        fit: Vec<(usize, f64)>,
        engagement: Vec<(usize, u64, u64, f64, f64)>,
        inactivity: Vec<(usize, f64)>,
    }
    impl Recorder for Lines {
        fn fit(&mut self, rule: usize, points: f64) {
            self.fit.push((rule, points));
        }
        fn engagement(&mut self, rule: usize, matched: u64, counted: u64, before: f64, after: f64) {
            self.engagement.push((rule, matched, counted, before, after));
        }
        fn inactivity(&mut self, rule: usize, points: f64) {
            self.inactivity.push((rule, points));
        }
    }
    let mut lines = Lines::default();
    let card = run(model, lead, activity, as_of, &mut lines);
    let rules = &model.engagement.rules;
    Explanation {
        card,
        as_of,
        fit_before_bounds: lines.fit.iter().fold(0.0, |acc, (_, p)| acc + p),
        fit: lines.fit.into_iter().map(|(i, points)| FitLine { rule: model.fit.rules[i].id.clone(), points }).collect(),
        engagement_before_bounds: lines.engagement.iter().map(|l| l.4).sum::<f64>()
            + lines.inactivity.iter().map(|(_, p)| p).sum::<f64>(),
        engagement: lines
            .engagement
            .into_iter()
            .map(|(i, matched, counted, before, after)| EngagementLine {
                rule: rules[i].id.clone(),
                events_matched: matched,
                events_counted: counted,
                points_before_decay: before,
                points_after_decay: after,
            })
            .collect(),
        inactivity: lines
            .inactivity
            .into_iter()
            .map(|(i, points)| InactivityLine {
                rule: model.engagement.inactivity[i].id.clone(),
                days: model.engagement.inactivity[i].days,
                points,
            })
            .collect(),
    }
}

fn run(
    model: &Model,
    lead: LeadFacts<'_>,
    activity: &[Activity],
    as_of: Timestamp,
    rec: &mut impl Recorder,
) -> ScoreCard {
    let mut raw_fit = 0.0;
    for (i, r) in model.fit.rules.iter().enumerate() {
        if r.matches(lead.profile) {
            raw_fit += r.points;
            rec.fit(i, r.points);
        }
    }

    // Caps keep the most recent events, so walk newest first.
    let sorted;
    let newest_first: &mut dyn Iterator<Item = &Activity> = if activity.is_sorted_by(|a, b| a.ts >= b.ts) {
        &mut activity.iter()
    } else if activity.is_sorted_by(|a, b| a.ts <= b.ts) {
        &mut activity.iter().rev()
    } else {
        let mut copy = activity.to_vec();
        copy.sort_unstable_by_key(|a| std::cmp::Reverse(a.ts));
        sorted = copy;
        &mut sorted.iter()
    };

    let rules = &model.engagement.rules;
    let n = rules.len();
    let mut matched = [0u64; 64];
    let mut counted = [0u64; 64];
    let mut before = [0f64; 64];
    let mut after = [0f64; 64];
    let mut period = [i64::MIN; 64];
    let mut in_period = [0u32; 64];
    let mut last_seen = [None::<Timestamp>; 32];
    for a in newest_first {
        if a.ts > as_of {
            continue;
        }
        let age_days = as_of.days_since(a.ts);
        let mut bits = a.matched.rules;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let rule = &rules[i];
            matched[i] += 1;
            let counts = match rule.cap {
                Cap::EveryTime => true,
                Cap::MostRecent(cap) => counted[i] < u64::from(cap),
                Cap::PerPeriod(cap, p) => {
                    let idx = p.index(a.ts);
                    if idx != period[i] {
                        period[i] = idx;
                        in_period[i] = 0;
                    }
                    in_period[i] < cap
                }
            };
            if counts {
                counted[i] += 1;
                in_period[i] += 1;
                before[i] += rule.points;
                after[i] += rule.points * rule.decay.factor(age_days);
            }
        }
        let mut bits = a.matched.inactivity;
        while bits != 0 {
            let j = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            // Newest first: the first one seen is the latest.
            last_seen[j].get_or_insert(a.ts);
        }
    }
    let mut raw_engagement = 0.0;
    for i in 0..n {
        if matched[i] > 0 {
            raw_engagement += after[i];
            rec.engagement(i, matched[i], counted[i], before[i], after[i]);
        }
    }
    for (j, r) in model.engagement.inactivity.iter().enumerate() {
        if inactivity_applies(r.days, lead.created_at, last_seen[j], as_of) {
            raw_engagement += r.points;
            rec.inactivity(j, r.points);
        }
    }
    ScoreCard::from_raw(model, raw_fit, raw_engagement)
}

/// The penalty applies to a lead old enough to have been active, with no watched event in the
/// window `[as_of - days, as_of]`.
fn inactivity_applies(days: u32, created_at: Timestamp, last_seen: Option<Timestamp>, as_of: Timestamp) -> bool {
    let since = as_of.minus_days(days);
    created_at <= since && last_seen.is_none_or(|t| t < since)
}

#[cfg(test)]
mod tests;
