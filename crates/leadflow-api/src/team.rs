//! Sales users, the assignment rules, and giving a lead an owner.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leadflow_contract::{
    AssignmentCheck, AssignmentInfo, AssignmentRequest, OwnerRequest, OwnerResult, UserInfo, UserList, UserRequest,
};
use leadflow_core::team::{AssignmentRules, User, UserName, UserSpec};
use leadflow_core::{Action, LeadRef};
use leadflow_store::{Backend, ChangeCause, ChangeOrigin};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// Every sales user
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/users", tag = "Team", operation_id = "getV1Users",
    responses((status = 200, description = "Users, by name", body = UserList)),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<UserList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let now = state.now();
    let users = state.read(|engine| Ok(engine.users()?)).await?;
    Ok(Json(UserList { users: users.iter().map(|u| UserInfo::new(u, now)).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserPath {
    /// A user's name (`ana`, `ana@yourco.example`).
    name: String,
}

/// Create a user, or replace the one of that name
///
/// Every field as it is to be: a field left out takes its default.
///
/// Roles: admin.
#[utoipa::path(
    put, path = "/v1/users/{name}", tag = "Team", operation_id = "putV1UsersName",
    params(UserPath),
    request_body = UserRequest,
    responses(
        (status = 200, description = "Replaced", body = UserInfo),
        (status = 201, description = "Created", body = UserInfo),
        (status = 400, description = "Error: `invalid_user`"),
    ),
)]
pub(crate) async fn put<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(UserPath { name }): Path<UserPath>,
    Body(request): Body<UserRequest>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    caller.require(Action::ManageUsers)?;
    let holidays: Vec<&str> = request.holidays.iter().map(String::as_str).collect();
    let user = User::build(UserSpec {
        name: &name,
        display_name: request.display_name.as_deref(),
        email: request.email.as_deref(),
        team: request.team.as_deref(),
        role: request.role.as_deref(),
        zone: &request.zone,
        hours: request.hours.as_deref(),
        holidays: &holidays,
        away_until: request.away_until.as_deref(),
        capacity: request.capacity,
        active: request.active,
    })
    .and_then(|u| u.with_signature(request.signature.as_deref()))
    .map_err(|e| ApiError::new(ErrorCode::InvalidUser, e.to_string()))?;
    let now = state.now();
    let info = UserInfo::new(&user, now);
    let created = state.write(move |engine| Ok(engine.put_user(&user)?)).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(info)))
}

/// The assignment rules in use
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/assignment", tag = "Team", operation_id = "getV1Assignment",
    responses(
        (status = 200, description = "The rules file", body = AssignmentInfo),
        (status = 404, description = "Error: `assignment_not_found`"),
    ),
)]
pub(crate) async fn active<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<AssignmentInfo>, ApiError> {
    caller.require(Action::ReadModels)?;
    let info = state
        .read(|engine| {
            let record = engine.store().active_rule_files(leadflow_store::RuleFileKind::Assignment)?.into_iter().next();
            let record =
                record.ok_or_else(|| ApiError::new(ErrorCode::AssignmentNotFound, "no assignment rules are in use"))?;
            Ok(AssignmentInfo { version: record.version.0, name: record.name, source: record.source })
        })
        .await?;
    Ok(Json(info))
}

/// Check an assignment rules file without storing it
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/assignment/validate", tag = "Team", operation_id = "postV1AssignmentValidate",
    request_body = AssignmentRequest,
    responses((status = 200, description = "The check", body = AssignmentCheck)),
)]
pub(crate) async fn validate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<AssignmentRequest>,
) -> Result<Json<AssignmentCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    let users = state.read(|engine| Ok(engine.users()?)).await?;
    Ok(Json(AssignmentCheck::of(&AssignmentRules::parse(&request.source), &users)))
}

/// Put an assignment rules file in use
///
/// One file is in use at a time; it gives owners to new leads (`on = "created"`) and to leads
/// that become marketing-qualified (`on = "mql"`), in the transaction that created or qualified
/// them.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/assignment", tag = "Team", operation_id = "postV1Assignment",
    request_body = AssignmentRequest,
    responses(
        (status = 200, description = "In use", body = AssignmentCheck),
        (status = 422, description = "Error: `assignment_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<AssignmentRequest>,
) -> Result<Json<AssignmentCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    let check = state
        .write(move |engine| {
            engine.save_assignment_rules(&request.source, true)?;
            let users = engine.users()?;
            Ok(AssignmentCheck::of(&AssignmentRules::parse(&request.source), &users))
        })
        .await?;
    Ok(Json(check))
}

/// Give a lead an owner: a user, or whom the assignment rules pick
///
/// The change is in the lead's change log with its reason.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/leads/{lead}/owner", tag = "Leads", operation_id = "postV1LeadsLeadOwner",
    params(LeadPath),
    request_body = OwnerRequest,
    responses(
        (status = 200, description = "Given", body = OwnerResult),
        (status = 400, description = "Error: `invalid_lead`, `invalid_user`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`, `user_not_found`, `assignment_not_found`"),
        (status = 409, description = "Error: `user_inactive`, `nobody_to_assign`"),
    ),
)]
pub(crate) async fn give<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    Body(request): Body<OwnerRequest>,
) -> Result<Json<OwnerResult>, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let lead = lead_ref(&lead)?;
    let owner = request
        .owner
        .as_deref()
        .map(UserName::parse)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidUser, e.to_string()))?;
    let result = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            let origin = ChangeOrigin::new(ChangeCause::Api, caller.name.clone());
            let given = engine.assign_lead(&actor, &origin, &lead, owner.as_ref(), request.reason.as_deref())?;
            let record = engine.store().lead(&LeadRef::Id(given.lead))?;
            let record = record.ok_or_else(|| ApiError::lead_not_found(LeadRef::Id(given.lead)))?;
            Ok(OwnerResult {
                owner: given.owner.to_string(),
                previous: given.previous,
                reason: given.reason,
                lead: (&record).into(),
            })
        })
        .await?;
    Ok(Json(result))
}
