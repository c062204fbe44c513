//! Leads: list (filtered, paged), view, upsert, delete.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use leadflow_contract::{LeadChanges, LeadPage, LeadRequest, LeadView, StageHistory};
use leadflow_core::{Action, LeadRef};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{ApiError, AppState, Body, Caller, ErrorCode, cursor};
use leadflow_store::{Backend, ChangeCause, ChangeOrigin};

pub(crate) fn lead_ref(s: &str) -> Result<LeadRef, ApiError> {
    LeadRef::parse(s).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidLead,
            format!(
                "`{s}` names no lead (an id, an email, an external id, or an identity such as phone:+14155552671): {e}"
            ),
        )
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// A bucket of the active model, by its name.
    bucket: Option<String>,
    #[param(value_type = Option<leadflow_contract::Grade>)]
    grade: Option<String>,
    #[param(value_type = Option<leadflow_contract::Stage>)]
    stage: Option<String>,
    /// An owner's name.
    owner: Option<String>,
    /// Total at least.
    min_score: Option<f64>,
    /// Total at most.
    max_score: Option<f64>,
    /// Only MQLs.
    #[serde(default)]
    #[param(required = false)]
    mql: bool,
    /// Words that must each appear in the name, the company or an identity (an email, an id in
    /// another system, a phone).
    q: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// Created before.
    #[param(format = DateTime)]
    created_until: Option<String>,
    /// Updated at or after.
    #[param(format = DateTime)]
    updated_from: Option<String>,
    /// Updated before.
    #[param(format = DateTime)]
    updated_until: Option<String>,
    /// `score` (the default), `score_asc`, `newest` or `updated`.
    #[param(pattern = "^(score|score_asc|newest|updated)$")]
    sort: Option<String>,
    /// How many leads a page holds: 50 by default, 1 to 500 (more is taken as 500).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List leads
///
/// Cursor pages stay correct while scores change: a lead whose score did not change between two
/// page requests appears exactly once.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads", tag = "Leads", operation_id = "getV1Leads",
    params(ListParams),
    responses(
        (status = 200, description = "A page of leads", body = LeadPage),
        (status = 400, description = "Error: `invalid_request`"),
    ),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LeadPage>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let bad = |what: &str, v: &str| ApiError::new(ErrorCode::InvalidRequest, format!("{what}: `{v}` is not valid"));
    let time = |what: &str, v: &Option<String>| {
        v.as_deref().map(|s| leadflow_core::Timestamp::parse(s).map_err(|_| bad(what, s))).transpose()
    };
    let order = leadflow_engine::lead_order(p.sort.as_deref())?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500) as usize;
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
        after: p.cursor.as_deref().map(|c| cursor::parse(c, order).ok_or_else(|| bad("cursor", c))).transpose()?,
    };
    let leads = state.read(move |engine| Ok(engine.list_leads(filter)?)).await?;
    // A full page may have more after it; a short one is the last.
    let next = (leads.len() == limit).then(|| leads.last().map(|l| cursor::of(order, l))).flatten();
    Ok(Json(LeadPage { leads: leads.iter().map(leadflow_contract::Lead::from).collect(), next_cursor: next }))
}

/// The lead a path names (parsed with [`lead_ref`]).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct LeadPath {
    /// A lead id, an email, an external id (`external:0042` for one that is a number), or
    /// another of its identities (`phone:+14155552671`, `salesforce:00Q5g000004XyZ1`).
    #[param(schema_with = leadflow_contract::lead_ref_schema)]
    pub(crate) lead: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ViewParams {
    /// How many of the newest events and history entries to include: 20 by default, 500 at
    /// most (more is taken as 500).
    #[param(format = Int64, maximum = 4294967295.0)]
    timeline: Option<u32>,
}

/// A lead: profile, score, explanation, timeline and history
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads/{lead}", tag = "Leads", operation_id = "getV1LeadsLead",
    params(LeadPath, ViewParams),
    responses(
        (status = 200, description = "The lead", body = LeadView),
        (status = 400, description = "Error: `invalid_lead`, `invalid_request`"),
        (status = 404, description = "Error: `lead_not_found`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn get<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    params: Result<Query<ViewParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LeadView>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.timeline.unwrap_or(20).min(500) as usize;
    let lead = lead_ref(&lead)?;
    let view = state
        .read(move |engine| engine.view(&lead, None, limit)?.ok_or_else(|| ApiError::lead_not_found(lead)))
        .await?;
    Ok(Json(LeadView::from(&view)))
}

/// Create or update a lead by external id or email
///
/// The lead is found by `external_id` (a CRM's id, case kept), else by `email`, and created when
/// neither names one; giving both, they must not name two leads. Fields left out keep their
/// values; `null` empties one (`email` or `external_id` only while the other names the lead).
/// Any profile field, `stage`, `owner`, `created_at`, `custom` (an object), and `outcome` (won or
/// lost) with `outcome_at`, for backtests and training.
///
/// Roles: admin, marketing, sales (leads it owns).
#[utoipa::path(
    put, path = "/v1/leads", tag = "Leads", operation_id = "putV1Leads",
    request_body = LeadRequest,
    responses(
        (status = 200, description = "Updated", body = LeadView),
        (status = 201, description = "Created", body = LeadView),
        (status = 400, description = "Error: `invalid_lead`"),
        (status = 409, description = "Error: `email_taken`, `external_id_taken`, `keys_disagree`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn upsert<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<LeadRequest>,
) -> Result<(StatusCode, Json<LeadView>), ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let input = request.parse().map_err(|m| ApiError::new(ErrorCode::InvalidLead, m))?;
    let outcome = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            let origin = ChangeOrigin::new(ChangeCause::Api, caller.name.clone());
            Ok(engine.upsert_lead_as(&actor, &origin, input)?)
        })
        .await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    let lead = outcome.scored.lead;
    let view = state
        .read(move |engine| {
            engine.view(&LeadRef::Id(lead), None, 20)?.ok_or_else(|| ApiError::lead_not_found(LeadRef::Id(lead)))
        })
        .await?;
    Ok((status, Json(LeadView::from(&view))))
}

/// Erase a lead with its events and history (a data-protection request)
///
/// Roles: admin.
#[utoipa::path(
    delete, path = "/v1/leads/{lead}", tag = "Leads", operation_id = "deleteV1LeadsLead",
    params(LeadPath),
    responses(
        (status = 204, description = "Erased"),
        (status = 400, description = "Error: `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn delete<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::DeleteLeads)?;
    let lead = lead_ref(&lead)?;
    let deleted = state.write(move |engine| Ok(engine.delete_lead(&lead)?)).await?;
    if deleted { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::new(ErrorCode::LeadNotFound, "no such lead")) }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ChangesParams {
    /// How many of the newest changes: 100 by default, 1000 at most (more is taken as 1000).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// A lead's change log: every change of its profile, stage and owner, newest first
///
/// Each change names the field, its value before and after (absent: not set), when, what made
/// it (`cause`) and who (`actor`: the API key's name, the file an import read, the rule).
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads/{lead}/changes", tag = "Leads", operation_id = "getV1LeadsLeadChanges",
    params(LeadPath, ChangesParams),
    responses(
        (status = 200, description = "The lead's changes", body = LeadChanges),
        (status = 400, description = "Error: `invalid_lead`, `invalid_request`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn changes<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    params: Result<Query<ChangesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LeadChanges>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.limit.unwrap_or(100).min(1000) as usize;
    let lead = lead_ref(&lead)?;
    let changes =
        state.read(move |engine| engine.changes(&lead, limit)?.ok_or_else(|| ApiError::lead_not_found(lead))).await?;
    Ok(Json(LeadChanges::from(changes.as_slice())))
}

/// A lead's stage history: the stages it went through since it was created, with the days in
/// each (they add up to its age), read from its change log
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads/{lead}/stages", tag = "Leads", operation_id = "getV1LeadsLeadStages",
    params(LeadPath),
    responses(
        (status = 200, description = "The lead's stages", body = StageHistory),
        (status = 400, description = "Error: `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn stages<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
) -> Result<Json<StageHistory>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let lead = lead_ref(&lead)?;
    let now = state.now();
    let spans =
        state.read(move |engine| engine.stage_history(&lead)?.ok_or_else(|| ApiError::lead_not_found(lead))).await?;
    Ok(Json(StageHistory::new(&spans, now)))
}
