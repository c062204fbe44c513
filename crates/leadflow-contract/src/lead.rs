//! A lead, its score and everything `leads show` tells about it.

use std::collections::BTreeMap;

use leadflow_core::{CustomValue, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::points;

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Lead {
    pub id: i64,
    /// Null for a lead a CRM knows by its id alone.
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<f64>,
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub company_type: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    #[schema(value_type = crate::schema::Stage)]
    pub stage: &'static str,
    pub custom: BTreeMap<String, CustomField>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub mql_at: Option<Timestamp>,
    /// Null until the lead is first scored.
    pub score: Option<Score>,
    /// Null until the lead enters a sales pipeline.
    pub pipeline: Option<PipelinePlace>,
}

/// Where a lead is in its sales pipeline, and since when.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelinePlace {
    /// The pipeline's name.
    pub name: String,
    /// The stage's id.
    pub stage: String,
    /// When the lead entered the pipeline: the start of its cycle.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub entered_at: Option<Timestamp>,
    /// When it entered its stage: what rotting counts from.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub stage_entered_at: Option<Timestamp>,
    /// How many times it was recycled back to nurture.
    pub recycles: u32,
}

impl PipelinePlace {
    pub fn of(l: &leadflow_store::LeadRecord) -> Option<PipelinePlace> {
        let (name, stage) = (l.profile.pipeline.as_ref()?, l.profile.pipeline_stage.as_ref()?);
        Some(PipelinePlace {
            name: name.clone(),
            stage: stage.clone(),
            entered_at: l.pipeline_clock.entered_at,
            stage_entered_at: l.pipeline_clock.stage_entered_at,
            recycles: l.pipeline_clock.recycles,
        })
    }
}

/// A custom field's value with its type: `{"type": "text", "value": "02134"}`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum CustomField {
    Text(String),
    Number(f64),
    Bool(bool),
    #[schema(value_type = String, format = DateTime)]
    Date(Timestamp),
}

impl From<&CustomValue> for CustomField {
    fn from(v: &CustomValue) -> CustomField {
        match v {
            CustomValue::Text(s) => CustomField::Text(s.clone()),
            CustomValue::Number(n) => CustomField::Number(*n),
            CustomValue::Bool(b) => CustomField::Bool(*b),
            CustomValue::Date(t) => CustomField::Date(*t),
        }
    }
}

impl From<&leadflow_store::LeadRecord> for Lead {
    fn from(l: &leadflow_store::LeadRecord) -> Lead {
        let p = &l.profile;
        Lead {
            id: l.id.0,
            email: p.email.as_ref().map(ToString::to_string),
            external_id: p.external_id.as_ref().map(ToString::to_string),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            company: p.company.clone(),
            job_title: p.job_title.clone(),
            department: p.department.clone(),
            industry: p.industry.clone(),
            employees: p.employees,
            annual_revenue: p.annual_revenue,
            country: p.country.clone(),
            city: p.city.clone(),
            company_type: p.company_type.clone(),
            source: p.source.clone(),
            owner: p.owner.clone(),
            stage: p.stage.name(),
            custom: p.custom.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
            created_at: l.created_at,
            updated_at: l.updated_at,
            mql_at: l.mql_at,
            score: l.score.as_ref().map(Score::from),
            pipeline: PipelinePlace::of(l),
        }
    }
}

/// Scores without their bookkeeping: fit, engagement, total, bucket and grade.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Values {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    pub bucket: String,
    #[schema(value_type = crate::schema::Grade)]
    pub grade: &'static str,
}

impl From<&leadflow_store::ScoreValues> for Values {
    fn from(v: &leadflow_store::ScoreValues) -> Values {
        Values {
            fit: points(v.fit),
            engagement: points(v.engagement),
            total: points(v.total),
            bucket: v.bucket.clone(),
            grade: v.grade.letter(),
        }
    }
}

impl From<&leadflow_engine::Scored> for Values {
    fn from(s: &leadflow_engine::Scored) -> Values {
        Values {
            fit: points(s.card.fit),
            engagement: points(s.card.engagement),
            total: points(s.card.total),
            bucket: s.bucket.clone(),
            grade: s.card.grade.letter(),
        }
    }
}

/// A lead's stored score: its values, when and by which model version, and whether it awaits a
/// rescore.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Score {
    #[serde(flatten)]
    pub values: Values,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    pub model_version: i64,
    pub stale: bool,
}

impl From<&leadflow_store::StoredScore> for Score {
    fn from(s: &leadflow_store::StoredScore) -> Score {
        Score { values: (&s.values).into(), as_of: s.as_of, model_version: s.model_version.0, stale: s.stale }
    }
}

/// One event of a lead's timeline, as it was sent.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = String, format = DateTime)]
    pub ts: Timestamp,
    pub properties: BTreeMap<String, String>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
}

impl From<&leadflow_store::StoredEvent> for Event {
    fn from(e: &leadflow_store::StoredEvent) -> Event {
        Event {
            id: e.key.as_str().to_string(),
            event_type: e.shape.event_type.as_str().to_string(),
            ts: e.ts,
            properties: e.shape.properties.clone(),
            received_at: e.received_at,
        }
    }
}

/// One change of a lead's score, with its cause.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub cause: String,
    pub model_version: i64,
    pub before: Option<Values>,
    pub after: Values,
    pub became_mql: bool,
}

impl From<&leadflow_store::HistoryEntry> for HistoryEntry {
    fn from(h: &leadflow_store::HistoryEntry) -> HistoryEntry {
        HistoryEntry {
            at: h.at,
            cause: h.cause.to_string(),
            model_version: h.model_version.0,
            before: h.before.as_ref().map(Values::from),
            after: (&h.after).into(),
            became_mql: h.became_mql,
        }
    }
}

/// A lead's latest predicted chance of converting, under a trained model.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Prediction {
    pub probability: f64,
    pub model_version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// A score as scoring computed it: the card of an explanation.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ScoreCard {
    pub fit: f64,
    pub engagement: f64,
    pub total: f64,
    /// The bucket's position among the model's buckets.
    pub bucket: usize,
    #[schema(value_type = crate::schema::Grade)]
    pub grade: &'static str,
    pub qualifies_mql: bool,
}

/// Each rule's part in a score.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Explanation {
    pub card: ScoreCard,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    pub fit: Vec<FitLine>,
    pub fit_before_bounds: f64,
    pub engagement: Vec<EngagementLine>,
    pub inactivity: Vec<InactivityLine>,
    pub engagement_before_bounds: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FitLine {
    pub rule: String,
    pub points: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct EngagementLine {
    pub rule: String,
    pub events_matched: u64,
    pub events_counted: u64,
    pub points_before_decay: f64,
    pub points_after_decay: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct InactivityLine {
    pub rule: String,
    pub days: u32,
    pub points: f64,
}

impl From<&leadflow_core::Explanation> for Explanation {
    fn from(e: &leadflow_core::Explanation) -> Explanation {
        let c = &e.card;
        Explanation {
            card: ScoreCard {
                fit: points(c.fit),
                engagement: points(c.engagement),
                total: points(c.total),
                bucket: c.bucket,
                grade: c.grade.letter(),
                qualifies_mql: c.qualifies_mql,
            },
            as_of: e.as_of,
            fit: e.fit.iter().map(|l| FitLine { rule: l.rule.clone(), points: points(l.points) }).collect(),
            fit_before_bounds: points(e.fit_before_bounds),
            engagement: e
                .engagement
                .iter()
                .map(|l| EngagementLine {
                    rule: l.rule.clone(),
                    events_matched: l.events_matched,
                    events_counted: l.events_counted,
                    points_before_decay: points(l.points_before_decay),
                    points_after_decay: points(l.points_after_decay),
                })
                .collect(),
            inactivity: e
                .inactivity
                .iter()
                .map(|l| InactivityLine { rule: l.rule.clone(), days: l.days, points: points(l.points) })
                .collect(),
            engagement_before_bounds: points(e.engagement_before_bounds),
        }
    }
}

/// Everything there is to say about one lead: `GET /v1/leads/{lead}`, `leadflow leads show --json`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadView {
    pub lead: Lead,
    pub model_version: i64,
    pub bucket: String,
    pub explanation: Explanation,
    pub timeline: Vec<Event>,
    pub history: Vec<HistoryEntry>,
    pub prediction: Option<Prediction>,
}

impl From<&leadflow_engine::LeadView> for LeadView {
    fn from(v: &leadflow_engine::LeadView) -> LeadView {
        LeadView {
            lead: (&v.record).into(),
            model_version: v.model.0,
            bucket: v.bucket.clone(),
            explanation: (&v.explanation).into(),
            timeline: v.timeline.iter().map(Event::from).collect(),
            history: v.history.iter().map(HistoryEntry::from).collect(),
            prediction: v.prediction.map(|p| Prediction {
                probability: p.probability,
                model_version: p.version,
                at: p.at,
            }),
        }
    }
}

/// A page of leads, and where the next one starts (null on the last).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadPage {
    pub leads: Vec<Lead>,
    pub next_cursor: Option<String>,
}
