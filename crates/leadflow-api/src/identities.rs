//! A lead's identities: listed, added, removed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use leadflow_contract::{IdentityRequest, LeadIdentities};
use leadflow_core::{Action, Actor, Identity, PhoneRegion};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};
use leadflow_store::Backend;

fn identity(text: &str, region: Option<&str>) -> Result<Identity, ApiError> {
    let invalid = |why: String| ApiError::new(ErrorCode::InvalidLeadIdentity, why);
    let region = region.map(PhoneRegion::parse).transpose().map_err(|e| invalid(format!("region: {e}")))?;
    Identity::parse_in(text, region).map_err(|e| invalid(format!("identity: {e}")))
}

/// A lead and one of its identities, as a path names them.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdentityPath {
    /// A lead id, an email, or an external id (`external:0042` for one that is a number).
    #[param(schema_with = leadflow_contract::lead_ref_schema)]
    lead: String,
    /// `kind:value` (`phone:+442079460958`, `salesforce:00Q5g000004XyZ1`).
    #[param(pattern = ":")]
    identity: String,
}

/// Everything a lead is reached through
///
/// Its emails, its external id and its ids in other systems, its phone numbers (each
/// `kind:value`; `primary` marks the profile's own email and external id), and the website
/// visitors joined to it. Any of them names the lead in a path, an event or an import.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/leads/{lead}/identities", tag = "Leads", operation_id = "getV1LeadsLeadIdentities",
    params(LeadPath),
    responses(
        (status = 200, description = "The lead's identities", body = LeadIdentities),
        (status = 400, description = "Error: `invalid_lead`"),
        (status = 404, description = "Error: `lead_not_found`"),
    ),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
) -> Result<Json<LeadIdentities>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let lead = lead_ref(&lead)?;
    let listed = state.read(move |engine| Ok(engine.identities(&lead)?)).await?;
    Ok(Json(LeadIdentities::from(&listed)))
}

/// Give a lead one more identity
///
/// A second email, an id in another system, a phone number (`region` reads one written without
/// its country code). Answers 201 with the lead's identities when it is new, 200 when the lead
/// had it; an identity another lead has is refused.
///
/// Roles: admin, marketing; sales on the leads it owns.
#[utoipa::path(
    post, path = "/v1/leads/{lead}/identities", tag = "Leads", operation_id = "postV1LeadsLeadIdentities",
    params(LeadPath),
    request_body = IdentityRequest,
    responses(
        (status = 201, description = "Added", body = LeadIdentities),
        (status = 200, description = "The lead had it", body = LeadIdentities),
        (status = 400, description = "Error: `invalid_lead`, `invalid_lead_identity`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`"),
        (status = 409, description = "Error: `email_taken`, `external_id_taken`, `lead_identity_taken`"),
    ),
)]
pub(crate) async fn add<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    Body(request): Body<IdentityRequest>,
) -> Result<(StatusCode, Json<LeadIdentities>), ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let lead = lead_ref(&lead)?;
    let identity = identity(&request.identity, request.region.as_deref())?;
    let (added, listed) = state
        .write(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            let added = engine.add_identity_as(&actor, &lead, &identity)?;
            Ok((added, engine.identities(&lead)?))
        })
        .await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(LeadIdentities::from(&listed))))
}

/// Take an identity from a lead
///
/// The lead is no longer reached through it, and another lead may take it. The profile's own
/// email and external id are changed through the lead's fields instead.
///
/// Roles: admin, marketing; sales on the leads it owns.
#[utoipa::path(
    delete, path = "/v1/leads/{lead}/identities/{identity}", tag = "Leads",
    operation_id = "deleteV1LeadsLeadIdentitiesIdentity",
    params(IdentityPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Error: `invalid_lead`, `invalid_lead_identity`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`, `lead_identity_not_found`"),
        (status = 409, description = "Error: `own_lead_identity`"),
    ),
)]
pub(crate) async fn remove<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(IdentityPath { lead, identity: text }): Path<IdentityPath>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let lead = lead_ref(&lead)?;
    let identity = identity(&text, None)?;
    let removed = state
        .write(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.remove_identity_as(&actor, &lead, &identity)?)
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::LeadIdentityNotFound, format!("the lead has no identity {text}")))
    }
}
