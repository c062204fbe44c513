//! The unsubscribe link of every nurture email, for people rather than programs: `GET /u/{token}`
//! shows a page that asks to confirm (a link scanner or a mail client prefetching it unsubscribes
//! nobody), and `POST /u/{token}` unsubscribes: the page's button, or a mail client's RFC 8058
//! one-click (`List-Unsubscribe=One-Click`, sent by the client without a person). No key: the
//! token is the proof, signed by `mail.link_secret`, naming one send. Limited per client address
//! as the tracking endpoint is.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leadflow_engine::EngineError;

use crate::client_addr::client_ip;
use crate::{AppState, Backend};

/// The unsubscribe page of a nurture email
///
/// Needs no key: the token in the link names one send, signed by `mail.link_secret`. Shows the
/// address and a button; following the link unsubscribes nobody (link scanners and mail clients
/// fetch links by themselves). Limited per client address.
#[utoipa::path(
    get, path = "/u/{token}", tag = "Sequences", operation_id = "getUToken", security(()),
    params(("token" = String, Path, description = "From the email's link")),
    responses(
        (status = 200, description = "A page asking to confirm", content_type = "text/html"),
        (status = 404, description = "A page saying the link is not valid", content_type = "text/html"),
        (status = 429, description = "Error: `rate_limited`"),
    ),
)]
pub async fn page<S: Backend>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if let Some(refused) = refused(&state, peer, &headers) {
        return refused;
    }
    let Some(links) = state.nurture.as_ref().map(|n| n.links.clone()) else { return not_valid() };
    let address = state.write(move |engine| Ok(engine.unsubscribe_address(&links, &token))).await;
    match address {
        Ok(Ok(address)) => html(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop emails to <strong>{}</strong>?</p>\
                 <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                escape(&address)
            ),
        ),
        Ok(Err(EngineError::BadLink)) => not_valid(),
        Ok(Err(e)) => crate::ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Unsubscribe from every nurture email
///
/// The page's button, or a mail client's one-click unsubscribe (RFC 8058: the email's
/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` header, posted without a person): the
/// address goes on the do-not-contact list (`unsubscribed`), every running enrollment of its lead
/// in a sequence that sends ends and what they planned is cancelled, and the lead gets an
/// `email_unsubscribed` event. Doing it again changes nothing. Needs no key; limited per client
/// address.
#[utoipa::path(
    post, path = "/u/{token}", tag = "Sequences", operation_id = "postUToken", security(()),
    params(("token" = String, Path, description = "From the email's link")),
    responses(
        (status = 200, description = "A page saying it is done", content_type = "text/html"),
        (status = 404, description = "A page saying the link is not valid", content_type = "text/html"),
        (status = 429, description = "Error: `rate_limited`"),
    ),
)]
pub async fn confirm<S: Backend>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if let Some(refused) = refused(&state, peer, &headers) {
        return refused;
    }
    let Some(links) = state.nurture.as_ref().map(|n| n.links.clone()) else { return not_valid() };
    let done = state.write(move |engine| Ok(engine.unsubscribe(&links, &token))).await;
    match done {
        Ok(Ok(u)) => html(
            StatusCode::OK,
            "Unsubscribed",
            &format!("<p><strong>{}</strong> will get no more of these emails.</p>", escape(&u.address)),
        ),
        Ok(Err(EngineError::BadLink)) => not_valid(),
        Ok(Err(e)) => crate::ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A client over its rate, as the tracking endpoint limits.
fn refused<S: Backend>(state: &AppState<S>, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    let client = client_ip(peer.ip(), headers, &state.trusted_proxies);
    let wait = state.tracking_limiter.take(&client.to_string(), Instant::now()).err()?;
    Some(crate::ApiError::rate_limited(wait).into_response())
}

fn not_valid() -> Response {
    html(StatusCode::NOT_FOUND, "Link not valid", "<p>This unsubscribe link is not valid.</p>")
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>{body}</main></body></html>"
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], page)
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
