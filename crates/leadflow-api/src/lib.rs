//! `leadflow serve`: the HTTP/JSON API over the engine.
//!
//! Handlers parse and authorize at the edge, then run the engine on a blocking thread: reads on
//! a pool of reading connections, writes on the one writing connection, and single events
//! through the ingest thread, which commits concurrent ones together.

mod client_addr;
mod config;
mod delivery;
mod dto;
mod error;
mod error_code;
mod limits;
mod metrics;
mod state;
mod tracking;
mod webhooks;

use leadflow_store::prelude::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use leadflow_contract::{BatchAnswer, BatchResult, ErrorBody, ItemOutcome};
use leadflow_core::{Action, LeadRef, Role};
use leadflow_engine::BatchItem;

pub use config::{RateLimitConfig, ServerConfig, TrackingConfig, WebhookConfig};
pub use delivery::DeliveryRound;
pub use dto::lead as lead_json;
pub use dto::model_check as model_check_json;
pub use dto::view as view_json;
pub use dto::{accepted as accepted_json, duplicate as duplicate_json};
pub use error::{ApiError, ErrorCode};
pub use state::{AppState, LeadEngine, StartError};
pub use webhooks::{DELIVERY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, install_tls_provider, signature};

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
        .route("/v1/events", post(ingest_one))
        .route("/v1/events/batch", post(ingest_batch))
        .route("/v1/leads", get(list_leads).put(upsert_lead))
        .route("/v1/leads/{lead}", get(get_lead).delete(delete_lead))
        .route("/v1/models", get(list_models).post(activate_model))
        .route("/v1/models/active", get(active_model))
        .route("/v1/models/validate", post(validate_model))
        .route("/v1/models/{version}/activate", post(reactivate_model))
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/v1/webhooks/{id}", axum::routing::delete(webhooks::delete))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/v1/tracking/identity-tokens", post(tracking::identity_token))
        .route("/t/leadflow.js", get(tracking::snippet))
        .route("/t/collect", post(tracking::collect).options(tracking::preflight))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not take that method")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Serves until `shutdown` completes; requests in flight finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
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
    let sweeper = (state.config.tracking.anonymous_retention_days > 0).then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(3_600));
            loop {
                ticks.tick().await;
                match state.expire_anonymous().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "expired anonymous website events"),
                    Err(e) => tracing::error!(code = %e.code, error = %e.message, "expiring anonymous events"),
                }
            }
        })
    });
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    // What is not delivered now waits in the outbox for the next start.
    for task in [worker, sweeper].into_iter().flatten() {
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
async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
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
const NAME_BY_ONE_KEY: &str =
    "a key that may not read leads names a lead by one key, its email or its external_id, not by lead_id";

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
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

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

/// A self-contained page that renders [`OPENAPI`] and sends requests from the browser.
async fn docs() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], include_str!("docs.html"))
        .into_response()
}

async fn metrics_text(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
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

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers and a model is active.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let version = state.read(|engine| Ok(engine.active_model()?.0)).await?;
    Ok(Json(json!({"status": "ready", "model_version": version.0})))
}

fn lead_ref(s: &str) -> Result<LeadRef, ApiError> {
    LeadRef::parse(s).map_err(|e| {
        ApiError::new(ErrorCode::InvalidLead, format!("`{s}` names no lead (an id, an email or an external id): {e}"))
    })
}

async fn ingest_one(
    State(state): State<AppState>,
    caller: Caller,
    Body(event): Body<dto::EventRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::IngestEvents)?;
    let reads = caller.may_read_leads();
    if let Some(refused) = refusal(&state, reads, &event).await? {
        return Err(refused);
    }
    let now = state.now();
    let input = event.parse(now).map_err(|m| ApiError::new(ErrorCode::InvalidEvent, m))?;
    let (item, scored) = state.track(input).await?;
    state.metrics.count_events(item_status(&item), 1);
    if !reads {
        // An ingest key learns that its event went in, nothing about the lead.
        return match item {
            BatchItem::Rejected { reason, .. } => Err(ApiError::from(reason)),
            item => Ok(Json(json!({"status": item_status(&item)}))),
        };
    }
    Ok(Json(match item {
        BatchItem::Accepted { lead, created_lead, .. } => dto::accepted(lead, created_lead, scored.as_ref()),
        BatchItem::Duplicate { lead, .. } => dto::duplicate(lead),
        BatchItem::Rejected { reason, .. } => return Err(ApiError::from(reason)),
    }))
}

/// Why an event is refused before it is parsed, if it is. A caller that may not read leads
/// names a lead by one key, its email or its external id (answers about a `lead_id`, or about two
/// keys that disagree, would tell it which leads exist). An event naming its lead by several keys
/// must name one lead: no key may name another lead than the strongest (lead_id, then external_id,
/// then email), nor differ from that lead's own.
async fn refusal(state: &AppState, reads: bool, event: &dto::EventRequest) -> Result<Option<ApiError>, ApiError> {
    let keys = event.keys();
    if !reads && (event.lead_id.is_some() || keys.len() > 1) {
        return Ok(Some(ApiError::forbidden(NAME_BY_ONE_KEY)));
    }
    let Some((strongest, weaker)) = keys.split_first().filter(|(_, weaker)| !weaker.is_empty()) else {
        return Ok(None);
    };
    let (strongest, weaker) = (strongest.clone(), weaker.to_vec());
    state
        .read(move |engine| {
            let named = engine.store().lead(&strongest)?;
            for key in weaker {
                let other = engine.store().lead(&key)?;
                let differs = match (&named, &key) {
                    (Some(l), LeadRef::Email(e)) => l.profile.email.as_ref().is_some_and(|own| own != e),
                    (Some(l), LeadRef::External(x)) => l.profile.external_id.as_ref().is_some_and(|own| own != x),
                    _ => false,
                };
                let elsewhere = other.is_some_and(|o| named.as_ref().is_none_or(|n| n.id != o.id));
                if differs || elsewhere {
                    let message = format!("{} and {} name different leads", key_text(&strongest), key_text(&key));
                    return Ok(Some(ApiError::new(ErrorCode::InvalidEvent, message)));
                }
            }
            Ok(None)
        })
        .await
}

/// `lead_id 7`, `email ana@acme.example`, `external_id 00Q5g`: a key as the request gave it.
fn key_text(key: &LeadRef) -> String {
    match key {
        LeadRef::Id(id) => format!("lead_id {id}"),
        LeadRef::Email(e) => format!("email {e}"),
        LeadRef::External(x) => format!("external_id {x}"),
    }
}

fn item_status(item: &BatchItem) -> &'static str {
    match item {
        BatchItem::Accepted { .. } => "accepted",
        BatchItem::Duplicate { .. } => "duplicate",
        BatchItem::Rejected { .. } => "rejected",
    }
}

async fn ingest_batch(
    State(state): State<AppState>,
    caller: Caller,
    Body(batch): Body<dto::BatchRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::IngestEvents)?;
    let max = state.config.max_batch;
    if batch.events.len() > max {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!("{} events in one batch; at most {max}", batch.events.len()),
        ));
    }
    // Parsing and answering happen outside the writer's lock; only recording holds it.
    let now = state.now();
    let reads = caller.may_read_leads();
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(batch.events.len());
    let mut inputs = Vec::new();
    let mut positions = Vec::new();
    for (i, item) in batch.events.into_iter().enumerate() {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        let rejected = |code: ErrorCode, message: String| {
            let error = ErrorBody { code: code.as_str(), message };
            Some(BatchResult { index: i, id: id.clone(), outcome: ItemOutcome::Rejected { error } })
        };
        let event = match serde_json::from_value::<dto::EventRequest>(item) {
            Ok(event) => event,
            Err(e) => {
                results.push(rejected(ErrorCode::InvalidRequest, format!("events[{i}]: {e}")));
                continue;
            }
        };
        if let Some(refused) = refusal(&state, reads, &event).await? {
            results.push(rejected(refused.code, refused.message));
            continue;
        }
        match event.parse(now) {
            Ok(input) => {
                inputs.push(input);
                positions.push(i);
                results.push(None);
            }
            Err(message) => results.push(rejected(ErrorCode::InvalidEvent, message)),
        }
    }
    let outcome = state.write(move |engine| Ok(engine.track_batch(inputs)?)).await?;
    for (item, i) in outcome.items.into_iter().zip(positions) {
        // What the lead is (its id, whether it is new) is told only to callers that may read it.
        let (id, outcome) = match item {
            BatchItem::Accepted { key, lead, created_lead } => {
                let lead_id = reads.then_some(lead.0);
                (key, ItemOutcome::Accepted { lead_id, created_lead: reads.then_some(created_lead) })
            }
            BatchItem::Duplicate { key, lead } => (key, ItemOutcome::Duplicate { lead_id: reads.then_some(lead.0) }),
            BatchItem::Rejected { key, reason } => {
                let e = ApiError::from(reason);
                (key, ItemOutcome::Rejected { error: ErrorBody { code: e.code.as_str(), message: e.message } })
            }
        };
        results[i] = Some(BatchResult { index: i, id: Value::String(id.as_str().to_string()), outcome });
    }
    let results: Vec<BatchResult> = results.into_iter().map(|r| r.expect("every event has a result")).collect();
    let answer = BatchAnswer::of(results);
    for (outcome, n) in [("accepted", answer.accepted), ("duplicate", answer.duplicates), ("rejected", answer.rejected)]
    {
        state.metrics.count_events(outcome, n as u64);
    }
    Ok(Json(dto::json_of(answer)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    bucket: Option<String>,
    grade: Option<String>,
    stage: Option<String>,
    owner: Option<String>,
    min_score: Option<f64>,
    max_score: Option<f64>,
    #[serde(default)]
    mql: bool,
    /// Words that must each appear in the name, email or company.
    q: Option<String>,
    created_from: Option<String>,
    created_until: Option<String>,
    updated_from: Option<String>,
    updated_until: Option<String>,
    sort: Option<String>,
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

async fn list_leads(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let bad = |what: &str, v: &str| ApiError::new(ErrorCode::InvalidRequest, format!("{what}: `{v}` is not valid"));
    let time = |what: &str, v: &Option<String>| {
        v.as_deref().map(|s| leadflow_core::Timestamp::parse(s).map_err(|_| bad(what, s))).transpose()
    };
    let order = leadflow_engine::lead_order(p.sort.as_deref())?;
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let filter = leadflow_engine::LeadFilter {
        bucket: p.bucket,
        grade: p.grade,
        stage: p.stage,
        owner: p.owner,
        min_score: p.min_score,
        max_score: p.max_score,
        mql_only: p.mql,
        text: p.q,
        created_from: time("created_from", &p.created_from)?,
        created_until: time("created_until", &p.created_until)?,
        updated_from: time("updated_from", &p.updated_from)?,
        updated_until: time("updated_until", &p.updated_until)?,
        sort: p.sort,
        limit,
        offset: 0,
        after: p.cursor.as_deref().map(|c| dto::parse_cursor(c, order).ok_or_else(|| bad("cursor", c))).transpose()?,
    };
    let leads = state.read(move |engine| Ok(engine.list_leads(filter)?)).await?;
    // A full page may have more after it; a short one is the last.
    let next = (leads.len() == limit).then(|| leads.last().map(|l| dto::cursor(order, l))).flatten();
    let page = leadflow_contract::LeadPage {
        leads: leads.iter().map(leadflow_contract::Lead::from).collect(),
        next_cursor: next,
    };
    Ok(Json(dto::json_of(page)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewParams {
    /// How many of the newest events to include (20 by default, 500 at most).
    timeline: Option<usize>,
}

async fn get_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
    params: Result<Query<ViewParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.timeline.unwrap_or(20).min(500);
    let lead = lead_ref(&lead)?;
    let view = state
        .read(move |engine| engine.view(&lead, None, limit)?.ok_or_else(|| ApiError::lead_not_found(lead)))
        .await?;
    Ok(Json(dto::view(&view)))
}

async fn upsert_lead(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::LeadRequest>,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let input = request.parse().map_err(|m| ApiError::new(ErrorCode::InvalidLead, m))?;
    let outcome = state
        .write(move |engine| {
            let actor = leadflow_core::Actor { role: caller.role, name: &caller.name };
            Ok(engine.upsert_lead_as(&actor, input)?)
        })
        .await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    let lead = outcome.scored.lead;
    let view = state.read(move |engine| Ok(engine.view(&LeadRef::Id(lead), None, 20)?)).await?;
    Ok((status, Json(view.as_ref().map(dto::view).unwrap_or(Value::Null))).into_response())
}

async fn delete_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::DeleteLeads)?;
    let lead = lead_ref(&lead)?;
    let deleted = state.write(move |engine| Ok(engine.delete_lead(&lead)?)).await?;
    if deleted { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::new(ErrorCode::LeadNotFound, "no such lead")) }
}

async fn list_models(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let models = state.read(|engine| Ok(engine.models()?)).await?;
    Ok(Json(dto::json_of(leadflow_contract::ModelList { models: models.iter().map(Into::into).collect() })))
}

async fn active_model(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let model = state
        .read(|engine| {
            engine.store().active_model()?.ok_or_else(|| ApiError::from(leadflow_engine::EngineError::NoActiveModel))
        })
        .await?;
    Ok(Json(dto::json_of(leadflow_contract::ModelSource::from(&model))))
}

async fn validate_model(
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

async fn activate_model(
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
async fn reactivate_model(
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
