//! Website tracking: a snippet pages load from `/t/leadflow.js`, and the public endpoint it
//! posts page views and form submissions to.
//!
//! The endpoint needs no key (it is called from visitors' browsers), so it takes no more than it
//! must: a visitor id, a page path, an email only with a form submission, and an identity token
//! a site may hand the snippet. It answers 204 with no body, so it cannot be used to read
//! anything; it is limited per client address, and what it may do to a lead is the engine's
//! policy (`Engine::track_visit`; the threat model is in ARCHITECTURE.md).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadflow_contract::{IdentityToken, IdentityTokenRequest, TrackingHit};

use leadflow_core::{Email, EventShape, EventType, VisitorId};
use leadflow_engine::{TrackingLimits, Visit, VisitOutcome};

use crate::client_addr::client_ip;
use crate::{ApiError, AppState, ErrorCode};
use leadflow_store::Backend;

/// The most a tracking request may carry.
pub const MAX_TRACKING_BYTES: usize = 4 * 1024;

const SNIPPET: &str = include_str!("leadflow.js");

/// The tracking snippet
///
/// Add `<script async src="https://LEADFLOW_HOST/t/leadflow.js"></script>` to your pages. It keeps
/// a visitor id in a first-party cookie, records page views, and names the visitor when a form
/// with an email field is submitted.
#[utoipa::path(
    get, path = "/t/leadflow.js", tag = "Website tracking", operation_id = "getTLeadflowJs", security(()),
    responses(
        (status = 200, description = "JavaScript", content_type = "application/javascript; charset=utf-8", body = String),
        (status = 404, description = "Error: `not_found`"),
    ),
)]
pub async fn snippet<S: Backend>(State(state): State<AppState<S>>) -> Response {
    if !state.config.tracking.enabled {
        return disabled().into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        SNIPPET,
    )
        .into_response()
}

fn disabled() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "website tracking is turned off on this server")
}

/// The origin the request came from, if the server lets it call.
fn allowed_origin<S: Backend>(state: &AppState<S>, headers: &HeaderMap) -> Result<Option<HeaderValue>, ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(None) };
    let allowed = &state.config.tracking.allowed_origins;
    let ok = allowed.is_empty() || origin.to_str().is_ok_and(|o| allowed.iter().any(|a| a == o));
    if ok {
        Ok(Some(origin.clone()))
    } else {
        Err(ApiError::forbidden("this site may not send tracking data here (tracking.allowed_origins)"))
    }
}

fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// CORS preflight
///
/// For a page on another origin: allowed when `tracking.allowed_origins` is empty or names it.
#[utoipa::path(
    options, path = "/t/collect", tag = "Website tracking", operation_id = "optionsTCollect", security(()),
    responses(
        (status = 204, description = "Allowed"),
        (status = 403, description = "Error: `forbidden`"),
    ),
)]
pub async fn preflight<S: Backend>(State(state): State<AppState<S>>, headers: HeaderMap) -> Response {
    match allowed_origin(&state, &headers) {
        Ok(origin) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
            with_cors(response, origin)
        }
        Err(e) => e.into_response(),
    }
}

/// Record a page view or form submission from a page
///
/// Needs no key; takes any content type (sendBeacon sends text/plain, which spares the browser a
/// preflight) up to 4 KiB. Anonymous page views are kept under the visitor id. A `form_submitted`
/// with an email that no lead has creates that lead and joins the visitor's views to it; a form
/// naming a lead that exists proves nothing (anyone can type an email) and is kept as the
/// visitor's claim, changing nothing about the lead, until an `identity` token proves the
/// visitor. At most `tracking.events_per_lead_per_day` events reach one lead per day. Limited per
/// client address (behind `server.trusted_proxies`, the forwarded one); only origins in
/// `tracking.allowed_origins` may call it when that list is set.
#[utoipa::path(
    post, path = "/t/collect", tag = "Website tracking", operation_id = "postTCollect", security(()),
    request_body(content = TrackingHit, content_type = "text/plain"),
    responses(
        (status = 204, description = "Recorded (nothing is ever returned)"),
        (status = 400, description = "Error: `invalid_request`, `invalid_event`, `invalid_identity`"),
        (status = 403, description = "Error: `forbidden`"),
        (status = 404, description = "Error: `not_found`"),
        (status = 413, description = "Error: `payload_too_large`"),
        (status = 429, description = "Error: `rate_limited`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub async fn collect<S: Backend>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match allowed_origin(&state, &headers) {
        Ok(origin) => origin,
        Err(e) => return e.into_response(),
    };
    let client = client_ip(peer.ip(), &headers, &state.trusted_proxies);
    let result = record(&state, client, body).await;
    with_cors(result.map_or_else(IntoResponse::into_response, |()| StatusCode::NO_CONTENT.into_response()), origin)
}

async fn record<S: Backend>(state: &AppState<S>, client: IpAddr, body: Bytes) -> Result<(), ApiError> {
    if !state.config.tracking.enabled {
        return Err(disabled());
    }
    if let Err(wait) = state.tracking_limiter.take(&client.to_string(), Instant::now()) {
        return Err(ApiError::rate_limited(wait));
    }
    if body.len() > MAX_TRACKING_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("a tracking request is at most {MAX_TRACKING_BYTES} bytes"),
        ));
    }
    let hit: TrackingHit =
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let now = state.now();
    let visitor =
        VisitorId::parse(&hit.visitor).map_err(|e| ApiError::new(ErrorCode::InvalidEvent, format!("visitor: {e}")))?;
    let identity = match (&hit.identity, &state.identity) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(ApiError::new(
                ErrorCode::InvalidIdentity,
                "this server issues no identity tokens (tracking.identity_secret)",
            ));
        }
        (Some(token), Some(secret)) => Some(
            secret
                .verify(token, &visitor, now)
                .map_err(|e| ApiError::new(ErrorCode::InvalidIdentity, e.to_string()))?
                .email,
        ),
    };
    let visit = parse(hit, visitor, identity, now).map_err(|m| ApiError::new(ErrorCode::InvalidEvent, m))?;
    let limits = TrackingLimits { events_per_lead_per_day: state.config.tracking.events_per_lead_per_day };
    let outcome = state.write(move |engine| Ok(engine.track_visit(visit, limits)?)).await?;
    let counted = match outcome {
        VisitOutcome::Duplicate => "duplicate",
        VisitOutcome::OverLimit => "over_daily_limit",
        VisitOutcome::Lead { dropped, .. } if dropped > 0 => "over_daily_limit",
        VisitOutcome::Anonymous | VisitOutcome::Unproven | VisitOutcome::Lead { .. } => "accepted",
    };
    state.metrics.count_events(counted, 1);
    Ok(())
}

/// An identity token proving who a visitor is
///
/// For a site that knows who its visitor is (a signed-in customer, a link in an email): hand the
/// token to the snippet (`leadflow.prove(token)`) and the visitor's page views, past and future,
/// count for that person's lead (created if they have none: the site vouches for them). Bind it
/// to the visitor id from the `leadflow_visitor` cookie so that it proves that visitor only.
/// Issuing reads nothing: the answer is the same whether or not the person is a lead. Needs
/// `tracking.identity_secret`.
///
/// Roles: admin, marketing, ingest.
#[utoipa::path(
    post, path = "/v1/tracking/identity-tokens", tag = "Website tracking", operation_id = "postV1TrackingIdentityTokens",
    request_body = IdentityTokenRequest,
    responses(
        (status = 200, description = "The token", body = IdentityToken),
        (status = 409, description = "Error: `identity_tokens_off`"),
    ),
)]
pub async fn identity_token<S: Backend>(
    State(state): State<AppState<S>>,
    caller: crate::Caller,
    crate::Body(request): crate::Body<IdentityTokenRequest>,
) -> Result<Json<IdentityToken>, ApiError> {
    caller.require(leadflow_core::Action::IdentifyVisitors)?;
    let Some(secret) = state.identity.clone() else {
        return Err(ApiError::new(
            ErrorCode::IdentityTokensOff,
            "set tracking.identity_secret to issue identity tokens",
        ));
    };
    let email =
        Email::parse(&request.email).map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("email: {e}")))?;
    let visitor = request
        .visitor
        .as_deref()
        .map(VisitorId::parse)
        .transpose()
        .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("visitor: {e}")))?;
    let ttl = request.ttl_secs.unwrap_or(86_400);
    if ttl == 0 || ttl > MAX_TOKEN_TTL_SECS {
        return Err(ApiError::new(ErrorCode::InvalidRequest, format!("ttl_secs: 1 to {MAX_TOKEN_TTL_SECS}")));
    }
    let expires = leadflow_core::Timestamp::from_millis(state.now().millis() + i64::from(ttl) * 1000);
    let token = secret.issue(&email, visitor.as_ref(), expires);
    Ok(Json(IdentityToken { token, expires_at: expires }))
}

/// The longest an identity token may live: 30 days.
const MAX_TOKEN_TTL_SECS: u32 = 30 * 86_400;

fn parse(
    hit: TrackingHit,
    visitor: VisitorId,
    identity: Option<Email>,
    now: leadflow_core::Timestamp,
) -> Result<Visit, String> {
    let kind = match hit.kind.as_str() {
        "page_view" => "page_view",
        "form_submitted" => "form_submitted",
        other => return Err(format!("type: `{other}` is not page_view or form_submitted")),
    };
    let email = match (&hit.email, kind) {
        (Some(e), "form_submitted") => Some(Email::parse(e).map_err(|e| format!("email: {e}"))?),
        (Some(_), _) => return Err("email: only a form submission names the visitor".into()),
        (None, _) => None,
    };
    let path = page_path(&hit.url).ok_or("url: give the page's path, like /pricing")?;
    let mut shape = EventShape::new(EventType::parse(kind).map_err(|e| e.to_string())?)
        .with_property("url", &path)
        .map_err(|e| e.to_string())?;
    for (name, value) in
        [("utm_source", &hit.utm_source), ("utm_medium", &hit.utm_medium), ("utm_campaign", &hit.utm_campaign)]
    {
        if let Some(value) = value {
            if value.is_empty() || value.chars().count() > MAX_CAMPAIGN_CHARS || value.chars().any(char::is_control) {
                return Err(format!("{name}: 1 to {MAX_CAMPAIGN_CHARS} characters, none of them control characters"));
            }
            shape = shape.with_property(name, value).map_err(|e| e.to_string())?;
        }
    }
    Ok(Visit { visitor, email, identity, ts: now, shape })
}

/// The longest campaign parameter kept: they are set aside per event (not in shapes, unless a
/// model reads them), and a public endpoint keeps what it stores small.
const MAX_CAMPAIGN_CHARS: usize = 100;

/// The path of a page (no origin, query or fragment: they add nothing to scoring and may carry
/// personal data), at most 512 characters, with segments that are ids (six or more digits, a
/// long hex string, a UUID) written `:id`: `/orders/8812345/items` is `/orders/:id/items`. Every
/// distinct path is an event shape, and a public endpoint must not let anyone make one per
/// request; `/blog/2026/11/...` keeps its year and month.
fn page_path(url: &str) -> Option<String> {
    let without_origin = match url.find("://") {
        Some(i) => &url[i + 3..][url[i + 3..].find('/').unwrap_or(url.len() - i - 3)..],
        None => url,
    };
    let path = without_origin.split(['?', '#']).next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    if !path.starts_with('/') || path.len() > 512 || path.chars().any(char::is_control) {
        return None;
    }
    Some(path.split('/').map(|segment| if is_id(segment) { ":id" } else { segment }).collect::<Vec<_>>().join("/"))
}

/// A path segment that names one record rather than a page.
fn is_id(segment: &str) -> bool {
    let digits = segment.len() >= 6 && segment.bytes().all(|b| b.is_ascii_digit());
    let hex = segment.len() >= 16
        && segment.bytes().all(|b| b.is_ascii_hexdigit())
        && segment.bytes().any(|b| b.is_ascii_digit());
    let uuid = segment.len() == 36
        && segment
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() });
    digits || hex || uuid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_kept_as_paths() {
        assert_eq!(page_path("/pricing").as_deref(), Some("/pricing"));
        assert_eq!(page_path("https://www.yourco.example/pricing?utm=x#top").as_deref(), Some("/pricing"));
        assert_eq!(page_path("https://www.yourco.example").as_deref(), Some("/"));
        assert_eq!(page_path("pricing"), None);
        assert_eq!(page_path(&format!("/{}", "a".repeat(600))), None);
        assert_eq!(page_path("/orders/8812345/items").as_deref(), Some("/orders/:id/items"));
        assert_eq!(page_path("/u/3f2a9c0e4b1d4e7f8a6b").as_deref(), Some("/u/:id"));
        assert_eq!(page_path("/d/123e4567-e89b-12d3-a456-426614174000/").as_deref(), Some("/d/:id/"));
        assert_eq!(page_path("/blog/2026/11/decision-tables").as_deref(), Some("/blog/2026/11/decision-tables"));
        assert_eq!(page_path("/pricing/enterprise").as_deref(), Some("/pricing/enterprise"));
        assert_eq!(page_path("/deadbeefdeadbeefcafe").as_deref(), Some("/deadbeefdeadbeefcafe"), "no digit: a word");
    }
}
