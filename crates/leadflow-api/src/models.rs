//! Scoring models: versions, the active one, validation, activation (with its rescore).

use axum::Json;
use axum::extract::{Path, State};
use std::time::Instant;

use leadflow_core::Action;
use leadflow_store::prelude::*;
use serde_json::Value;

use crate::{ApiError, AppState, Body, Caller, ErrorCode, dto};

pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let models = state.read(|engine| Ok(engine.models()?)).await?;
    Ok(Json(dto::json_of(leadflow_contract::ModelList { models: models.iter().map(Into::into).collect() })))
}

pub(crate) async fn active(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let model = state
        .read(|engine| {
            engine.store().active_model()?.ok_or_else(|| ApiError::from(leadflow_engine::EngineError::NoActiveModel))
        })
        .await?;
    Ok(Json(dto::json_of(leadflow_contract::ModelSource::from(&model))))
}

pub(crate) async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::ModelRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::WriteModels)?;
    match leadflow_core::Model::parse(&request.source) {
        Ok(model) => {
            let checked = state
                .read(move |engine| {
                    let warnings = engine.model_warnings(&model, &request.source)?;
                    Ok(dto::model_check(Ok((&model, &warnings))))
                })
                .await?;
            Ok(Json(checked))
        }
        Err(e) => Ok(Json(dto::model_check(Err(&e)))),
    }
}

pub(crate) async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::ModelRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::WriteModels)?;
    let started = Instant::now();
    let report = state.write(move |engine| Ok(engine.apply_model(&request.source, &leadflow_engine::Quiet)?)).await?;
    state.metrics.rescore_seconds.observe(started.elapsed().as_secs_f64());
    Ok(Json(apply_report(&report)))
}

/// Makes a stored version the active one again, and rescores.
pub(crate) async fn reactivate(
    State(state): State<AppState>,
    caller: Caller,
    Path(version): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(apply_report(&report)))
}

fn apply_report(report: &leadflow_engine::ApplyReport) -> Value {
    dto::json_of(leadflow_contract::ApplyReport::from(report))
}
