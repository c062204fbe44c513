//! `leadflow serve`: the HTTP/JSON API over the engine.
//!
//! Handlers parse and authorize at the edge, then run the engine on a blocking thread: the
//! engine and its SQLite connection are synchronous, and one mutex orders writes as SQLite would.

mod dto;
mod error;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use leadflow_core::{Action, Grade, LeadRef, LifecycleStage, Role};
use leadflow_engine::{BatchItem, Engine, RescoreOptions, TrackOutcome};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{LeadOrder, LeadQuery, Store};

pub use dto::lead as lead_json;
pub use dto::view as view_json;
pub use error::ApiError;

/// The most events one batch request may carry.
pub const MAX_BATCH: usize = 10_000;
/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    engine: Arc<Mutex<Engine<SqliteStore>>>,
}

impl AppState {
    pub fn new(engine: Engine<SqliteStore>) -> AppState {
        AppState { engine: Arc::new(Mutex::new(engine)) }
    }

    /// Runs `f` with the engine on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<SqliteStore>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            let mut engine = engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut engine)
        })
        .await
        .map_err(|e| {
            eprintln!("internal error: a request's task failed: {e}");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred")
        })?
    }
}

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/v1/events", post(ingest_one))
        .route("/v1/events/batch", post(ingest_batch))
        .route("/v1/leads", get(list_leads).put(upsert_lead))
        .route("/v1/leads/{lead}", get(get_lead).delete(delete_lead))
        .route("/v1/models", get(list_models).post(activate_model))
        .route("/v1/models/active", get(active_model))
        .route("/v1/models/validate", post(validate_model))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves until `shutdown` completes; requests in flight finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Binds `addr` (port 0 picks a free one) and returns the listener with the address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// The caller, authenticated by its API key.
struct Caller {
    role: Role,
    name: String,
}

impl Caller {
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
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|h| h.to_str().ok());
        let Some(secret) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "send an API key: Authorization: Bearer <key>",
            ));
        };
        let secret = secret.to_string();
        let key = state.run(move |engine| Ok(engine.authenticate(&secret)?)).await?;
        match key {
            Some(k) => Ok(Caller { role: k.role, name: k.name }),
            None => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "the API key is unknown or revoked"))
            }
        }
    }
}

/// `Json` whose rejections are ours: a status, a stable code, a message.
struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Body<T>, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(match &rejection {
                JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("invalid_json", rejection.body_text()),
                JsonRejection::JsonDataError(_) => ApiError::bad_request("invalid_request", rejection.body_text()),
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send JSON with Content-Type: application/json",
                ),
                _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body is over {MAX_BODY_BYTES} bytes"),
                ),
                _ => ApiError::bad_request("invalid_request", rejection.body_text()),
            }),
        }
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers and a model is active.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let version = state.run(|engine| Ok(engine.active_model()?.0)).await?;
    Ok(Json(json!({"status": "ready", "model_version": version.0})))
}

fn lead_ref(s: &str) -> Result<LeadRef, ApiError> {
    LeadRef::parse(s)
        .map_err(|_| ApiError::bad_request("invalid_lead", format!("`{s}` is neither a lead id nor an email")))
}

async fn ingest_one(
    State(state): State<AppState>,
    caller: Caller,
    Body(event): Body<dto::EventRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::IngestEvents)?;
    let outcome = state
        .run(move |engine| {
            let input = event.parse(engine.now()).map_err(|m| ApiError::bad_request("invalid_event", m))?;
            Ok(engine.track(input)?)
        })
        .await?;
    Ok(Json(match outcome {
        TrackOutcome::Duplicate { lead } => json!({"status": "duplicate", "lead_id": lead.0}),
        TrackOutcome::Accepted { scored, created_lead } => json!({
            "status": "accepted", "lead_id": scored.lead.0, "created_lead": created_lead,
            "score": {"fit": scored.card.fit, "engagement": scored.card.engagement, "total": scored.card.total,
                      "bucket": scored.bucket, "grade": scored.card.grade.letter()},
            "became_mql": scored.became_mql,
        }),
    }))
}

async fn ingest_batch(
    State(state): State<AppState>,
    caller: Caller,
    Body(batch): Body<dto::BatchRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::IngestEvents)?;
    if batch.events.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "batch_too_large",
            format!("{} events in one batch; at most {MAX_BATCH}", batch.events.len()),
        ));
    }
    let results = state
        .run(move |engine| {
            let now = engine.now();
            let mut results: Vec<Option<Value>> = Vec::with_capacity(batch.events.len());
            let mut inputs = Vec::new();
            let mut positions = Vec::new();
            for (i, event) in batch.events.into_iter().enumerate() {
                let id = event.id.clone();
                match event.parse(now) {
                    Ok(input) => {
                        inputs.push(input);
                        positions.push(i);
                        results.push(None);
                    }
                    Err(message) => results.push(Some(json!({
                        "index": i, "id": id, "status": "rejected",
                        "error": {"code": "invalid_event", "message": message},
                    }))),
                }
            }
            for (item, i) in engine.track_batch(inputs)?.into_iter().zip(positions) {
                results[i] = Some(match item {
                    BatchItem::Accepted { key, lead, created_lead } => json!({
                        "index": i, "id": key.as_str(), "status": "accepted", "lead_id": lead.0, "created_lead": created_lead,
                    }),
                    BatchItem::Duplicate { key, lead } => {
                        json!({"index": i, "id": key.as_str(), "status": "duplicate", "lead_id": lead.0})
                    }
                    BatchItem::Rejected { key, reason } => {
                        let e = ApiError::from(reason);
                        json!({"index": i, "id": key.as_str(), "status": "rejected",
                               "error": {"code": e.code, "message": e.message}})
                    }
                });
            }
            Ok(results.into_iter().map(|r| r.expect("every event has a result")).collect::<Vec<_>>())
        })
        .await?;
    let count = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    Ok(Json(json!({
        "accepted": count("accepted"), "duplicates": count("duplicate"), "rejected": count("rejected"),
        "results": results,
    })))
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
    sort: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn list_leads(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_request", e.body_text()))?;
    let bad = |what: &str, v: &str| ApiError::bad_request("invalid_request", format!("{what}: `{v}` is not valid"));
    let query = LeadQuery {
        bucket: p.bucket,
        grade: p.grade.as_deref().map(|g| Grade::parse(g).ok_or_else(|| bad("grade", g))).transpose()?,
        stage: p.stage.as_deref().map(|s| LifecycleStage::parse(s).ok_or_else(|| bad("stage", s))).transpose()?,
        owner: p.owner,
        min_total: p.min_score,
        max_total: p.max_score,
        mql_only: p.mql,
        order: match p.sort.as_deref() {
            None | Some("score") => LeadOrder::ScoreDesc,
            Some("score_asc") => LeadOrder::ScoreAsc,
            Some("newest") => LeadOrder::Newest,
            Some("updated") => LeadOrder::RecentlyUpdated,
            Some(other) => return Err(bad("sort", other)),
        },
        limit: p.limit.unwrap_or(50).min(500),
        offset: p.offset.unwrap_or(0),
    };
    let leads = state.run(move |engine| Ok(engine.store().list_leads(&query)?)).await?;
    Ok(Json(json!({ "leads": leads.iter().map(dto::lead).collect::<Vec<_>>() })))
}

async fn get_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadLeads)?;
    let lead = lead_ref(&lead)?;
    let view =
        state.run(move |engine| engine.view(&lead, None, 50)?.ok_or_else(|| ApiError::lead_not_found(lead))).await?;
    Ok(Json(dto::view(&view)))
}

async fn upsert_lead(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::LeadRequest>,
) -> Result<Response, ApiError> {
    caller.require(Action::WriteOwnLeads)?;
    let input = request.parse().map_err(|m| ApiError::bad_request("invalid_lead", m))?;
    let may_write_all = caller.role.may(Action::WriteLeads);
    let name = caller.name.clone();
    let outcome = state
        .run(move |engine| {
            if !may_write_all {
                // Sales keys update the leads they own (the lead's owner is the key's name).
                let existing = engine.store().lead(&LeadRef::Email(input.profile.email.clone()))?;
                let owned = existing.as_ref().is_some_and(|l| l.profile.owner.as_deref() == Some(name.as_str()));
                let keeps_owner = input.profile.owner.as_deref().is_none_or(|o| o == name);
                if !owned || !keeps_owner {
                    return Err(ApiError::forbidden("a sales key may update only the leads it owns"));
                }
            }
            Ok(engine.upsert_lead(input)?)
        })
        .await?;
    let status = if outcome.created { StatusCode::CREATED } else { StatusCode::OK };
    let lead = outcome.scored.lead;
    let view = state.run(move |engine| Ok(engine.view(&LeadRef::Id(lead), None, 50)?)).await?;
    Ok((status, Json(view.as_ref().map(dto::view).unwrap_or(Value::Null))).into_response())
}

async fn delete_lead(
    State(state): State<AppState>,
    caller: Caller,
    Path(lead): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::DeleteLeads)?;
    let lead = lead_ref(&lead)?;
    let deleted = state.run(move |engine| Ok(engine.delete_lead(&lead)?)).await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "lead_not_found", "no such lead"))
    }
}

async fn list_models(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let models = state.run(|engine| Ok(engine.models()?)).await?;
    Ok(Json(json!({ "models": models.iter().map(dto::model).collect::<Vec<_>>() })))
}

async fn active_model(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require(Action::ReadModels)?;
    let model = state
        .run(|engine| {
            engine.store().active_model()?.ok_or_else(|| ApiError::from(leadflow_engine::EngineError::NoActiveModel))
        })
        .await?;
    let mut out = dto::model(&model);
    out["source"] = json!(model.source);
    Ok(Json(out))
}

async fn validate_model(caller: Caller, Body(request): Body<dto::ModelRequest>) -> Result<Json<Value>, ApiError> {
    caller.require(Action::WriteModels)?;
    match leadflow_core::Model::parse(&request.source) {
        Ok(model) => Ok(Json(json!({"valid": true, "name": model.name, "problems": []}))),
        Err(e) => {
            let problems: Vec<_> = e
                .problems
                .iter()
                .map(|p| json!({"line": p.line, "column": p.column, "path": p.path, "message": p.message}))
                .collect();
            Ok(Json(json!({"valid": false, "problems": problems})))
        }
    }
}

async fn activate_model(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<dto::ModelRequest>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Action::WriteModels)?;
    let report = state.run(move |engine| Ok(engine.apply_model(&request.source, &leadflow_engine::Quiet)?)).await?;
    Ok(Json(json!({
        "version": report.version.0, "name": report.name,
        "rescored": report.rescore.leads, "changed": report.rescore.changed, "became_mql": report.rescore.became_mql,
    })))
}

/// Rescoring on a schedule from the server process: what needs it, as of now.
pub fn rescore_needed(engine: &mut Engine<SqliteStore>) -> Result<leadflow_engine::RescoreReport, ApiError> {
    let now = engine.now();
    Ok(engine.rescore(RescoreOptions::needed(now), &leadflow_engine::Quiet)?)
}
