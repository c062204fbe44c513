//! The do-not-contact list over HTTP, and what nurture emails did.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use leadflow_contract::{DoNotContactEntry, DoNotContactList, DoNotContactListed, DoNotContactRequest, NurtureMetrics};
use leadflow_core::Action;
use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_engine::DoNotContact;
use leadflow_store::{Backend, DoNotContactQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::sequences::SequencePath;
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// The longest note an entry keeps.
const MAX_NOTE_CHARS: usize = 500;
const MOST_ENTRIES: u32 = 1000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only this address's entries (every channel).
    address: Option<String>,
    /// After this entry id (the last page's `next_after`).
    after: Option<i64>,
    /// At most this many, oldest first (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The do-not-contact list
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/do-not-contact", tag = "Sequences", operation_id = "getV1DoNotContact",
    params(ListParams),
    responses(
        (status = 200, description = "In the order listed", body = DoNotContactList),
        (status = 400, description = "Error: `invalid_request`"),
    ),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DoNotContactList>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=MOST_ENTRIES).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("limit: 1 to {MOST_ENTRIES}")));
    }
    let query = DoNotContactQuery { address: p.address, after: p.after, limit: limit as usize };
    let found = state.read(move |engine| Ok(engine.do_not_contact(&query)?)).await?;
    let next_after = (found.len() == limit as usize).then(|| found.last().map(|e| e.id)).flatten();
    Ok(Json(DoNotContactList { entries: found.iter().map(DoNotContactEntry::from).collect(), next_after }))
}

/// List an address as not to be contacted
///
/// On a channel (`email` by default), for a reason (`manual` by default). An email address
/// listed ends, at once, every running enrollment of its lead in a sequence that sends, and
/// cancels what they planned; nothing is sent to it after. An address listed already keeps its
/// entry (and first reason): 200 instead of 201.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/do-not-contact", tag = "Sequences", operation_id = "postV1DoNotContact",
    request_body = DoNotContactRequest,
    responses(
        (status = 201, description = "Listed", body = DoNotContactListed),
        (status = 200, description = "Listed already", body = DoNotContactListed),
        (status = 400, description = "Error: `invalid_request`"),
    ),
)]
pub(crate) async fn add<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<DoNotContactRequest>,
) -> Result<(StatusCode, Json<DoNotContactListed>), ApiError> {
    caller.require(Action::WriteLeads)?;
    let channel = channel(request.channel.as_deref())?;
    let reason = match request.reason.as_deref() {
        None => SuppressionReason::Manual,
        Some(r) => SuppressionReason::parse(r).ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidRequest, "reason: unsubscribed, bounced, complained or manual")
        })?,
    };
    if request.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("note: at most {MAX_NOTE_CHARS} characters")));
    }
    let by = caller.name.clone();
    let listed = state
        .write(move |engine| {
            let listing =
                DoNotContact { address: &request.address, channel, reason, note: request.note.as_deref(), by: &by };
            Ok(engine.add_do_not_contact(&listing)?)
        })
        .await?;
    let status = if listed.added { StatusCode::CREATED } else { StatusCode::OK };
    let body =
        DoNotContactListed { entry: (&listed.entry).into(), added: listed.added, enrollments_ended: listed.exited };
    Ok((status, Json(body)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct EntryPath {
    #[param(inline)]
    channel: ChannelName,
    address: String,
}

/// A channel of the list.
#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ChannelName {
    Email,
    Phone,
}

impl From<ChannelName> for Channel {
    fn from(c: ChannelName) -> Channel {
        match c {
            ChannelName::Email => Channel::Email,
            ChannelName::Phone => Channel::Phone,
        }
    }
}

/// Take an address off the list
///
/// Enrollments it ended stay ended.
///
/// Roles: admin, marketing.
#[utoipa::path(
    delete, path = "/v1/do-not-contact/{channel}/{address}", tag = "Sequences",
    operation_id = "deleteV1DoNotContactChannelAddress",
    params(EntryPath),
    responses(
        (status = 204, description = "Off the list"),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `not_found`"),
    ),
)]
pub(crate) async fn remove<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    path: Result<Path<EntryPath>, axum::extract::rejection::PathRejection>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::WriteLeads)?;
    let Path(EntryPath { channel, address }) =
        path.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let channel = Channel::from(channel);
    let removed = state
        .write(move |engine| match engine.remove_do_not_contact(&address, channel) {
            // An address that is none (not an email address) is on no list.
            Err(leadflow_engine::EngineError::BadAddress { .. }) => Ok(false),
            other => Ok(other?),
        })
        .await?;
    if removed { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::new(ErrorCode::NotFound, "not on the list")) }
}

fn channel(name: Option<&str>) -> Result<Channel, ApiError> {
    match name {
        None => Ok(Channel::Email),
        Some(c) => Channel::parse(c).ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "channel: email or phone")),
    }
}

/// What a sequence's emails did
///
/// Per step (each A/B variant and template apart) and in all: planned, sent, delivered, failed,
/// cancelled; a person's opens and clicks (a privacy proxy's or a link scanner's are not
/// counted), replies, bounces, unsubscribes, complaints, with their rates; and the leads that
/// became marketing-qualified or were won after an email went. `templates` gives each template
/// over the sequence.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sequences/{name}/metrics", tag = "Sequences", operation_id = "getV1SequencesNameMetrics",
    params(SequencePath),
    responses((status = 200, description = "Empty lists before the first send", body = NurtureMetrics)),
)]
pub(crate) async fn metrics<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
) -> Result<Json<NurtureMetrics>, ApiError> {
    caller.require(Action::ReadModels)?;
    let metrics = state.read(move |engine| Ok(engine.send_metrics(Some(&name))?)).await?;
    Ok(Json(NurtureMetrics::from(&metrics)))
}

/// What every sequence's emails did
///
/// [`metrics`] for every sequence, and each template over all of them.
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/reports/nurture", tag = "Reports", operation_id = "getV1ReportsNurture",
    responses((status = 200, description = "Sequences by name", body = NurtureMetrics)),
)]
pub(crate) async fn all_metrics<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<NurtureMetrics>, ApiError> {
    caller.require(Action::ReadModels)?;
    let metrics = state.read(move |engine| Ok(engine.send_metrics(None)?)).await?;
    Ok(Json(NurtureMetrics::from(&metrics)))
}
