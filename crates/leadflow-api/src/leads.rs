//! Leads: list (filtered, paged), view, upsert, delete.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadflow_core::{Action, LeadRef};
use serde::Deserialize;
use serde_json::Value;

use crate::{ApiError, AppState, Body, Caller, ErrorCode, dto};

pub(crate) fn lead_ref(s: &str) -> Result<LeadRef, ApiError> {
    LeadRef::parse(s).map_err(|e| {
        ApiError::new(ErrorCode::InvalidLead, format!("`{s}` names no lead (an id, an email or an external id): {e}"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    bucket: Option<String>,
    grade: Option<String>,
    stage: Option<String>,
    owner: Option<String>,
    min_score: Option<f64>,
    max_score: Option<f64>,
    #[serde(default)]
    mql: bool,
    /// Words that must each appear in the name, email or company.
    q: Option<String>,
    created_from: Option<String>,
    created_until: Option<String>,
    updated_from: Option<String>,
    updated_until: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let bad = |what: &str, v: &str| ApiError::new(ErrorCode::InvalidRequest, format!("{what}: `{v}` is not valid"));
    let time = |what: &str, v: &Option<String>| {
        v.as_deref().map(|s| leadflow_core::Timestamp::parse(s).map_err(|_| bad(what, s))).transpose()
    };
    let order = leadflow_engine::lead_order(p.sort.as_deref())?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let filter = leadflow_engine::LeadFilter {
        bucket: p.bucket,
        grade: p.grade,
        stage: p.stage,
        owner: p.owner,
        min_score: p.min_score,
        max_score: p.max_score,
        mql_only: p.mql,
        text: p.q,
        created_from: time("created_from", &p.created_from)?,
        created_until: time("created_until", &p.created_until)?,
        updated_from: time("updated_from", &p.updated_from)?,
        updated_until: time("updated_until", &p.updated_until)?,
        sort: p.sort,
        limit,
        offset: 0,
        after: p.cursor.as_deref().map(|c| dto::parse_cursor(c, order).ok_or_else(|| bad("cursor", c))).transpose()?,
    };
    let leads = state.read(move |engine| Ok(engine.list_leads(filter)?)).await?;
    // A full page may have more after it; a short one is the last.
    let next = (leads.len() == limit).then(|| leads.last().map(|l| dto::cursor(order, l))).flatten();
    let page = leadflow_contract::LeadPage {
        leads: leads.iter().map(leadflow_contract::Lead::from).collect(),
        next_cursor: next,
    };
    Ok(Json(dto::json_of(page)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewParams {
    /// How many of the newest events to include (20 by default, 500 at most).
    timeline: Option<usize>,
}

pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
    params: Result<Query<ViewParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.timeline.unwrap_or(20).min(500);
    let lead = lead_ref(&lead)?;
    let view = state
        .read(move |engine| engine.view(&lead, None, limit)?.ok_or_else(|| ApiError::lead_not_found(lead)))
        .await?;
    Ok(Json(dto::view(&view)))
}

pub(crate) async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::LeadRequest>,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let input = request.parse().map_err(|m| ApiError::new(ErrorCode::InvalidLead, m))?;
    let outcome = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            Ok(engine.upsert_lead_as(&actor, input)?)
        })
        .await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    let lead = outcome.scored.lead;
    let view = state.read(move |engine| Ok(engine.view(&LeadRef::Id(lead), None, 20)?)).await?;
    Ok((status, Json(view.as_ref().map(dto::view).unwrap_or(Value::Null))).into_response())
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::DeleteLeads)?;
    let lead = lead_ref(&lead)?;
    let deleted = state.write(move |engine| Ok(engine.delete_lead(&lead)?)).await?;
    if deleted { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::new(ErrorCode::LeadNotFound, "no such lead")) }
}
