//! Sales pipelines (versions, the active one of each name, checking, activation) and moving a
//! lead through its pipeline.

use axum::Json;
use axum::extract::{Path, State};
use leadflow_contract::{
    PipelineCheck, PipelineInfo, PipelineList, PipelineRequest, PipelineView, StageMoveRequest, StageMoveResult,
};
use leadflow_core::{Action, LeadRef, Pipeline};
use leadflow_engine::StageMove;
use leadflow_store::{Backend, ChangeCause, ChangeOrigin, RuleFileVersion};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::leads::{LeadPath, lead_ref};
use crate::rule_files::{VersionPath, find_version};
use crate::{ApiError, AppState, Body, Caller, ErrorCode};

/// Every pipeline version
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/pipelines", tag = "Pipelines", operation_id = "getV1Pipelines",
    responses((status = 200, description = "Versions, oldest first", body = PipelineList)),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<PipelineList>, ApiError> {
    caller.require(Action::ReadModels)?;
    let pipelines = state.read(|engine| Ok(engine.pipelines()?)).await?;
    Ok(Json(PipelineList { pipelines: pipelines.iter().map(Into::into).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PipelinePath {
    /// A pipeline's name.
    name: String,
}

/// An active pipeline: its file, its stages and the leads in each
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/pipelines/{name}", tag = "Pipelines", operation_id = "getV1PipelinesName",
    params(PipelinePath),
    responses(
        (status = 200, description = "The pipeline", body = PipelineView),
        (status = 404, description = "Error: `pipeline_not_found`"),
    ),
)]
pub(crate) async fn get<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(PipelinePath { name }): Path<PipelinePath>,
) -> Result<Json<PipelineView>, ApiError> {
    caller.require(Action::ReadModels)?;
    let view = state
        .read(move |engine| {
            let active = engine.active_pipelines()?;
            let (Some(pipeline), Some(record)) =
                (active.named(&name), engine.pipelines()?.into_iter().find(|p| p.active && p.name == name))
            else {
                return Err(ApiError::new(ErrorCode::PipelineNotFound, format!("no active pipeline `{name}`")));
            };
            let counts = engine.stage_counts(&name)?;
            Ok(PipelineView::new(&record, pipeline, &counts))
        })
        .await?;
    Ok(Json(view))
}

/// Check a pipeline file without storing it
///
/// Valid, with its stages, or its problems with their lines (as `leadflow pipeline check`).
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/pipelines/validate", tag = "Pipelines", operation_id = "postV1PipelinesValidate",
    request_body = PipelineRequest,
    responses((status = 200, description = "The check", body = PipelineCheck)),
)]
pub(crate) async fn validate(
    caller: Caller,
    Body(request): Body<PipelineRequest>,
) -> Result<Json<PipelineCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    Ok(Json(PipelineCheck::of(&Pipeline::parse(&request.source))))
}

/// Store a pipeline file, and make it its name's active version
///
/// Several pipelines are active at once, one version of each name; a new version takes over
/// the leads of the one before, and is refused while leads are in a stage it lacks. A file
/// stored before keeps its version.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/pipelines", tag = "Pipelines", operation_id = "postV1Pipelines",
    request_body = PipelineRequest,
    responses(
        (status = 200, description = "Stored", body = PipelineInfo),
        (status = 409, description = "Error: `pipeline_stages_in_use`"),
        (status = 422, description = "Error: `pipeline_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<PipelineRequest>,
) -> Result<Json<PipelineInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let info = state
        .write(move |engine| {
            let saved = engine.save_pipeline(&request.source, request.activate)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

fn stored<S: Backend>(
    engine: &mut leadflow_engine::Engine<S>,
    version: RuleFileVersion,
) -> Result<PipelineInfo, ApiError> {
    Ok(PipelineInfo::from(&find_version(
        engine.pipelines()?,
        version,
        leadflow_engine::EngineError::NoSuchPipelineVersion,
    )?))
}

/// Make a stored version its name's active one
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/pipelines/versions/{version}/activate", tag = "Pipelines",
    operation_id = "postV1PipelinesVersionsVersionActivate",
    params(VersionPath),
    responses(
        (status = 200, description = "Active", body = PipelineInfo),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_stages_in_use`"),
    ),
)]
pub(crate) async fn activate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(path): Path<VersionPath>,
) -> Result<Json<PipelineInfo>, ApiError> {
    caller.require(Action::WriteModels)?;
    let version = path.parse("pipeline")?;
    let info = state
        .write(move |engine| {
            let saved = engine.activate_pipeline(version)?;
            stored(engine, saved.version)
        })
        .await?;
    Ok(Json(info))
}

/// Stop using a pipeline
///
/// No lead enters it any more; the leads in it stay where they are until a version of it is
/// activated again.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/pipelines/{name}/deactivate", tag = "Pipelines", operation_id = "postV1PipelinesNameDeactivate",
    params(PipelinePath),
    responses(
        (status = 204, description = "No longer active"),
        (status = 404, description = "Error: `pipeline_not_found`"),
    ),
)]
pub(crate) async fn deactivate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(PipelinePath { name }): Path<PipelinePath>,
) -> Result<axum::http::StatusCode, ApiError> {
    caller.require(Action::WriteModels)?;
    let answer = format!("no active pipeline `{name}`");
    match state.write(move |engine| Ok(engine.deactivate_pipeline(&name)?)).await? {
        true => Ok(axum::http::StatusCode::NO_CONTENT),
        false => Err(ApiError::new(ErrorCode::PipelineNotFound, answer)),
    }
}

/// Move a lead to a stage of its pipeline, or into a pipeline
///
/// Checked against the pipeline's rules (the stages a stage allows next, the fields a stage
/// requires, the reasons a won, lost or disqualified stage takes); a refusal names the rule in
/// `rule`. The move, the lifecycle stage it implies and its reason go in the lead's change log.
/// A move to a recycled stage clears the lead's MQL mark, so that it can qualify again.
///
/// Roles: admin, marketing; sales for the leads it owns.
#[utoipa::path(
    post, path = "/v1/leads/{lead}/stage", tag = "Leads", operation_id = "postV1LeadsLeadStage",
    params(LeadPath),
    request_body = StageMoveRequest,
    responses(
        (status = 200, description = "Moved", body = StageMoveResult),
        (status = 400, description = "Error: `invalid_lead`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `lead_not_found`, `pipeline_not_found`"),
        (status = 409, description = "Error: `move_refused`, `no_pipeline`"),
    ),
)]
pub(crate) async fn move_lead<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(LeadPath { lead }): Path<LeadPath>,
    Body(request): Body<StageMoveRequest>,
) -> Result<Json<StageMoveResult>, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let lead = lead_ref(&lead)?;
    let request = StageMove { lead, pipeline: request.pipeline, stage: request.stage, reason: request.reason };
    let result = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            let origin = ChangeOrigin::new(ChangeCause::Api, caller.name.clone());
            let moved = engine.move_lead(&actor, &origin, &request)?;
            let record = engine.store().lead(&LeadRef::Id(moved.lead))?;
            let record = record.ok_or_else(|| ApiError::lead_not_found(LeadRef::Id(moved.lead)))?;
            Ok(StageMoveResult::new(&moved, &record))
        })
        .await?;
    Ok(Json(result))
}
