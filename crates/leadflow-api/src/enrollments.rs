//! Leads in nurture sequences: enrolling by hand, taking out, listing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use leadflow_contract::{EnrollRequest, EnrollmentList, EnrollmentView, ExitRequest};
use leadflow_core::Action;
use leadflow_store::{Backend, EnrollmentQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::sequences::SequencePath;
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// The longest reason an exit keeps.
const MAX_REASON_CHARS: usize = 500;

/// Enroll a lead in a sequence
///
/// At the sequence's first step, due at once. Never twice at once (`already_enrolled`), and
/// again after it left only as the sequence's `reenroll` says (`not_reenrollable`, saying from
/// when).
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences/{name}/enrollments", tag = "Sequences", operation_id = "postV1SequencesNameEnrollments",
    params(SequencePath),
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled", body = EnrollmentView),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`"),
        (status = 404, description = "Error: `sequence_not_found`, `lead_not_found`"),
        (status = 409, description = "Error: `already_enrolled`, `not_reenrollable`, `do_not_contact`"),
    ),
)]
pub(crate) async fn enroll<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
    Body(request): Body<EnrollRequest>,
) -> Result<(StatusCode, Json<EnrollmentView>), ApiError> {
    caller.require(Action::WriteLeads)?;
    let lead = lead_ref(&request.lead)?;
    let by = caller.name.clone();
    let enrolled = state.write(move |engine| Ok(engine.enroll(&lead, &name, &by)?)).await?;
    Ok((StatusCode::CREATED, Json(EnrollmentView::from(&enrolled))))
}

/// Take a lead out of a sequence
///
/// Its enrollment ends now, with the reason kept.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences/{name}/enrollments/exit", tag = "Sequences",
    operation_id = "postV1SequencesNameEnrollmentsExit",
    params(SequencePath),
    request_body = ExitRequest,
    responses(
        (status = 200, description = "The enrollment it ended", body = EnrollmentView),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`, `not_enrolled`"),
    ),
)]
pub(crate) async fn exit<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
    Body(request): Body<ExitRequest>,
) -> Result<Json<EnrollmentView>, ApiError> {
    caller.require(Action::WriteLeads)?;
    let lead = lead_ref(&request.lead)?;
    let reason = request.reason.trim().to_string();
    if reason.is_empty() || request.reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("reason: 1 to {MAX_REASON_CHARS} characters")));
    }
    let ended = state.write(move |engine| Ok(engine.exit_enrollment(&lead, &name, &reason)?)).await?;
    Ok(Json(EnrollmentView::from(&ended)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EnrollmentParams {
    /// Only those still running.
    #[serde(default)]
    active: bool,
    /// At most this many, newest first (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

const MOST_ENROLLMENTS: u32 = 1000;

fn query_of(
    params: Result<Query<EnrollmentParams>, axum::extract::rejection::QueryRejection>,
) -> Result<EnrollmentQuery, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=MOST_ENROLLMENTS).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("limit: 1 to {MOST_ENROLLMENTS}")));
    }
    Ok(EnrollmentQuery { active: p.active, limit: limit as usize, ..Default::default() })
}

/// A sequence's enrollments
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sequences/{name}/enrollments", tag = "Sequences", operation_id = "getV1SequencesNameEnrollments",
    params(SequencePath, EnrollmentParams),
    responses(
        (status = 200, description = "Newest first", body = EnrollmentList),
        (status = 400, description = "Error: `invalid_request`"),
    ),
)]
pub(crate) async fn of_sequence<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
    params: Result<Query<EnrollmentParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EnrollmentList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let query = EnrollmentQuery { sequence: Some(name), ..query_of(params)? };
    let found = state.read(move |engine| Ok(engine.enrollments(&query)?)).await?;
    Ok(Json(EnrollmentList { enrollments: found.iter().map(EnrollmentView::from).collect() }))
}

/// A lead's enrollments
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads/{lead}/enrollments", tag = "Leads", operation_id = "getV1LeadsLeadEnrollments",
    params(LeadPath, EnrollmentParams),
    responses(
        (status = 200, description = "Newest first", body = EnrollmentList),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn of_lead<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    params: Result<Query<EnrollmentParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EnrollmentList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let lead = lead_ref(&lead)?;
    let query = query_of(params)?;
    let found = state
        .read(move |engine| {
            let id = engine.lead_id(&lead)?;
            Ok(engine.enrollments(&EnrollmentQuery { lead: Some(id), ..query })?)
        })
        .await?;
    Ok(Json(EnrollmentList { enrollments: found.iter().map(EnrollmentView::from).collect() }))
}
