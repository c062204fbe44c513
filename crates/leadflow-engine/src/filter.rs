//! Which leads a caller asks for, in the caller's words (`bucket=Hot`, `grade=b`, `sort=newest`):
//! one parser for the API's query string and the CLI's flags, so that a filter means the same,
//! and is refused the same way, wherever it is written.

use leadflow_core::{Grade, LifecycleStage, Timestamp};
use leadflow_store::{Cursor, LeadOrder, LeadQuery, LeadRecord, Store};

use crate::{Engine, EngineError};

/// A filter as written; [`Engine::lead_query`] reads it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadFilter {
    /// A bucket of the active model, any case.
    pub bucket: Option<String>,
    pub grade: Option<String>,
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    pub mql_only: bool,
    /// Words that must each appear in the name, email, external id or company.
    pub text: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_until: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_until: Option<Timestamp>,
    /// `score` (the default), `score_asc`, `newest` or `updated`.
    pub sort: Option<String>,
    pub limit: usize,
    pub offset: usize,
    /// Where the previous page ended (its order must be this one's).
    pub after: Option<Cursor>,
}

/// How a sort is named.
pub fn lead_order(sort: Option<&str>) -> Result<LeadOrder, EngineError> {
    match sort.map(str::trim) {
        None | Some("score") => Ok(LeadOrder::ScoreDesc),
        Some("score_asc") => Ok(LeadOrder::ScoreAsc),
        Some("newest") => Ok(LeadOrder::Newest),
        Some("updated") => Ok(LeadOrder::RecentlyUpdated),
        Some(other) => Err(invalid("sort", other, "score, score_asc, newest or updated")),
    }
}

fn invalid(what: &str, value: &str, expected: &str) -> EngineError {
    EngineError::InvalidFilter(format!(
        "{what}: `{}` is not valid (expected {expected})",
        leadflow_core::text::printable(value)
    ))
}

impl<S: Store> Engine<S> {
    /// The query `filter` describes, or what is wrong with it.
    pub fn lead_query(&mut self, filter: LeadFilter) -> Result<LeadQuery, EngineError> {
        for (what, v) in [("min_score", filter.min_score), ("max_score", filter.max_score)] {
            if let Some(v) = v.filter(|v| !v.is_finite()) {
                return Err(invalid(what, &v.to_string(), "a number"));
            }
        }
        let bucket = match &filter.bucket {
            Some(name) => {
                let (_, model) = self.active_model()?;
                Some(model.bucket_named(name).map_err(EngineError::InvalidFilter)?.to_string())
            }
            None => None,
        };
        let grade = match filter.grade.as_deref() {
            Some(g) => Some(Grade::parse(g).ok_or_else(|| invalid("grade", g, "A to F"))?),
            None => None,
        };
        let stage = match filter.stage.as_deref() {
            Some(s) => Some(LifecycleStage::parse(s).ok_or_else(|| {
                let stages: Vec<&str> = LifecycleStage::ALL.iter().map(|s| s.name()).collect();
                invalid("stage", s, &stages.join(", "))
            })?),
            None => None,
        };
        Ok(LeadQuery {
            bucket,
            grade,
            stage,
            owner: filter.owner,
            min_total: filter.min_score,
            max_total: filter.max_score,
            mql_only: filter.mql_only,
            text: filter.text.filter(|t| !t.trim().is_empty()),
            created_from: filter.created_from,
            created_until: filter.created_until,
            updated_from: filter.updated_from,
            updated_until: filter.updated_until,
            order: lead_order(filter.sort.as_deref())?,
            after: filter.after,
            limit: filter.limit,
            offset: filter.offset,
        })
    }

    /// The leads `filter` asks for.
    pub fn list_leads(&mut self, filter: LeadFilter) -> Result<Vec<LeadRecord>, EngineError> {
        let query = self.lead_query(filter)?;
        Ok(self.store.list_leads(&query)?)
    }
}
