//! Webhooks: registration and what a receiver gets (the worker that sends them: `delivery.rs`).
//!
//! A delivery is a POST of JSON with `X-Leadflow-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! the exact body with the webhook's secret. Each delivery is a job of the job queue, queued in
//! the same transaction as the change, so none is lost across a restart. At least once: a
//! receiver may see a delivery again (after a crash between sending and recording) and can
//! recognize it by `X-Leadflow-Delivery`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hmac::{Hmac, KeyInit, Mac};
use leadflow_contract::{DeliveryList, Webhook, WebhookList, WebhookRequest};
use serde::Deserialize;
use sha2::Sha256;
use utoipa::IntoParams;

use leadflow_core::{Action, Topic};

use crate::{ApiError, AppState, Body, Caller, ErrorCode};
use leadflow_store::Backend;

pub const SIGNATURE_HEADER: &str = "x-leadflow-signature";
pub const DELIVERY_HEADER: &str = "x-leadflow-delivery";
pub const TOPIC_HEADER: &str = "x-leadflow-topic";

/// `sha256=<hex of HMAC-SHA256(secret, body)>`: what a receiver recomputes to trust a delivery.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The longest webhook URL taken.
const MAX_URL_BYTES: usize = 2048;

/// What a webhook URL's path and query may hold: URL characters, none escaped (no fragment: a
/// receiver never sees one).
const PATH_CHARACTERS: &[u8] = b"._~%!$&'()*+,;=:@/?-";

/// An `http://` or `https://` URL as the document's pattern says (`schema::webhook_url`): a host
/// of letters, digits, `.` and `-`, a port, then a path and query of URL characters.
fn parse_url(url: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::new(ErrorCode::InvalidWebhook, format!("url: {why}"));
    if url.len() > MAX_URL_BYTES {
        return Err(bad(&format!("longer than {MAX_URL_BYTES} bytes")));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("use an http:// or https:// URL"))?;
    let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
        return Err(bad("give a host of letters, digits, `.` and `-`"));
    }
    if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err()) {
        return Err(bad("the port is a number from 0 to 65535"));
    }
    if !path.bytes().all(|b| b.is_ascii_alphanumeric() || PATH_CHARACTERS.contains(&b)) {
        return Err(bad("the path holds a character a URL may not (spaces, quotes, brackets, a fragment)"));
    }
    Ok(url.to_string())
}

/// Register a webhook
///
/// Deliveries are POSTs of JSON signed with `X-Leadflow-Signature: sha256=<hex HMAC-SHA256 of
/// the body with the secret>`, with `X-Leadflow-Delivery` (an id, for deduplication: delivery is
/// at least once) and `X-Leadflow-Topic`. Failed deliveries are retried with doubling backoff;
/// they wait on the job queue across restarts.
///
/// Roles: admin.
#[utoipa::path(
    post, path = "/v1/webhooks", tag = "Webhooks", operation_id = "postV1Webhooks",
    request_body = WebhookRequest,
    responses(
        (status = 201, description = "Registered; the answer carries the signing secret, shown once", body = Webhook),
        (status = 400, description = "Error: `invalid_webhook`"),
    ),
)]
pub async fn create<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(request): Body<WebhookRequest>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    caller.require(Action::ManageWebhooks)?;
    let url = parse_url(&request.url)?;
    if request.topics.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidWebhook, "topics: name at least one topic"));
    }
    let mut topics = Vec::new();
    for t in &request.topics {
        let topic = Topic::parse(t).ok_or_else(|| {
            let known: Vec<&str> = Topic::ALL.iter().map(|t| t.as_str()).collect();
            ApiError::new(
                ErrorCode::InvalidWebhook,
                format!("topics: unknown topic `{t}` (known: {})", known.join(", ")),
            )
        })?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    let hook = state.write(move |engine| Ok(engine.create_webhook(&url, &topics)?)).await?;
    // Shown once, like an API key's secret: the receiver needs it to check signatures.
    Ok((StatusCode::CREATED, Json(Webhook::created(&hook))))
}

/// Live webhooks (never their secrets)
///
/// Roles: admin.
#[utoipa::path(
    get, path = "/v1/webhooks", tag = "Webhooks", operation_id = "getV1Webhooks",
    responses((status = 200, description = "Webhooks", body = WebhookList)),
)]
pub async fn list<S: Backend>(State(state): State<AppState<S>>, caller: Caller) -> Result<Json<WebhookList>, ApiError> {
    caller.require(Action::ManageWebhooks)?;
    let hooks = state.read(|engine| Ok(engine.webhooks()?)).await?;
    Ok(Json(WebhookList { webhooks: hooks.iter().map(Webhook::listed).collect() }))
}

fn webhook_id(id: &str) -> Result<i64, ApiError> {
    id.parse().map_err(|_| ApiError::new(ErrorCode::InvalidRequest, format!("`{id}` is not a webhook id")))
}

fn no_webhook() -> ApiError {
    ApiError::new(ErrorCode::WebhookNotFound, "no such webhook")
}

/// Delete a webhook; its pending deliveries are cancelled
///
/// Roles: admin.
#[utoipa::path(
    delete, path = "/v1/webhooks/{id}", tag = "Webhooks", operation_id = "deleteV1WebhooksId",
    params(("id" = i64, Path, description = "A webhook id", minimum = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `webhook_not_found`"),
    ),
)]
pub async fn delete<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(Action::ManageWebhooks)?;
    let id = webhook_id(&id)?;
    match state.write(move |engine| Ok(engine.delete_webhook(id)?)).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(no_webhook()),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// At most this many: 100 by default, 1000 at most (more is taken as 1000).
    #[param(format = Int64, maximum = 4294967295.0)]
    limit: Option<u32>,
}

/// A webhook's deliveries and their status, newest first
///
/// Roles: admin.
#[utoipa::path(
    get, path = "/v1/webhooks/{id}/deliveries", tag = "Webhooks", operation_id = "getV1WebhooksIdDeliveries",
    params(("id" = i64, Path, description = "A webhook id", minimum = 1), DeliveriesParams),
    responses(
        (status = 200, description = "Deliveries", body = DeliveryList),
        (status = 400, description = "Error: `invalid_request`"),
        (status = 404, description = "Error: `webhook_not_found`"),
    ),
)]
pub async fn deliveries<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<DeliveriesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<DeliveryList>, ApiError> {
    caller.require(Action::ManageWebhooks)?;
    let id = webhook_id(&id)?;
    let Query(p) = params.map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = p.limit.unwrap_or(100).min(1000) as usize;
    let (known, list) = state
        .read(move |engine| {
            let known = engine.webhooks()?.iter().any(|w| w.id == id);
            Ok((known, engine.deliveries(id, limit)?))
        })
        .await?;
    if !known && list.is_empty() {
        return Err(no_webhook());
    }
    Ok(Json(DeliveryList { deliveries: list.iter().map(leadflow_contract::Delivery::from).collect() }))
}

/// Makes ring the process's TLS crypto provider (reqwest is built without one of its own, to
/// keep the build free of cmake and C++). Call before building any `reqwest::Client`; calling
/// it again is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client deliveries go out with.
pub fn client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .user_agent(concat!("leadflow-webhooks/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client with these settings always builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_http_urls_with_a_host() {
        for good in [
            "https://hooks.yourco.example/leadflow",
            "http://127.0.0.1:9000/x",
            "http://a:65535/%7e?x=1&y='(*)'+,;=:@!$~",
            "http://0",
            "https://x-y.example?q",
        ] {
            assert!(parse_url(good).is_ok(), "{good}");
            // What is taken, the client that delivers sends to.
            assert!(reqwest::Url::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x.example/",
            "hooks.yourco.example",
            "https://",
            "http://exa mple.com/",
            "http://0*",
            "http://a:65536/",
            "http://a:/",
            "http://a/#top",
            "HTTP://a/",
            "http://user@a/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
