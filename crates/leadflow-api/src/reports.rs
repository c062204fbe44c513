//! Reports over every lead's history: the figures `leadflow report` prints.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use leadflow_contract::{Digest, FunnelReport, ModelReport, PipelineReport, RepsReport, TouchpointReport};
use leadflow_core::report::{FunnelDimension, LeadScope, Period, ReportPeriod};
use leadflow_core::{Actor, Grade, Timestamp};
use leadflow_engine::{
    Cutoff, DigestRequest, ModelReportRequest, OutcomeSource, PipelineReportRequest, Quiet, RepsReportRequest,
    TouchpointRequest,
};
use leadflow_store::Backend;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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
    /// The cohort of leads created from this instant or date on.
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// ... and before this one.
    #[param(format = DateTime)]
    created_to: Option<String>,
    /// The cohort of leads first qualified from this instant or date on.
    #[param(format = DateTime)]
    qualified_from: Option<String>,
    /// ... and before this one.
    #[param(format = DateTime)]
    qualified_to: Option<String>,
    /// Only leads of these sources, comma-separated.
    source: Option<String>,
    /// Only leads of these owners, comma-separated.
    owner: Option<String>,
    /// Only leads owned by members of these teams, comma-separated.
    team: Option<String>,
    /// Only leads that touched one of these campaigns before they qualified, comma-separated.
    campaign: Option<String>,
    /// Only leads in these buckets as scored now, comma-separated.
    bucket: Option<String>,
    /// Only leads of these grades (A to F) as scored now, comma-separated.
    #[param(pattern = r"^(\s*[A-Fa-f]?\s*)(,\s*[A-Fa-f]?\s*)*$")]
    grade: Option<String>,
    /// Also split the funnel by this (`breakdown`).
    by: Option<FunnelBy>,
}

/// What a funnel can be split by.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FunnelBy {
    Source,
    Owner,
    Team,
    Campaign,
    LandingPage,
    Bucket,
    Grade,
    Month,
}

impl From<FunnelBy> for FunnelDimension {
    fn from(by: FunnelBy) -> FunnelDimension {
        match by {
            FunnelBy::Source => FunnelDimension::Source,
            FunnelBy::Owner => FunnelDimension::Owner,
            FunnelBy::Team => FunnelDimension::Team,
            FunnelBy::Campaign => FunnelDimension::Campaign,
            FunnelBy::LandingPage => FunnelDimension::LandingPage,
            FunnelBy::Bucket => FunnelDimension::Bucket,
            FunnelBy::Grade => FunnelDimension::Grade,
            FunnelBy::Month => FunnelDimension::Month,
        }
    }
}

/// A pipeline's report
///
/// From every lead's stage history (what leadflow recorded and what `leadflow import changes`
/// brought from a CRM), as of an instant: how many leads reached each stage and how long their
/// visits lasted (median, 75th and 90th percentiles), stage-to-stage conversion along the
/// funnel, MQLs per month with the lead velocity rate, per owner, source and lost reason, and
/// by campaign, first and last touch and landing page from the leads' events.
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
    Ok(Json(report_of(&state, caller, params).await?))
}

/// A pipeline's funnel
///
/// The funnel part of the pipeline report, with the same parameters: of the leads in the
/// cohort and filters, how many reached each funnel stage, how many went on from each to the
/// next (with a 95% interval) and where the others are as of `as_of` (stalled in an open stage,
/// recycled, lost or disqualified and why, won another way, gone from the pipeline); with `by`,
/// the same for each source, owner (now), owner's team, first campaign touched before
/// qualifying, landing page, bucket or grade (as scored now), or month created.
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/funnel", tag = "Reports", operation_id = "getV1ReportsFunnel",
    params(PipelineReportParams),
    responses(
        (status = 200, description = "The funnel", body = FunnelReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn funnel<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<PipelineReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FunnelReport>, ApiError> {
    Ok(Json(FunnelReport::from(&core_report_of(&state, caller, params).await?)))
}

/// One of the pipeline report's charts.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PipelineChart {
    /// The funnel's stages as bars of the leads that reached them.
    Funnel,
    /// Each funnel step's leads as one bar, split by where they are now.
    Dropouts,
    /// MQLs per month, with the lead velocity rate.
    Mqls,
    /// The median days of each step, month by month.
    Velocity,
    /// The cohort heatmap: won by months since creation.
    Cohorts,
}

impl PipelineChart {
    fn name(self) -> &'static str {
        match self {
            PipelineChart::Funnel => "funnel",
            PipelineChart::Dropouts => "dropouts",
            PipelineChart::Mqls => "mqls",
            PipelineChart::Velocity => "velocity",
            PipelineChart::Cohorts => "cohorts",
        }
    }
}

/// A chart of a pipeline's report
///
/// The report's figures as an SVG document with its title, axes, labels and legend (each bar
/// and cell says its number on hover): `funnel`, `dropouts`, `mqls`, `velocity` or `cohorts`. The same
/// parameters as the report.
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/pipeline/charts/{chart}", tag = "Reports", operation_id = "getV1ReportsPipelineChart",
    params(("chart" = PipelineChart, Path, description = "Which chart"), PipelineReportParams),
    responses(
        (status = 200, description = "The chart", content_type = "image/svg+xml", body = String),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`, `not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn chart<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    chart: Result<Path<PipelineChart>, axum::extract::rejection::PathRejection>,
    params: Result<Query<PipelineReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Path(chart) = chart.map_err(|_| {
        ApiError::new(ErrorCode::NotFound, "no such chart (the charts: funnel, dropouts, mqls, velocity, cohorts)")
    })?;
    let report = report_of(&state, caller, params).await?;
    let svg = leadflow_charts::pipeline_chart(chart.name(), &report).expect("every chart of the enum is drawn");
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

/// The report the query asks for, if the caller may read it.
async fn report_of<S: Backend>(
    state: &AppState<S>,
    caller: Caller,
    params: Result<Query<PipelineReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<PipelineReport, ApiError> {
    Ok(PipelineReport::from(&core_report_of(state, caller, params).await?))
}

/// The report the query asks for, as the engine gives it.
async fn core_report_of<S: Backend>(
    state: &AppState<S>,
    caller: Caller,
    params: Result<Query<PipelineReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<leadflow_core::report::PipelineReport, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let request = pipeline_request(p)?;
    state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.pipeline_report_as(&actor, &request, &Quiet)?)
        })
        .await
}

fn instant(field: &str, s: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    s.as_deref()
        .map(|s| Timestamp::parse(s).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("{field}: {e}"))))
        .transpose()
}

/// The engine's request from the query's parameters.
fn pipeline_request(p: PipelineReportParams) -> Result<PipelineReportRequest, ApiError> {
    // Either end may be left open; one that ends before it starts holds no lead.
    let period = |what: &str, from: &Option<String>, to: &Option<String>| -> Result<_, ApiError> {
        Ok(Period::new(instant(&format!("{what}_from"), from)?, instant(&format!("{what}_to"), to)?))
    };
    // A list, comma-separated; an empty one says nothing.
    let list = |s: Option<String>| -> Option<Vec<String>> {
        let items: Vec<String> = s?.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        (!items.is_empty()).then_some(items)
    };
    let scope = LeadScope {
        created: period("created", &p.created_from, &p.created_to)?,
        qualified: period("qualified", &p.qualified_from, &p.qualified_to)?,
        sources: list(p.source),
        owners: list(p.owner),
        campaigns: list(p.campaign),
        buckets: list(p.bucket),
        grades: list(p.grade)
            .map(|grades| {
                grades
                    .iter()
                    .map(|g| {
                        Grade::parse(g).ok_or_else(|| {
                            ApiError::new(ErrorCode::InvalidRequest, format!("grade: `{g}` is not a grade (A to F)"))
                        })
                    })
                    .collect::<Result<Vec<Grade>, ApiError>>()
            })
            .transpose()?,
    };
    Ok(PipelineReportRequest {
        pipeline: p.pipeline,
        funnel: list(p.funnel),
        as_of: instant("as_of", &p.as_of)?,
        scope,
        teams: list(p.team),
        by: p.by.map(FunnelDimension::from),
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TouchpointParams {
    /// Each lead this many days before its own outcome (0, just before it, by default).
    #[param(minimum = 0, maximum = 3650)]
    before_outcome: Option<u32>,
    /// Judge by how leads closed in this active pipeline (won at their first entry into a won
    /// stage, else lost at their first into a lost or disqualified one) rather than by the
    /// outcomes recorded for the lab; empty (`pipeline=`) for the only active one.
    pipeline: Option<String>,
    /// Only leads whose outcome came from this instant or date on.
    #[param(format = DateTime)]
    closed_from: Option<String>,
    /// ... and before this one.
    #[param(format = DateTime)]
    closed_to: Option<String>,
}

/// The most days before the outcome a touchpoint report looks back from (the schema's maximum).
const MOST_DAYS_BEFORE_OUTCOME: u32 = 3650;

/// Touchpoints that precede conversion
///
/// Over the leads with an outcome (recorded for the lab, or how they closed in a pipeline), each
/// seen `before_outcome` days before its own outcome: for each event type
/// and each engagement and fit rule of the active model, the conversion of the leads that had
/// it against those that did not (the lift, with a 95% range), and suggestions where the
/// model's points disagree with that evidence, to backtest in the lab.
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/touchpoints", tag = "Reports", operation_id = "getV1ReportsTouchpoints",
    params(TouchpointParams),
    responses(
        (status = 200, description = "The report", body = TouchpointReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `no_outcomes`, `pipeline_needed`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn touchpoints<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<TouchpointParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<TouchpointReport>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let days = p.before_outcome.unwrap_or(0);
    if days > MOST_DAYS_BEFORE_OUTCOME {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("before_outcome: at most {MOST_DAYS_BEFORE_OUTCOME} days (ten years)"),
        ));
    }
    let outcomes = match p.pipeline {
        None => OutcomeSource::Recorded,
        Some(name) => OutcomeSource::Pipeline(Some(name).filter(|n| !n.is_empty())),
    };
    let closed = Period::new(instant("closed_from", &p.closed_from)?, instant("closed_to", &p.closed_to)?);
    let request = TouchpointRequest { cutoff: Cutoff::BeforeOutcome { days }, outcomes, closed };
    let report = state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.touchpoints_as(&actor, &request, &Quiet)?)
        })
        .await?;
    Ok(Json(TouchpointReport::from(&report)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ModelReportParams {
    /// The active pipeline; may be left out when only one is active.
    pipeline: Option<String>,
    /// As of this instant (RFC 3339 or a date); now by default.
    #[param(format = DateTime)]
    as_of: Option<String>,
    /// By month (the default) or by quarter.
    period: Option<PeriodParam>,
}

/// The periods a report over time is by.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PeriodParam {
    Month,
    Quarter,
}

/// The model over time
///
/// For the leads that first qualified (entered an MQL stage) each month or quarter: the bucket and grade
/// their score had as they qualified (from the score history), and how many of each were won;
/// the MQL rule's precision (qualified leads won) and recall (won leads that had qualified); a
/// warning wherever a bucket or grade converted no better than the one below it, with enough
/// leads in both.
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/model", tag = "Reports", operation_id = "getV1ReportsModel",
    params(ModelReportParams),
    responses(
        (status = 200, description = "The report", body = ModelReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn model<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<ModelReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ModelReport>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let period = match p.period {
        None | Some(PeriodParam::Month) => ReportPeriod::Month,
        Some(PeriodParam::Quarter) => ReportPeriod::Quarter,
    };
    let request = ModelReportRequest { pipeline: p.pipeline, as_of: instant("as_of", &p.as_of)?, period };
    let report = state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.model_report_as(&actor, &request, &Quiet)?)
        })
        .await?;
    Ok(Json(ModelReport::from(&report)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RepsReportParams {
    /// The active pipeline; may be left out when only one is active.
    pipeline: Option<String>,
    /// As of this instant (RFC 3339 or a date); now by default.
    #[param(format = DateTime)]
    as_of: Option<String>,
    /// SLA clocks started and tasks done from this instant on; 30 days before `as_of` by default.
    #[param(format = DateTime)]
    from: Option<String>,
    /// The cohort of leads created from this instant or date on.
    #[param(format = DateTime)]
    created_from: Option<String>,
    /// ... and before this one.
    #[param(format = DateTime)]
    created_to: Option<String>,
    /// The cohort of leads first qualified from this instant or date on.
    #[param(format = DateTime)]
    qualified_from: Option<String>,
    /// ... and before this one.
    #[param(format = DateTime)]
    qualified_to: Option<String>,
    /// Only leads of these sources, comma-separated.
    source: Option<String>,
    /// Only these owners, comma-separated.
    owner: Option<String>,
    /// Only members of these teams, comma-separated.
    team: Option<String>,
    /// Only leads that touched one of these campaigns before they qualified, comma-separated.
    campaign: Option<String>,
    /// Only leads in these buckets as scored now, comma-separated.
    bucket: Option<String>,
    /// Only leads of these grades (A to F) as scored now, comma-separated.
    #[param(pattern = r"^(\s*[A-Fa-f]?\s*)(,\s*[A-Fa-f]?\s*)*$")]
    grade: Option<String>,
}

/// The reps' report
///
/// Per owner and per team: their leads in the pipeline (owned, won, lost, win rate, median days
/// to won, median cycle length, sent back to nurture), their hand-off SLA (the clocks started
/// in `[from, as_of)`: met on time, late, breached, pending) and their tasks (pending and
/// overdue at `as_of`, done in the period and how many late).
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/reps", tag = "Reports", operation_id = "getV1ReportsReps",
    params(RepsReportParams),
    responses(
        (status = 200, description = "The report", body = RepsReport),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn reps<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<RepsReportParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RepsReport>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let from = instant("from", &p.from)?;
    let pipeline = pipeline_request(PipelineReportParams {
        pipeline: p.pipeline,
        as_of: p.as_of,
        funnel: None,
        created_from: p.created_from,
        created_to: p.created_to,
        qualified_from: p.qualified_from,
        qualified_to: p.qualified_to,
        source: p.source,
        owner: p.owner,
        team: p.team,
        campaign: p.campaign,
        bucket: p.bucket,
        grade: p.grade,
        by: None,
    })?;
    let request = RepsReportRequest { pipeline, from };
    let report = state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.reps_report_as(&actor, &request, &Quiet)?)
        })
        .await?;
    Ok(Json(RepsReport::from(&report)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DigestParams {
    /// The active pipeline; may be left out when only one is active.
    pipeline: Option<String>,
    /// The end of the period (RFC 3339 or a date); now by default.
    #[param(format = DateTime)]
    as_of: Option<String>,
    /// How many days it covers, and compares with as many before them: 7 by default.
    #[param(minimum = 1, maximum = 366)]
    days: Option<u32>,
}

/// The most days a digest covers (the schema's maximum).
const MOST_DIGEST_DAYS: u32 = 366;

/// The digest
///
/// A pipeline's last `days` against as many days before them (leads created, MQLs, accepted by
/// sales, won, lost and why), the pipeline at `as_of` (open leads by stage, rotting, weighted
/// by win probability), the hand-off SLA of the clocks started in the period and how fast they
/// were answered in working hours, and the campaigns that brought the new leads. What the
/// weekly digest job writes (`server.jobs.digest_dir`).
///
/// Roles: admin, marketing, and sales keys of managers.
#[utoipa::path(
    get, path = "/v1/reports/digest", tag = "Reports", operation_id = "getV1ReportsDigest",
    params(DigestParams),
    responses(
        (status = 200, description = "The digest", body = Digest),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `pipeline_not_found`"),
        (status = 409, description = "Error: `pipeline_needed`"),
    ),
)]
pub(crate) async fn digest<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    params: Result<Query<DigestParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Digest>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let days = p.days.unwrap_or(7);
    if days == 0 || days > MOST_DIGEST_DAYS {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("days: 1 to {MOST_DIGEST_DAYS}")));
    }
    let request = DigestRequest { pipeline: p.pipeline, as_of: instant("as_of", &p.as_of)?, days };
    let digest = state
        .read(move |engine| {
            let actor = Actor { role: caller.role, name: &caller.name };
            Ok(engine.digest_as(&actor, &request, &Quiet)?)
        })
        .await?;
    Ok(Json(Digest::from(&digest)))
}
