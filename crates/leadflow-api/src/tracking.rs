//! Website tracking: a snippet pages load from `/t/leadflow.js`, and the public endpoint it
//! posts page views and form submissions to.
//!
//! The endpoint needs no key (it is called from visitors' browsers), so it takes no more than it
//! must: a visitor id, a page path, and an email only with a form submission. It answers 204
//! with no body, so it cannot be used to read anything; it is limited per client address.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use leadflow_core::{Email, EventShape, EventType, VisitorId};
use leadflow_engine::{Visit, VisitOutcome};

use crate::{ApiError, AppState};

/// The most a tracking request may carry.
pub const MAX_TRACKING_BYTES: usize = 4 * 1024;

const SNIPPET: &str = include_str!("leadflow.js");

pub async fn snippet(State(state): State<AppState>) -> Response {
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
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "website tracking is turned off on this server")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Hit {
    visitor: String,
    #[serde(rename = "type")]
    kind: String,
    /// The page, as `location.pathname` (a full URL is cut to its path).
    url: String,
    /// With a form submission: who filled it in.
    email: Option<String>,
}

/// The origin the request came from, if the server lets it call.
fn allowed_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<HeaderValue>, ApiError> {
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

/// The CORS preflight of a page on another origin.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
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

/// Takes a page view or form submission. Any content type: `navigator.sendBeacon` sends
/// text/plain, which spares the browser a preflight.
pub async fn collect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = match allowed_origin(&state, &headers) {
        Ok(origin) => origin,
        Err(e) => return e.into_response(),
    };
    let result = record(&state, peer, body).await;
    with_cors(result.map_or_else(IntoResponse::into_response, |()| StatusCode::NO_CONTENT.into_response()), origin)
}

async fn record(state: &AppState, peer: SocketAddr, body: Bytes) -> Result<(), ApiError> {
    if !state.config.tracking.enabled {
        return Err(disabled());
    }
    if let Err(wait) = state.tracking_limiter.take(&peer.ip().to_string(), Instant::now()) {
        return Err(ApiError::rate_limited(wait));
    }
    if body.len() > MAX_TRACKING_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("a tracking request is at most {MAX_TRACKING_BYTES} bytes"),
        ));
    }
    let hit: Hit =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    let visit = parse(hit, state.now()).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let outcome = state.write(move |engine| Ok(engine.track_visit(visit)?)).await?;
    let counted = match outcome {
        VisitOutcome::Duplicate => "duplicate",
        VisitOutcome::Anonymous | VisitOutcome::Lead { .. } => "accepted",
    };
    state.metrics.count_events(counted, 1);
    Ok(())
}

fn parse(hit: Hit, now: leadflow_core::Timestamp) -> Result<Visit, String> {
    let visitor = VisitorId::parse(&hit.visitor).map_err(|e| format!("visitor: {e}"))?;
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
    let shape = EventShape::new(EventType::parse(kind).map_err(|e| e.to_string())?)
        .with_property("url", &path)
        .map_err(|e| e.to_string())?;
    Ok(Visit { visitor, email, ts: now, shape })
}

/// The path of a page (no origin, query or fragment: they add nothing to scoring and may carry
/// personal data), at most 512 characters.
fn page_path(url: &str) -> Option<String> {
    let without_origin = match url.find("://") {
        Some(i) => &url[i + 3..][url[i + 3..].find('/').unwrap_or(url.len() - i - 3)..],
        None => url,
    };
    let path = without_origin.split(['?', '#']).next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    (path.starts_with('/') && path.len() <= 512 && !path.chars().any(char::is_control)).then(|| path.to_string())
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
    }
}
