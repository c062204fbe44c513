//! Nurture sequences: versions, the active one of each name, checking, activation and pausing.

use axum::Json;
use axum::extract::{Path, State};
use leadflow_contract::{RuleFileInfo, RuleFileRequest, SequenceCheck, SequenceList, SequenceView};
use leadflow_core::Action;
use leadflow_core::sequence::Sequence;
use leadflow_store::{Backend, RuleFileVersion};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::rule_files::{VersionPath, find_version};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// Every sequence version
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sequences", tag = "Sequences", operation_id = "getV1Sequences",
    responses((status = 200, description = "Versions, oldest first", body = SequenceList)),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<SequenceList>, ApiError> {
    caller.require(Action::ReadModels)?;
    let sequences = state.read(|engine| Ok(engine.sequences()?)).await?;
    Ok(Json(SequenceList { sequences: sequences.iter().map(Into::into).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SequencePath {
    /// A sequence's name.
    pub(crate) name: String,
}

/// An active sequence: its file and its steps
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/sequences/{name}", tag = "Sequences", operation_id = "getV1SequencesName",
    params(SequencePath),
    responses(
        (status = 200, description = "The sequence", body = SequenceView),
        (status = 404, description = "Error: `sequence_not_found`"),
    ),
)]
pub(crate) async fn get<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
) -> Result<Json<SequenceView>, ApiError> {
    caller.require(Action::ReadModels)?;
    let view = state
        .read(move |engine| {
            let active = engine.active_sequences()?;
            let (Some(sequence), Some(record)) = (
                active.iter().find(|s| s.name() == name),
                engine.sequences()?.into_iter().find(|s| s.active && s.name == name),
            ) else {
                return Err(ApiError::new(ErrorCode::SequenceNotFound, format!("no active sequence `{name}`")));
            };
            Ok(SequenceView::new(&record, sequence))
        })
        .await?;
    Ok(Json(view))
}

/// Check a sequence file without storing it
///
/// Valid, with its steps and templates, or its problems with their lines (as `leadflow
/// sequence check`).
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences/validate", tag = "Sequences", operation_id = "postV1SequencesValidate",
    request_body = RuleFileRequest,
    responses((status = 200, description = "The check", body = SequenceCheck)),
)]
pub(crate) async fn validate(
    caller: Caller,
    Body(request): Body<RuleFileRequest>,
) -> Result<Json<SequenceCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    Ok(Json(SequenceCheck::of(&Sequence::parse(&request.source))))
}

/// Store a sequence file, and make it its name's active version
///
/// Several sequences are active at once, one version of each name. Activating is refused while
/// the file names a stage (to enroll from, to end at, to move to) that no active pipeline has.
/// A file stored before keeps its version.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences", tag = "Sequences", operation_id = "postV1Sequences",
    request_body = RuleFileRequest,
    responses(
        (status = 200, description = "Stored", body = RuleFileInfo),
        (status = 409, description = "Error: `sequence_stages_unknown`"),
        (status = 422, description = "Error: `sequence_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<RuleFileRequest>,
) -> Result<Json<RuleFileInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let info = state
        .write(move |engine| {
            let saved = engine.save_sequence(&request.source, request.activate)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

fn stored<S: Backend>(
    engine: &mut leadflow_engine::Engine<S>,
    version: RuleFileVersion,
) -> Result<RuleFileInfo, ApiError> {
    Ok(RuleFileInfo::from(&find_version(
        engine.sequences()?,
        version,
        leadflow_engine::EngineError::NoSuchSequenceVersion,
    )?))
}

/// Make a stored version its name's active one (resuming a paused sequence)
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences/versions/{version}/activate", tag = "Sequences",
    operation_id = "postV1SequencesVersionsVersionActivate",
    params(VersionPath),
    responses(
        (status = 200, description = "Active", body = RuleFileInfo),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `sequence_not_found`"),
        (status = 409, description = "Error: `sequence_stages_unknown`"),
    ),
)]
pub(crate) async fn activate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<RuleFileInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let version = path.parse("sequence")?;
    let info = state
        .write(move |engine| {
            let saved = engine.activate_sequence(version)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

/// Pause a sequence
///
/// No version of it is active: it enrolls nobody and sends nothing until one is activated
/// again.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/sequences/{name}/pause", tag = "Sequences", operation_id = "postV1SequencesNamePause",
    params(SequencePath),
    responses(
        (status = 204, description = "Paused"),
        (status = 404, description = "Error: `sequence_not_found`"),
    ),
)]
pub(crate) async fn pause<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(SequencePath { name }): Path<SequencePath>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Action::WriteModels)?;
    let answer = format!("no active sequence `{name}`");
    match state.write(move |engine| Ok(engine.pause_sequence(&name)?)).await? {
        true => Ok(axum::http::StatusCode::NO_CONTENT),
        false => Err(ApiError::new(ErrorCode::SequenceNotFound, answer)),
    }
}
