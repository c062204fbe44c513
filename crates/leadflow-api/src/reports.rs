//! Reports over every lead's history: the figures `leadflow report` prints.

use axum::Json;
use axum::extract::{Query, State};
use leadflow_contract::PipelineReport;
use leadflow_core::{Actor, Timestamp};
use leadflow_engine::{PipelineReportRequest, Quiet};
use leadflow_store::Backend;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{ApiError, AppState, Caller, ErrorCode};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PipelineReportParams {
    /// The active pipeline; may be left out when only one is active.
    pipeline: Option<String>,
    /// As of this instant (RFC 3339 or a date); now by default.
    #[param(format = DateTime)]
    as_of: Option<String>,
    /// The funnel's stages in order, comma-separated; by default the pipeline's open stages,
    /// then its won ones.
    funnel: Option<String>,
}

/// A pipeline's report
///
/// From every lead's stage history (what leadflow recorded and what `leadflow import changes`
/// brought from a CRM), as of an instant: how many leads reached each stage and how long their
/// visits lasted (median, 75th and 90th percentiles), stage-to-stage conversion along the
/// funnel, MQLs per month with the lead velocity rate, and per owner, source and lost reason.
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/pipeline", tag = "Reports", operation_id = "getV1ReportsPipeline",
    params(PipelineReportParams),
    responses(
        (status = 200, description = "The report", body = PipelineReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn pipeline<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<PipelineReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PipelineReport>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let as_of = p
        .as_of
        .as_deref()
        .map(|s| Timestamp::parse(s).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("as_of: {e}"))))
        .transpose()?;
    let funnel: Option<Vec<String>> =
        p.funnel.map(|f| f.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    // `funnel=` says nothing: the default funnel.
    let funnel = funnel.filter(|stages| !stages.is_empty());
    let request = PipelineReportRequest { pipeline: p.pipeline, funnel, as_of };
    let report = state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.pipeline_report_as(&actor, &request, &Quiet)?)
        })
        .await?;
    Ok(Json(PipelineReport::from(&report)))
}
