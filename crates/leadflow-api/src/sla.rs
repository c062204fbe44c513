//! The hand-off SLA: its policy, each lead's clocks, compliance per rep and team, and sales'
//! acceptance or rejection of a lead.

use axum::Json;
use axum::extract::{Path, Query, State};
use leadflow_contract::{
    ComplianceReport, DecisionKind, DecisionRequest, DecisionResult, SlaClock, SlaClockList, SlaPolicyCheck,
    SlaPolicyInfo, SlaPolicyRequest,
};
use leadflow_core::sla::SlaPolicy;
use leadflow_core::team::UserName;
use leadflow_core::{Action, LeadRef, Timestamp};
use leadflow_engine::Decision;
use leadflow_store::{Backend, ChangeCause, ChangeOrigin, SlaClockQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// The SLA policy in use
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sla", tag = "SLA", operation_id = "getV1Sla",
    responses(
        (status = 200, description = "The policy file", body = SlaPolicyInfo),
        (status = 404, description = "Error: `sla_not_found`"),
    ),
)]
pub(crate) async fn active<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<SlaPolicyInfo>, ApiError> {
    caller.require(Action::ReadModels)?;
    let info = state
        .read(|engine| {
            let record = engine.store().active_rule_files(leadflow_store::RuleFileKind::Sla)?.into_iter().next();
            let record = record.ok_or_else(|| ApiError::new(ErrorCode::SlaNotFound, "no SLA policy is in use"))?;
            Ok(SlaPolicyInfo { version: record.version.0, name: record.name, source: record.source })
        })
        .await?;
    Ok(Json(info))
}

/// Check an SLA policy file without storing it
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sla/validate", tag = "SLA", operation_id = "postV1SlaValidate",
    request_body = SlaPolicyRequest,
    responses((status = 200, description = "The check", body = SlaPolicyCheck)),
)]
pub(crate) async fn validate(
    caller: Caller,
    Body(request): Body<SlaPolicyRequest>,
) -> Result<Json<SlaPolicyCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    Ok(Json(SlaPolicyCheck::of(&SlaPolicy::parse(&request.source))))
}

/// Put an SLA policy file in use
///
/// One policy is in use at a time. Clocks it starts keep its rules; clocks running under the
/// policy before it keep theirs.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sla", tag = "SLA", operation_id = "postV1Sla",
    request_body = SlaPolicyRequest,
    responses(
        (status = 200, description = "In use", body = SlaPolicyCheck),
        (status = 422, description = "Error: `sla_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<SlaPolicyRequest>,
) -> Result<Json<SlaPolicyCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    let check = state
        .write(move |engine| {
            engine.save_sla_policy(&request.source, true)?;
            Ok(SlaPolicyCheck::of(&SlaPolicy::parse(&request.source)))
        })
        .await?;
    Ok(Json(check))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ClockParams {
    #[param(schema_with = leadflow_contract::lead_ref_schema)]
    lead: Option<String>,
    /// A user's name: the clocks counting in their working time.
    owner: Option<String>,
    /// Only clocks still running (neither met nor stopped).
    running: Option<bool>,
    /// Only clocks past due and not met.
    breached: Option<bool>,
    /// How many: 100 by default, 1000 at most (more is taken as 1000).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// SLA clocks, newest first
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sla/clocks", tag = "SLA", operation_id = "getV1SlaClocks",
    params(ClockParams),
    responses(
        (status = 200, description = "The clocks", body = SlaClockList),
        (status = 400, description = "Error: `invalid_request`, `invalid_lead`, `invalid_user`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn clocks<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ClockParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SlaClockList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let owner = p
        .owner
        .as_deref()
        .map(UserName::parse)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidUser, e.to_string()))?;
    let lead = p.lead.as_deref().map(lead_ref).transpose()?;
    let now = state.now();
    let limit = p.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let clocks = state
        .read(move |engine| {
            let lead = match lead {
                Some(lead) => Some(engine.store().lead(&lead)?.ok_or_else(|| ApiError::lead_not_found(lead))?.id),
                None => None,
            };
            let query = SlaClockQuery {
                lead,
                owner,
                running: p.running.unwrap_or(false),
                breached_as_of: p.breached.unwrap_or(false).then_some(now),
                limit,
                ..Default::default()
            };
            Ok(engine.sla_clocks(&query)?)
        })
        .await?;
    Ok(Json(SlaClockList { clocks: clocks.iter().map(SlaClock::from).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ComplianceParams {
    /// The clocks started from this instant on (RFC 3339 or a date); 30 days ago by default.
    #[param(format = DateTime)]
    from: Option<String>,
    /// ... and before this one; now by default.
    #[param(format = DateTime)]
    to: Option<String>,
}

/// SLA compliance per rep and team
///
/// The clocks started in `[from, to)`, counted as of now: met on time, met late, breached,
/// pending; per team, per owner, and per owner and rule. A clock stopped before its deadline
/// (the lead closed or changed hands in time) counts in none.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sla/compliance", tag = "SLA", operation_id = "getV1SlaCompliance",
    params(ComplianceParams),
    responses(
        (status = 200, description = "The report", body = ComplianceReport),
        (status = 400, description = "Error: `invalid_request`"),
    ),
)]
pub(crate) async fn compliance<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ComplianceParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ComplianceReport>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let instant = |field: &str, s: &str| {
        Timestamp::parse(s).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("{field}: {e}")))
    };
    let now = state.now();
    let to = p.to.as_deref().map(|s| instant("to", s)).transpose()?.unwrap_or(now);
    let from = p.from.as_deref().map(|s| instant("from", s)).transpose()?.unwrap_or(to.minus_days(30));
    if from >= to {
        return Err(ApiError::new(ErrorCode::InvalidRequest, "from: must be before `to`"));
    }
    let report = state.read(move |engine| Ok(engine.sla_compliance(from, to)?)).await?;
    Ok(Json(ComplianceReport::new(from, to, &report)))
}

/// Accept or reject a lead marketing handed over
///
/// Accepting makes its lifecycle stage `sql`; rejecting (with a reason) sends it back to
/// nurture: to its pipeline's recycled stage if it has one, its MQL mark cleared so that it can
/// qualify again. Either meets the SLA clocks waiting for an answer; the change is in the lead's
/// change log with the decision.
///
/// Roles: admin, marketing; sales on the leads it owns.
#[utoipa::path(
    post, path = "/v1/leads/{lead}/decision", tag = "Leads", operation_id = "postV1LeadsLeadDecision",
    params(LeadPath),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Taken", body = DecisionResult),
        (status = 400, description = "Error: `invalid_lead`, `invalid_decision`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn decide<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    Body(request): Body<DecisionRequest>,
) -> Result<Json<DecisionResult>, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let lead = lead_ref(&lead)?;
    let decision = match (request.decision, request.reason) {
        (DecisionKind::Accept, None) => Decision::Accept,
        (DecisionKind::Accept, Some(_)) => {
            return Err(ApiError::new(ErrorCode::InvalidDecision, "reason: only a rejection takes one"));
        }
        (DecisionKind::Reject, reason) => Decision::Reject { reason: reason.unwrap_or_default() },
    };
    let result = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            let origin = ChangeOrigin::new(ChangeCause::Api, caller.name.clone());
            let decided = engine.decide_lead(&actor, &origin, &lead, &decision)?;
            let record = engine.store().lead(&LeadRef::Id(decided.lead))?;
            let record = record.ok_or_else(|| ApiError::lead_not_found(LeadRef::Id(decided.lead)))?;
            Ok(DecisionResult::new(&decided, &record))
        })
        .await?;
    Ok(Json(result))
}
