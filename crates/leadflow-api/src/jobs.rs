//! The job queue, as an operator looks at it: what is due, what ran, what failed and why.

use axum::Json;
use axum::extract::{Query, State};
use leadflow_contract::{Job, JobCount, JobList};
use leadflow_core::Action;
use leadflow_store::{Backend, JobQuery, JobStatus};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{ApiError, AppState, Caller, ErrorCode};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct JobParams {
    /// Only jobs of this kind (`rescore`, `expire-anonymous`, `prune-jobs`, `pipeline-sweep`,
    /// `webhook-delivery`).
    kind: Option<String>,
    /// Only jobs in this status.
    #[param(pattern = "^(pending|done|failed|cancelled)$")]
    status: Option<String>,
    /// How many of the newest: 20 by default, 1000 at most (more is taken as 1000).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// The job queue
///
/// Counts per kind and status, and the newest jobs with their attempts and last error.
///
/// Roles: admin.
#[utoipa::path(
    get, path = "/v1/jobs", tag = "Operations", operation_id = "getV1Jobs",
    params(JobParams),
    responses(
        (status = 200, description = "The queue", body = JobList),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 403, description = "Error: `forbidden`"),
    ),
)]
pub(crate) async fn list<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<JobParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    caller.require(Action::ReadJobs)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let status = p
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("status: `{s}` is not pending, done, failed or cancelled"),
                )
            })
        })
        .transpose()?;
    let query = JobQuery { kind: p.kind, status, limit: p.limit.unwrap_or(20).clamp(1, 1000) as usize };
    let (counts, jobs) = state.read(move |engine| Ok((engine.job_counts()?, engine.jobs(&query)?))).await?;
    Ok(Json(JobList {
        counts: counts
            .iter()
            .map(|c| JobCount { kind: c.kind.clone(), status: c.status.as_str(), count: c.count })
            .collect(),
        jobs: jobs.iter().map(Job::from).collect(),
    }))
}
