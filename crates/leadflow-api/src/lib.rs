//! `leadflow serve`: the HTTP/JSON API over the engine.
//!
//! Handlers parse and authorize at the edge, then run the engine on a blocking thread: reads on
//! a pool of reading connections, writes on the one writing connection, and single events
//! through the ingest thread, which commits concurrent ones together.

mod client_addr;
mod config;
mod cursor;
mod delivery;
mod digest_files;
mod do_not_contact;
mod email_links;
mod enrollments;
mod error;
mod error_code;
mod events;
mod identities;
mod jobs;
mod leads;
mod limits;
mod mail_config;
mod metrics;
mod models;
mod openapi;
mod pipelines;
mod reports;
mod rule_files;
mod sequences;
mod sla;
mod state;
mod tasks;
mod team;
mod templates;
mod tracking;
mod webhooks;

use leadflow_engine::JobRound;
use leadflow_store::Backend;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use leadflow_contract::{Health, Ready};
use serde::de::DeserializeOwned;

use leadflow_core::{Action, Role};

pub use config::{RateLimitConfig, ServerConfig, TrackingConfig, WebhookConfig};
pub use delivery::DeliveryRound;
pub use error::{ApiError, ErrorCode};
pub use mail_config::MailConfig;
pub use openapi::document as openapi_document;
pub use state::{AppState, StartError};
pub use webhooks::{DELIVERY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, install_tls_provider, signature};

/// The router of the whole API.
pub fn router<S: Backend>(state: AppState<S>) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready::<S>))
        .route("/metrics", get(metrics_text::<S>))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
        .route("/v1/events", post(events::ingest_one::<S>))
        .route("/v1/events/batch", post(events::ingest_batch::<S>))
        .route("/v1/leads", get(leads::list::<S>).put(leads::upsert::<S>))
        .route("/v1/leads/{lead}", get(leads::get::<S>).delete(leads::delete::<S>))
        .route("/v1/leads/{lead}/changes", get(leads::changes::<S>))
        .route("/v1/leads/{lead}/stages", get(leads::stages::<S>))
        .route("/v1/leads/{lead}/identities", get(identities::list::<S>).post(identities::add::<S>))
        .route("/v1/leads/{lead}/identities/{identity}", axum::routing::delete(identities::remove::<S>))
        .route("/v1/leads/{lead}/stage", post(pipelines::move_lead::<S>))
        .route("/v1/leads/{lead}/owner", post(team::give::<S>))
        .route("/v1/leads/{lead}/tasks", post(tasks::add::<S>))
        .route("/v1/leads/{lead}/decision", post(sla::decide::<S>))
        .route("/v1/sla", get(sla::active::<S>).post(sla::apply::<S>))
        .route("/v1/sla/validate", post(sla::validate))
        .route("/v1/sla/clocks", get(sla::clocks::<S>))
        .route("/v1/sla/compliance", get(sla::compliance::<S>))
        .route("/v1/reports/pipeline", get(reports::pipeline::<S>))
        .route("/v1/reports/funnel", get(reports::funnel::<S>))
        .route("/v1/reports/pipeline/charts/{chart}", get(reports::chart::<S>))
        .route("/v1/reports/reps", get(reports::reps::<S>))
        .route("/v1/reports/model", get(reports::model::<S>))
        .route("/v1/reports/touchpoints", get(reports::touchpoints::<S>))
        .route("/v1/reports/digest", get(reports::digest::<S>))
        .route("/v1/tasks", get(tasks::list::<S>))
        .route("/v1/queue", get(tasks::queue::<S>))
        .route("/v1/tasks/missing", get(tasks::missing::<S>))
        .route("/v1/tasks/{id}", post(tasks::change::<S>))
        .route("/v1/jobs", get(jobs::list::<S>))
        .route("/v1/users", get(team::list::<S>))
        .route("/v1/users/{name}", axum::routing::put(team::put::<S>))
        .route("/v1/assignment", get(team::active::<S>).post(team::apply::<S>))
        .route("/v1/assignment/validate", post(team::validate::<S>))
        .route("/v1/pipelines", get(pipelines::list::<S>).post(pipelines::apply::<S>))
        .route("/v1/pipelines/validate", post(pipelines::validate))
        .route("/v1/pipelines/versions/{version}/activate", post(pipelines::activate::<S>))
        .route("/v1/pipelines/{name}", get(pipelines::get::<S>))
        .route("/v1/pipelines/{name}/deactivate", post(pipelines::deactivate::<S>))
        .route("/v1/sequences", get(sequences::list::<S>).post(sequences::apply::<S>))
        .route("/v1/sequences/validate", post(sequences::validate))
        .route("/v1/sequences/versions/{version}/activate", post(sequences::activate::<S>))
        .route("/v1/sequences/{name}", get(sequences::get::<S>))
        .route("/v1/sequences/{name}/pause", post(sequences::pause::<S>))
        .route("/v1/sequences/{name}/enrollments", get(enrollments::of_sequence::<S>).post(enrollments::enroll::<S>))
        .route("/v1/sequences/{name}/enrollments/exit", post(enrollments::exit::<S>))
        .route("/v1/leads/{lead}/enrollments", get(enrollments::of_lead::<S>))
        .route("/v1/templates", get(templates::list::<S>).post(templates::apply::<S>))
        .route("/v1/templates/validate", post(templates::validate))
        .route("/v1/templates/preview", post(templates::preview::<S>))
        .route("/v1/templates/versions/{version}/activate", post(templates::activate::<S>))
        .route("/v1/templates/{name}/retire", post(templates::retire::<S>))
        .route("/v1/models", get(models::list::<S>).post(models::apply::<S>))
        .route("/v1/models/active", get(models::active::<S>))
        .route("/v1/models/validate", post(models::validate::<S>))
        .route("/v1/models/{version}/activate", post(models::reactivate::<S>))
        .route("/v1/webhooks", get(webhooks::list::<S>).post(webhooks::create::<S>))
        .route("/v1/webhooks/{id}", axum::routing::delete(webhooks::delete::<S>))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries::<S>))
        .route("/v1/tracking/identity-tokens", post(tracking::identity_token::<S>))
        .route("/t/leadflow.js", get(tracking::snippet::<S>))
        .route("/t/collect", post(tracking::collect::<S>).options(tracking::preflight::<S>))
        .route("/v1/do-not-contact", get(do_not_contact::list::<S>).post(do_not_contact::add::<S>))
        .route("/v1/do-not-contact/{channel}/{address}", axum::routing::delete(do_not_contact::remove::<S>))
        .route("/v1/sequences/{name}/metrics", get(do_not_contact::metrics::<S>))
        .route("/v1/reports/nurture", get(do_not_contact::all_metrics::<S>))
        .route("/v1/inbound/email", post(email_links::inbound::<S>))
        .route("/u/{token}", get(email_links::page::<S>).post(email_links::confirm::<S>))
        .route("/o/{token}", get(email_links::open::<S>))
        .route("/c/{token}", get(email_links::click::<S>))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take that method")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe::<S>))
        .with_state(state)
}

/// Serves until `shutdown` completes; requests in flight finish first.
pub async fn serve<S: Backend>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let interval = state.config.webhooks.poll_interval_ms;
    let worker = (interval > 0).then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let client = webhooks::client();
            let mut ticks = tokio::time::interval(Duration::from_millis(interval));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Not awaited: a round stuck on a slow receiver must not stop the next one
                // from sending everyone else's (rounds leave each other's deliveries alone).
                let (state, client) = (state.clone(), client.clone());
                tokio::spawn(async move {
                    if let Err(e) = state.deliver_due(&client).await {
                        tracing::error!(code = %e.code, error = %e.message, "webhook deliveries");
                    }
                });
            }
        })
    });
    let jobs_interval = state.config.jobs.poll_interval_ms;
    let job_worker = (jobs_interval > 0).then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = state.schedule_jobs().await {
                tracing::error!(code = %e.code, error = %e.message, "scheduling jobs");
            }
            let mut ticks = tokio::time::interval(Duration::from_millis(jobs_interval));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match state.run_due_jobs().await {
                    Ok(round) if round == JobRound::default() => {}
                    Ok(round) => tracing::info!(
                        done = round.done,
                        retried = round.retried,
                        failed = round.failed,
                        lost = round.lost,
                        "jobs"
                    ),
                    Err(e) => tracing::error!(code = %e.code, error = %e.message, "running jobs"),
                }
            }
        })
    });
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // What is not delivered now waits on the job queue for the next start (or another server).
    for task in [worker, job_worker].into_iter().flatten() {
        task.abort();
    }
    served
}

/// Binds `addr` (port 0 picks a free one) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Around every request: the time limit, metrics, and one log line.
async fn observe<S: Backend>(State(state): State<AppState<S>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let caller = CallerName::default();
    request.extensions_mut().insert(caller.clone());
    let limit = Duration::from_millis(state.config.request_timeout_ms.max(1));
    let response = match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::Timeout,
            format!("the request took over {} ms; writes it started may still complete", limit.as_millis()),
        )
        .into_response(),
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = metrics::RequestLabels { method: metrics::method_label(&method), route: route.clone(), status };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .request_seconds
        .get_or_create(&metrics::RouteLabels { route: route.clone() })
        .observe(elapsed.as_secs_f64());
    let caller = caller.0.get().map_or("-", String::as_str);
    tracing::info!(target: "leadflow::http", %method, route, status, caller, micros = elapsed.as_micros() as u64, "request");
    response
}

/// The key name a request ran as, for the log line (never the secret).
#[derive(Clone, Default)]
struct CallerName(std::sync::Arc<std::sync::OnceLock<String>>);

/// The caller, authenticated by its API key and within its rate limit.
struct Caller {
    role: Role,
    name: String,
}

/// Why a caller that may not read leads cannot name one by id: the answers would tell it which
/// ids exist.
pub(crate) const NAME_BY_ONE_KEY: &str =
    "a key that may not read leads names a lead by one key, its email or its external_id, not by lead_id or identity";

impl Caller {
    /// Whether answers may say anything about a lead (its id, score, whether it is new).
    fn may_read_leads(&self) -> bool {
        self.role.may(Action::ReadLeads)
    }

    fn require(&self, action: Action) -> Result<(), ApiError> {
        if self.role.may(action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("an API key with the {} role may not do this", self.role)))
        }
    }
}

impl<S: Backend> FromRequestParts<AppState<S>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Caller, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let Some(secret) = header.and_then(bearer) else {
            return Err(ApiError::new(ErrorCode::MissingApiKey, "send an API key: Authorization: Bearer <key>"));
        };
        let secret = secret.to_string();
        let key = state.read(move |engine| Ok(engine.authenticate(&secret)?)).await?;
        let Some(key) = key else {
            return Err(ApiError::new(ErrorCode::InvalidApiKey, "the API key is unknown or revoked"));
        };
        if let Err(wait) = state.limiter.take(&format!("key:{}", key.id), Instant::now()) {
            return Err(ApiError::rate_limited(wait));
        }
        if let Some(slot) = parts.extensions.get::<CallerName>() {
            let _ = slot.0.set(key.name.clone());
        }
        Ok(Caller { role: key.role, name: key.name })
    }
}

/// The credential of an `Authorization: Bearer <token>` header (the scheme in any case, as
/// RFC 9110 has it).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// `Json` whose rejections are ours: a status, a stable code, a message.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body<T>, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(match &rejection {
                JsonRejection::JsonSyntaxError(_) => ApiError::new(ErrorCode::InvalidJson, rejection.body_text()),
                JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidRequest, rejection.body_text()),
                JsonRejection::MissingJsonContentType(_) => {
                    ApiError::new(ErrorCode::UnsupportedMediaType, "send JSON with Content-Type: application/json")
                }
                _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "the body is over the server's size limit (max_body_bytes)",
                ),
                _ => ApiError::new(ErrorCode::InvalidRequest, rejection.body_text()),
            }),
        }
    }
}

/// This document
#[utoipa::path(
    get, path = "/openapi.json", tag = "Operations", operation_id = "getOpenapiJson", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)),
)]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], openapi::document()).into_response()
}

/// Interactive documentation (works offline)
///
/// A self-contained page that renders the OpenAPI document and sends requests from the browser.
#[utoipa::path(
    get, path = "/docs", tag = "Operations", operation_id = "getDocs", security(()),
    responses((status = 200, description = "HTML", content_type = "text/html; charset=utf-8", body = String)),
)]
async fn docs() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], include_str!("docs.html"))
        .into_response()
}

/// Prometheus metrics (OpenMetrics text)
///
/// Requests and latencies per route, events ingested by outcome, ingest group sizes, rescore
/// time, webhook deliveries and the outbox backlog. Open unless `server.metrics_token` is set;
/// then it needs `Authorization: Bearer <metrics_token>`. Label values are bounded: unknown
/// methods count as `other`, unknown paths as `unmatched`.
#[utoipa::path(
    get, path = "/metrics", tag = "Operations", operation_id = "getMetrics", security((), ("metricsToken" = [])),
    responses(
        (status = 200, description = "Metrics", content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String),
        (status = 401, description = "Error: `invalid_api_key`"),
    ),
)]
async fn metrics_text<S: Backend>(State(state): State<AppState<S>>, headers: axum::http::HeaderMap) -> Response {
    let token = &state.config.metrics_token;
    if !token.is_empty() {
        let sent = headers.get(header::AUTHORIZATION).and_then(|h| h.to_str().ok()).and_then(bearer).unwrap_or("");
        // Compared in constant time: timing tells nothing of the token.
        if !leadflow_engine::constant_time_eq(sent.as_bytes(), token.as_bytes()) {
            return ApiError::new(
                ErrorCode::InvalidApiKey,
                "metrics need the server's metrics token: Authorization: Bearer <server.metrics_token>",
            )
            .into_response();
        }
    }
    match state.read(|engine| Ok(engine.store().count_pending_deliveries()?)).await {
        Ok(pending) => {
            state.metrics.webhook_pending.set(pending as i64);
        }
        Err(e) => tracing::error!(code = %e.code, "counting pending webhook deliveries"),
    }
    let content_type = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], state.metrics.render()).into_response()
}

/// Liveness: the process answers
#[utoipa::path(
    get, path = "/health", tag = "Operations", operation_id = "getHealth", security(()),
    responses((status = 200, description = "Alive", body = Health)),
)]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers and a model is active
///
/// Says which backend answered.
#[utoipa::path(
    get, path = "/ready", tag = "Operations", operation_id = "getReady", security(()),
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
async fn ready<S: Backend>(State(state): State<AppState<S>>) -> Result<Json<Ready>, ApiError> {
    let (version, database) =
        state.read(|engine| Ok((engine.active_model()?.0, engine.store().url().backend()))).await?;
    Ok(Json(Ready { status: "ready", database, model_version: version.0 }))
}
