//! The links of every nurture email. No key: each token is the proof, signed by
//! `mail.link_secret`, naming one send; all are limited per client address as the tracking
//! endpoint is.
//!
//! - `GET /u/{token}` shows a page that asks to confirm the unsubscribe (a link scanner or a mail
//!   client prefetching it unsubscribes nobody), and `POST /u/{token}` unsubscribes: the page's
//!   button, or a mail client's RFC 8058 one-click (`List-Unsubscribe=One-Click`).
//! - `GET /o/{token}.gif`, the open pixel: always the same transparent GIF, whatever the token
//!   (a wrong one learns nothing), the open recorded when the token is good.
//! - `GET /c/{token}?u=TARGET`, a link: the click recorded and a redirect to TARGET, only when
//!   the token was signed for that very TARGET (no open redirect).

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
    let address = with_links(&state, peer, &headers, move |engine, links| engine.unsubscribe_address(links, &token));
    match address.await {
        Ok(address) => html(
            StatusCode::OK,
            "Unsubscribe",
            &format!(
                "<p>Stop emails to <strong>{}</strong>?</p>\
                 <form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>",
                escape(&address)
            ),
        ),
        Err(response) => response,
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
    match with_links(&state, peer, &headers, move |engine, links| engine.unsubscribe(links, &token)).await {
        Ok(u) => html(
            StatusCode::OK,
            "Unsubscribed",
            &format!("<p><strong>{}</strong> will get no more of these emails.</p>", escape(&u.address)),
        ),
        Err(response) => response,
    }
}

/// The open pixel of a nurture email
///
/// Always answers the same 1×1 transparent GIF, uncached; records an open of the send the token
/// names when this server signed it (`email_open`, or `email_machine_open` for a privacy proxy or
/// a scanner fetching it: within a minute of sending, no user agent or a program's).
#[utoipa::path(
    get, path = "/o/{token}", tag = "Sequences", operation_id = "getOToken", security(()),
    params(("token" = String, Path, description = "From the email's image: `ID.SIGNATURE.gif`")),
    responses(
        (status = 200, description = "The pixel", content_type = "image/gif"),
        (status = 429, description = "Error: `rate_limited`"),
    ),
)]
pub async fn open<S: Backend>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    if let Some(refused) = refused(&state, peer, &headers) {
        return refused;
    }
    if let (Some(links), Some(token)) = (state.nurture.as_ref().map(|n| n.links.clone()), token.strip_suffix(".gif")) {
        let (token, agent) = (token.to_string(), user_agent(&headers));
        let recorded = state.write(move |engine| Ok(engine.record_open(&links, &token, agent.as_deref()))).await;
        // The pixel is served all the same: a reader's mail client is not the place for errors.
        match recorded {
            Ok(Ok(()) | Err(EngineError::BadLink)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "recording an open"),
            Err(e) => tracing::warn!(error = %e.message, "recording an open"),
        }
    }
    let headers = [(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store, max-age=0")];
    (StatusCode::OK, headers, PIXEL).into_response()
}

/// A link in a nurture email
///
/// Records the click (`email_click`, or `email_scanner_click` for a link scanner: within 30 s of
/// sending, no user agent or a program's) and redirects to `u`, when the token was signed for
/// that very address; otherwise a page saying the link is not valid (it leads nowhere else).
#[utoipa::path(
    get, path = "/c/{token}", tag = "Sequences", operation_id = "getCToken", security(()),
    params(
        ("token" = String, Path, description = "From the email's link"),
        ("u" = Option<String>, Query, description = "Where the link leads (without it, it leads nowhere)"),
    ),
    responses(
        (status = 302, description = "On to the link's address"),
        (status = 404, description = "A page saying the link is not valid", content_type = "text/html"),
        (status = 429, description = "Error: `rate_limited`"),
    ),
)]
pub async fn click<S: Backend>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
    axum::extract::Query(query): axum::extract::Query<ClickQuery>,
) -> Response {
    let Some(target) = query.u else { return not_valid() };
    let (location, agent) = (target.clone(), user_agent(&headers));
    let recorded = with_links(&state, peer, &headers, move |engine, links| {
        engine.record_click(links, &token, &target, agent.as_deref())
    });
    match recorded.await {
        Ok(()) => (StatusCode::FOUND, [(header::LOCATION, location), (header::CACHE_CONTROL, "no-store".into())])
            .into_response(),
        Err(response) => response,
    }
}

#[derive(serde::Deserialize)]
pub struct ClickQuery {
    u: Option<String>,
}

/// A 1×1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Runs `f` on a writer with the links of this server's emails, for a public link: refused
/// over the client's rate, "not valid" without mail configured or for a link the secret did not
/// sign, an error of ours as the API's.
async fn with_links<S: Backend, T: Send + 'static>(
    state: &AppState<S>,
    peer: SocketAddr,
    headers: &HeaderMap,
    f: impl FnOnce(&mut leadflow_engine::Engine<S>, &leadflow_engine::MailLinks) -> Result<T, EngineError> + Send + 'static,
) -> Result<T, Response> {
    if let Some(refused) = refused(state, peer, headers) {
        return Err(refused);
    }
    let Some(links) = state.nurture.as_ref().map(|n| n.links.clone()) else { return Err(not_valid()) };
    match state.write(move |engine| Ok(f(engine, &links))).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(EngineError::BadLink)) => Err(not_valid()),
        Ok(Err(e)) => Err(crate::ApiError::from(e).into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// A client over its rate, as the tracking endpoint limits.
fn refused<S: Backend>(state: &AppState<S>, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    let client = client_ip(peer.ip(), headers, &state.trusted_proxies);
    let wait = state.tracking_limiter.take(&client.to_string(), Instant::now()).err()?;
    Some(crate::ApiError::rate_limited(wait).into_response())
}

fn not_valid() -> Response {
    html(StatusCode::NOT_FOUND, "Link not valid", "<p>This link is not valid.</p>")
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

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboundParams {
    /// The envelope recipient it was delivered to (for a bounce: the `bounces+ID@` address).
    to: Option<String>,
}

/// An email that came back
///
/// For the MTA (or a mailbox reader) that receives replies and bounces: the message as it
/// arrived (RFC 5322, up to the body limit), with the envelope recipient in `to` when there is
/// one. A person's reply to one of our emails (matched by its `In-Reply-To`/`References`) is an
/// `email_reply` on the lead and ends its enrollments in sequences that exit on a reply; an
/// automatic reply is an `email_auto_reply` and ends nothing; a hard bounce (by its DSN, matched
/// by the VERP address or the quoted Message-ID) puts the address on the do-not-contact list; a
/// soft one is recorded only; a spam complaint (ARF) lists the address too. Each once per send.
///
/// Roles: admin, marketing, ingest.
#[utoipa::path(
    post, path = "/v1/inbound/email", tag = "Sequences", operation_id = "postV1InboundEmail",
    params(InboundParams),
    request_body(content = String, content_type = "text/plain", description = "The email as it arrived (any content type: `message/rfc822` too)"),
    responses(
        (status = 200, description = "What it was, and what it did", body = leadflow_contract::InboundReceived),
        (status = 409, description = "Error: `mail_off`"),
        (status = 413, description = "Error: `payload_too_large`"),
    ),
)]
pub(crate) async fn inbound<S: Backend>(
    State(state): State<AppState<S>>,
    caller: crate::Caller,
    axum::extract::Query(params): axum::extract::Query<InboundParams>,
    body: axum::body::Bytes,
) -> Result<axum::Json<leadflow_contract::InboundReceived>, crate::ApiError> {
    caller.require(leadflow_core::Action::IngestEvents)?;
    let links = state.nurture.as_ref().map(|n| n.links.clone()).ok_or_else(|| {
        crate::ApiError::new(crate::ErrorCode::MailOff, "this server sends no email: set mail.smtp_host")
    })?;
    let received = state.write(move |engine| Ok(engine.receive_email(&links, &body, params.to.as_deref())?)).await?;
    Ok(axum::Json((&received).into()))
}
