//! Scoring models: versions, the active one, validation, activation (with its rescore).

use axum::Json;
use axum::extract::{Path, State};
use std::time::Instant;

use leadflow_contract::{ApplyReport, ModelCheck, ModelList, ModelRequest, ModelSource};
use leadflow_core::Action;

use crate::{ApiError, AppState, Body, Caller, ErrorCode};
use leadflow_store::Backend;

/// Every model version
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/models", tag = "Models", operation_id = "getV1Models",
    responses((status = 200, description = "Versions, oldest first", body = ModelList)),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<ModelList>, ApiError> {
    caller.require(Action::ReadModels)?;
    let models = state.read(|engine| Ok(engine.models()?)).await?;
    Ok(Json(ModelList { models: models.iter().map(Into::into).collect() }))
}

/// The active model with its source
///
/// Roles: admin, marketing, sales.
#[utoipa::path(
    get, path = "/v1/models/active", tag = "Models", operation_id = "getV1ModelsActive",
    responses(
        (status = 200, description = "The model", body = ModelSource),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn active<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
) -> Result<Json<ModelSource>, ApiError> {
    caller.require(Action::ReadModels)?;
    let model = state
        .read(|engine| {
            engine.store().active_model()?.ok_or_else(|| ApiError::from(leadflow_engine::EngineError::NoActiveModel))
        })
        .await?;
    Ok(Json(ModelSource::from(&model)))
}

/// Check a model file without storing it
///
/// Valid, with the rules that can match nothing the database holds, or the problems with their
/// lines (as `leadflow model check`).
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/models/validate", tag = "Models", operation_id = "postV1ModelsValidate",
    request_body = ModelRequest,
    responses((status = 200, description = "The check", body = ModelCheck)),
)]
pub(crate) async fn validate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<ModelRequest>,
) -> Result<Json<ModelCheck>, ApiError> {
    caller.require(Action::WriteModels)?;
    match leadflow_core::Model::parse(&request.source) {
        Ok(model) => {
            let (model, warnings) = state
                .read(move |engine| {
                    let warnings = engine.model_warnings(&model, &request.source)?;
                    Ok((model, warnings))
                })
                .await?;
            Ok(Json(ModelCheck::valid(&model, &warnings)))
        }
        Err(e) => Ok(Json(ModelCheck::invalid(&e))),
    }
}

/// Store and activate a model, and rescore every lead
///
/// The active trained model's predictions are refreshed with the rescore.
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/models", tag = "Models", operation_id = "postV1Models",
    request_body = ModelRequest,
    responses(
        (status = 200, description = "Activated", body = ApplyReport),
        (status = 422, description = "Error: `model_invalid`"),
    ),
)]
pub(crate) async fn apply<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<ModelRequest>,
) -> Result<Json<ApplyReport>, ApiError> {
    caller.require(Action::WriteModels)?;
    let started = Instant::now();
    let report = state.write(move |engine| Ok(engine.apply_model(&request.source, &leadflow_engine::Quiet)?)).await?;
    state.metrics.rescore_seconds.observe(started.elapsed().as_secs_f64());
    Ok(Json(ApplyReport::from(&report)))
}

/// Activate a stored version again, and rescore
///
/// Roles: admin, marketing.
#[utoipa::path(
    post, path = "/v1/models/{version}/activate", tag = "Models", operation_id = "postV1ModelsVersionActivate",
    params(("version" = i64, Path, description = "A model version", minimum = 1)),
    responses(
        (status = 200, description = "Activated", body = ApplyReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `model_not_found`"),
    ),
)]
pub(crate) async fn reactivate<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(version): Path<String>,
) -> Result<Json<ApplyReport>, ApiError> {
    caller.require(Action::WriteModels)?;
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::InvalidRequest, format!("`{version}` is not a model version")))?;
    let started = Instant::now();
    let report = state
        .write(move |engine| {
            Ok(engine.activate_version(leadflow_store::ModelVersion(version), &leadflow_engine::Quiet)?)
        })
        .await?;
    state.metrics.rescore_seconds.observe(started.elapsed().as_secs_f64());
    Ok(Json(ApplyReport::from(&report)))
}
