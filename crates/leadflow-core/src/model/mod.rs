//! Scoring models: what a model file says, validated.
//!
//! A [`Model`] can only be built by [`Model::parse`], which checks every invariant the scorer
//! relies on (bounds ordered, buckets and grades strictly ordered, fit at most half of the total,
//! at most 64 engagement rules, ...). Code that holds a `Model` never re-checks.

mod known;
pub(crate) mod parse;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{EventShape, EventType};
use crate::lead::{FieldRef, FieldValue, Profile};
use crate::text::{contains_phrase_any_case, eq_any_case};

pub use known::{Known, ModelWarning};
pub use parse::{ModelError, ModelProblem};

/// The most engagement rules a model may have (they are tracked as bits of a `u64`).
pub const MAX_ENGAGEMENT_RULES: usize = 64;
/// The most inactivity rules a model may have.
pub const MAX_INACTIVITY_RULES: usize = 32;

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: Option<String>,
    pub fit: FitSection,
    pub engagement: EngagementSection,
    pub total: Bounds,
    pub buckets: Vec<Bucket>,
    pub grades: Vec<GradeBand>,
    pub mql: Option<MqlRule>,
    /// The leads a learned model was learned from (`trained_on`, written by `leadflow train`):
    /// a backtest on them is in-sample, and says so.
    pub trained_on: crate::LeadIds,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min: f64,
    pub max: f64,
}

impl Bounds {
    pub fn clamp(self, x: f64) -> f64 {
        x.clamp(self.min, self.max)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FitSection {
    pub bounds: Bounds,
    pub rules: Vec<FitRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FitRule {
    pub id: String,
    pub field: FieldRef,
    pub condition: Condition,
    pub points: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EngagementSection {
    /// Optional bounds of the engagement score; unbounded sides are infinite.
    pub bounds: Bounds,
    pub rules: Vec<EngagementRule>,
    pub inactivity: Vec<InactivityRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EngagementRule {
    pub id: String,
    pub event: EventType,
    /// Conditions on the event's properties; all must hold.
    pub conditions: Vec<PropertyCondition>,
    pub points: f64,
    pub cap: Cap,
    pub decay: Decay,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PropertyCondition {
    pub property: String,
    pub condition: Condition,
}

/// How often a rule counts the events it matches. When more match than may count, the most
/// recent ones count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    EveryTime,
    /// At most this many events in all (1 = once).
    MostRecent(u32),
    /// At most this many events in each calendar period (UTC).
    PerPeriod(u32, Period),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn index(self, t: crate::Timestamp) -> i64 {
        match self {
            Period::Day => t.day_index(),
            Period::Week => t.week_index(),
            Period::Month => t.month_index(),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }
}

/// How an event's points fade with its age.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decay {
    None,
    /// Points halve every this many days: `points * 0.5^(age_days / half_life)`.
    HalfLifeDays(f64),
}

impl Decay {
    pub fn factor(self, age_days: f64) -> f64 {
        match self {
            Decay::None => 1.0,
            Decay::HalfLifeDays(h) => 0.5f64.powf(age_days / h),
        }
    }
}

/// No event of a type within `days` days before the as-of time gives `points` (a penalty), for
/// leads created at least `days` days before it.
#[derive(Clone, Debug, PartialEq)]
pub struct InactivityRule {
    pub id: String,
    /// `None` means any event type.
    pub event: Option<EventType>,
    pub days: u32,
    pub points: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub name: String,
    /// `None` only for the last bucket, which takes the rest.
    pub min: Option<f64>,
}

impl Model {
    /// The model's bucket a user means by `name`, ignoring case (`Warm` is `warm`); the error
    /// lists the buckets there are.
    pub fn bucket_named(&self, name: &str) -> Result<&str, String> {
        self.buckets.iter().find(|b| b.name.eq_ignore_ascii_case(name.trim())).map(|b| b.name.as_str()).ok_or_else(
            || {
                let names: Vec<&str> = self.buckets.iter().map(|b| b.name.as_str()).collect();
                format!(
                    "no bucket `{}` in model `{}` (its buckets: {})",
                    crate::text::printable(name),
                    self.name,
                    names.join(", ")
                )
            },
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
    E,
    F,
}

impl Grade {
    pub const ALL: [Grade; 6] = [Grade::A, Grade::B, Grade::C, Grade::D, Grade::E, Grade::F];

    pub fn parse(s: &str) -> Option<Grade> {
        Grade::ALL.into_iter().find(|g| g.letter().eq_ignore_ascii_case(s.trim()))
    }

    pub fn letter(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::E => "E",
            Grade::F => "F",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GradeBand {
    pub grade: Grade,
    /// `None` only for the last band, which takes the rest.
    pub min_fit: Option<f64>,
}

/// The tipping point: a lead whose total reaches `min_total` with a grade at least `min_grade`
/// becomes marketing-qualified.
#[derive(Clone, Debug, PartialEq)]
pub struct MqlRule {
    pub min_total: f64,
    pub min_grade: Option<Grade>,
}

/// A test on one value. Text comparisons are case-insensitive except `Contains`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub test: Test,
    /// `not = true`: the rule matches when the test does not.
    pub negate: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Equality with one of the values (stored lower-case).
    In(Vec<String>),
    /// Some value occurs as a whole-word phrase (stored lower-case).
    ContainsPhrase(Vec<String>),
    /// Some value occurs as a case-sensitive substring.
    Contains(Vec<String>),
    /// The value parses as a number within the inclusive range.
    Between { min: Option<f64>, max: Option<f64> },
    /// The value is present and not empty.
    Exists,
}

impl Condition {
    /// Missing or empty values never pass a test (so `not` passes on them).
    pub fn matches(&self, value: FieldValue<'_>) -> bool {
        self.test.matches(value) != self.negate
    }
}

impl Test {
    fn matches(&self, value: FieldValue<'_>) -> bool {
        let number_text;
        let text: &str = match value {
            FieldValue::Missing => return false,
            FieldValue::Text(s) => s,
            FieldValue::Number(n) => {
                number_text = format_number(n);
                &number_text
            }
            FieldValue::Bool(b) => {
                if b {
                    "true"
                } else {
                    "false"
                }
            }
            FieldValue::Date(t) => {
                number_text = t.to_string();
                &number_text
            }
        };
        if text.is_empty() {
            return false;
        }
        match self {
            Test::Exists => true,
            Test::In(values) => values.iter().any(|v| eq_any_case(text, v)),
            Test::ContainsPhrase(phrases) => phrases.iter().any(|p| contains_phrase_any_case(text, p)),
            Test::Contains(parts) => parts.iter().any(|p| text.contains(p.as_str())),
            Test::Between { min, max } => {
                let x = match value {
                    FieldValue::Number(n) => n,
                    _ => match text.trim().parse::<f64>() {
                        Ok(x) if !x.is_nan() => x,
                        _ => return false,
                    },
                };
                min.is_none_or(|m| m <= x) && max.is_none_or(|m| x <= m)
            }
        }
    }
}

/// Integers print without a fraction so that `in = ["500"]` matches 500 employees.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

impl FitRule {
    pub fn matches(&self, profile: &Profile) -> bool {
        self.condition.matches(profile.value(&self.field))
    }
}

impl EngagementRule {
    pub fn matches(&self, shape: &EventShape) -> bool {
        shape.event_type == self.event
            && self.conditions.iter().all(|c| {
                let v = shape.property(&c.property).map_or(FieldValue::Missing, FieldValue::Text);
                c.condition.matches(v)
            })
    }
}

impl InactivityRule {
    pub fn watches(&self, shape: &EventShape) -> bool {
        self.event.as_ref().is_none_or(|t| *t == shape.event_type)
    }
}

impl Model {
    /// The event properties its rules look at: what stores keep in event shapes.
    pub fn property_names(&self) -> std::collections::BTreeSet<String> {
        self.engagement.rules.iter().flat_map(|r| r.conditions.iter().map(|c| c.property.clone())).collect()
    }
}

impl Model {
    pub fn bucket_for(&self, total: f64) -> &str {
        let bucket = self
            .buckets
            .iter()
            .find(|b| b.min.is_none_or(|m| total >= m))
            .unwrap_or_else(|| self.buckets.last().expect("a model has at least three buckets"));
        &bucket.name
    }

    pub fn grade_for(&self, fit: f64) -> Grade {
        self.grades
            .iter()
            .find(|g| g.min_fit.is_none_or(|m| fit >= m))
            .unwrap_or_else(|| self.grades.last().expect("a model has at least two grades"))
            .grade
    }

    pub fn qualifies_mql(&self, total: f64, grade: Grade) -> bool {
        self.mql.as_ref().is_some_and(|m| total >= m.min_total && m.min_grade.is_none_or(|g| grade <= g))
    }

    /// The default model, documented in its source, `default.toml` beside this file.
    pub fn builtin_default() -> Model {
        Model::parse(DEFAULT_MODEL_SOURCE).expect("the built-in default model is valid")
    }
}

/// Source of the built-in default model: kept in this crate, so that it packages on its own.
pub const DEFAULT_MODEL_SOURCE: &str = include_str!("default.toml");
