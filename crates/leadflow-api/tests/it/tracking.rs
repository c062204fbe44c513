//! Website tracking: anonymous page views that join the lead when a form names the visitor.

use crate::support::Server;
use leadflow_api::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const VISITOR: &str = "0123456789abcdef0123456789abcdef";

async fn hit(s: &Server, body: &str, origin: Option<&str>) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut req =
        s.client.post(format!("{}/t/collect", s.base)).header("content-type", "text/plain").body(body.to_string());
    if let Some(origin) = origin {
        req = req.header("origin", origin);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() }, headers)
}

fn page(path: &str) -> String {
    format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "{path}"}}"#)
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_history_joins_the_lead_when_a_form_names_the_visitor() {
    let s = Server::start().await;
    let snippet = s.client.get(format!("{}/t/leadflow.js", s.base)).send().await.unwrap();
    assert_eq!(snippet.headers()["content-type"], "application/javascript; charset=utf-8");
    assert!(snippet.text().await.unwrap().contains("/t/collect"));

    for path in ["/pricing", "https://www.yourco.example/pricing?utm_source=ad", "/careers"] {
        let (status, body, _) = hit(&s, &page(path), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        assert!(body.is_null(), "the endpoint gives nothing back");
    }
    let (_, leads) = s.admin(Method::GET, "/v1/leads", None).await;
    assert_eq!(leads["leads"].as_array().unwrap().len(), 0, "an anonymous visitor is not a lead");

    let form = format!(
        r#"{{"visitor": "{VISITOR}", "type": "form_submitted", "url": "/contact", "email": "Ana@Acme.example"}}"#
    );
    assert_eq!(hit(&s, &form, None).await.0, StatusCode::NO_CONTENT);
    let (status, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(status, StatusCode::OK);
    let timeline: Vec<(&str, &str)> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["properties"]["url"].as_str().unwrap()))
        .collect();
    assert_eq!(timeline.len(), 4, "three page views and the form: {timeline:?}");
    assert!(timeline.contains(&("page_view", "/careers")) && timeline.contains(&("form_submitted", "/contact")));
    let rules: Vec<&str> =
        view["explanation"]["engagement"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"pricing_page"), "the anonymous pricing view counts now: {rules:?}");
    let total_after_form = view["lead"]["score"]["total"].as_f64().unwrap();

    // The campaign the visitor came from, sent beside the path, is kept on its page view.
    let landing = format!(
        r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/spring", "utm_source": "newsletter", "utm_campaign": "Spring sale 🌱"}}"#
    );
    assert_eq!(hit(&s, &landing, None).await.0, StatusCode::NO_CONTENT);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let spring = view["timeline"].as_array().unwrap().iter().find(|e| e["properties"]["url"] == "/spring").unwrap();
    assert_eq!(spring["properties"]["utm_campaign"], "Spring sale 🌱");
    assert_eq!(spring["properties"]["utm_source"], "newsletter");

    // Known now: later page views count for the lead at once.
    assert_eq!(hit(&s, &page("/pricing/enterprise"), None).await.0, StatusCode::NO_CONTENT);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(view["timeline"].as_array().unwrap().len(), 6);
    assert!(view["lead"]["score"]["total"].as_f64().unwrap() >= total_after_form);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoint_takes_no_more_than_it_needs() {
    let mut config = ServerConfig::default();
    config.tracking.allowed_origins = vec!["https://www.yourco.example".into()];
    config.tracking.per_ip_per_second = 8;
    let s = Server::start_with(config).await;
    let bad = [
        (format!(r#"{{"visitor": "{VISITOR}", "type": "demo_requested", "url": "/"}}"#), "invalid_event"),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "email": "a@b.co"}}"#), "invalid_event"),
        (r#"{"visitor": "x", "type": "page_view", "url": "/"}"#.to_string(), "invalid_event"),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "lead_id": 1}}"#), "invalid_request"),
        ("{".to_string(), "invalid_request"),
        (
            format!(
                r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "utm_campaign": "{}"}}"#,
                "a".repeat(101)
            ),
            "invalid_event",
        ),
        (
            format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "utm_source": "a\u0007b"}}"#),
            "invalid_event",
        ),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "utm_medium": ""}}"#), "invalid_event"),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "utm_term": "x"}}"#), "invalid_request"),
        (
            format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/{}"}}"#, "a".repeat(5000)),
            "payload_too_large",
        ),
    ];
    for (body, code) in &bad {
        let (status, reply, _) = hit(&s, body, Some("https://www.yourco.example")).await;
        assert!(status.is_client_error(), "{body}");
        assert_eq!(reply["error"]["code"], *code, "{body}: {reply}");
    }
    let (status, reply, _) = hit(&s, &page("/"), Some("https://evil.example")).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, _, headers) = hit(&s, &page("/"), Some("https://www.yourco.example")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["access-control-allow-origin"], "https://www.yourco.example");
    let preflight = s
        .client
        .request(Method::OPTIONS, format!("{}/t/collect", s.base))
        .header("origin", "https://www.yourco.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-methods"], "POST");

    // Over the per-address limit (8/s, burst 16): refused with a time to come back.
    let mut limited = None;
    for _ in 0..20 {
        let (status, reply, headers) = hit(&s, &page("/"), None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((reply, headers));
            break;
        }
    }
    let (reply, headers) = limited.expect("the limit applies");
    assert_eq!(reply["error"]["code"], "rate_limited");
    assert!(headers.contains_key("retry-after"));
    // Nothing of that reached a lead: anonymous views stay anonymous, and no lead was readable.
    let (_, leads) = s.admin(Method::GET, "/v1/leads", None).await;
    assert_eq!(leads["leads"].as_array().unwrap().len(), 0);
}

/// The probe's attack: six requests took a known VP to hot and MQL and fired `lead.mql`. Now
/// forms naming a known lead, and the page views of the visitors that sent them, change nothing
/// about it, from any number of visitors.
#[tokio::test(flavor = "multi_thread")]
async fn nobody_can_qualify_a_known_lead_through_the_public_endpoint() {
    // Many requests from one address: the per-address limit is not what this test is about.
    let mut config = ServerConfig::default();
    config.tracking.per_ip_per_second = 10_000;
    let s = Server::start_with(config).await;
    let (status, _) = s
        .admin(
            Method::PUT,
            "/v1/leads",
            Some(serde_json::json!({"email": "victim@bigco.example", "job_title": "VP Sales",
                                    "employees": 2000, "industry": "software"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            Some(serde_json::json!({"url": "http://127.0.0.1:9/hook", "topics": ["lead.mql", "lead.bucket_changed"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, before) = s.admin(Method::GET, "/v1/leads/victim@bigco.example", None).await;
    for i in 0..10 {
        let visitor = format!("attacker-visitor-{i:02}");
        for url in ["/contact", "/demo"] {
            let form = format!(
                r#"{{"visitor": "{visitor}", "type": "form_submitted", "url": "{url}", "email": "VICTIM@bigco.example"}}"#
            );
            assert_eq!(hit(&s, &form, None).await.0, StatusCode::NO_CONTENT);
        }
        for url in ["/pricing", "/pricing/enterprise", "/demo"] {
            let view = format!(r#"{{"visitor": "{visitor}", "type": "page_view", "url": "{url}"}}"#);
            assert_eq!(hit(&s, &view, None).await.0, StatusCode::NO_CONTENT);
        }
    }
    let (_, after) = s.admin(Method::GET, "/v1/leads/victim@bigco.example", None).await;
    assert_eq!(after["lead"]["score"], before["lead"]["score"], "score, bucket and grade as they were");
    assert_eq!(after["lead"]["mql_at"], Value::Null);
    assert_eq!(after["timeline"].as_array().unwrap().len(), 0);
    let round = s.state.deliver_due(&reqwest::Client::new()).await.unwrap();
    assert_eq!(round.delivered + round.retried + round.failed, 0, "no webhook fired");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_token_joins_a_visitor_to_a_known_lead() {
    let mut config = ServerConfig::default();
    config.tracking.identity_secret = "a secret of at least thirty-two chars".into();
    let s = Server::start_with(config).await;
    s.admin(Method::PUT, "/v1/leads", Some(serde_json::json!({"email": "ana@acme.example"}))).await;
    assert_eq!(hit(&s, &page("/pricing"), None).await.0, StatusCode::NO_CONTENT);
    let claim = format!(
        r#"{{"visitor": "{VISITOR}", "type": "form_submitted", "url": "/contact", "email": "ana@acme.example"}}"#
    );
    assert_eq!(hit(&s, &claim, None).await.0, StatusCode::NO_CONTENT);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(view["timeline"].as_array().unwrap().len(), 0, "a claim proves nothing");

    // Sales may not issue tokens; the site's ingest key may, bound to its visitor.
    let body = serde_json::json!({"email": "ana@acme.example", "visitor": VISITOR, "ttl_secs": 600});
    let (status, _) = s
        .call(Some(leadflow_core::Role::Sales), Method::POST, "/v1/tracking/identity-tokens", Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, token) =
        s.call(Some(leadflow_core::Role::Ingest), Method::POST, "/v1/tracking/identity-tokens", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = token["token"].as_str().unwrap();
    // The token with its last character changed (to another one, whatever it was).
    let other = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{other}", &token[..token.len() - 1]);
    let with =
        |t: &str| format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/welcome", "identity": "{t}"}}"#);
    let (status, reply, _) = hit(&s, &with(&forged), None).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_identity")));
    assert_eq!(hit(&s, &with(token), None).await.0, StatusCode::NO_CONTENT);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let urls: Vec<&str> =
        view["timeline"].as_array().unwrap().iter().map(|e| e["properties"]["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 3, "the view, the claim and the proof: {urls:?}");
    // Another visitor cannot use it (a forwarded link proves nobody else).
    let other = r#"{"visitor": "another-visitor-0001", "type": "page_view", "url": "/", "identity": "TOKEN"}"#
        .replace("TOKEN", token);
    let (status, reply, _) = hit(&s, &other, None).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_identity")));
    // Issuing says nothing of whether the person is a lead: the same answer either way.
    for email in ["ana@acme.example", "nobody@acme.example"] {
        let body = serde_json::json!({"email": email});
        let (status, reply) =
            s.call(Some(leadflow_core::Role::Ingest), Method::POST, "/v1/tracking/identity-tokens", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert!(reply["token"].as_str().unwrap().starts_with("lf1."));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_need_a_secret() {
    let s = Server::start().await;
    let (status, reply) =
        s.admin(Method::POST, "/v1/tracking/identity-tokens", Some(serde_json::json!({"email": "a@b.co"}))).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("identity_tokens_off")));
    let with = format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "identity": "lf1.1.2.ab"}}"#);
    assert_eq!(hit(&s, &with, None).await.1["error"]["code"], "invalid_identity");
    let mut config = ServerConfig::default();
    config.tracking.identity_secret = "short".into();
    let engine = leadflow_engine::Engine::new(
        leadflow_sqlite::SqliteStore::open(&s.dir.path().join("other.db")).unwrap(),
        std::sync::Arc::new(leadflow_engine::SystemClock),
    );
    let err = leadflow_api::AppState::new(engine, config).err().unwrap();
    assert!(err.to_string().contains("identity_secret"), "{err}");
}

/// Behind a trusted proxy each client gets its own limit; from anyone else a forwarded address
/// is the client's own word and is ignored.
#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_key_on_the_address_a_trusted_proxy_gives() {
    let send = |s: &Server, forwarded: String| {
        s.client
            .post(format!("{}/t/collect", s.base))
            .header("content-type", "text/plain")
            .header("x-forwarded-for", forwarded)
            .body(page("/"))
            .send()
    };
    let mut config = ServerConfig::default();
    config.tracking.per_ip_per_second = 1;
    let untrusted = Server::start_with(config.clone()).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(send(&untrusted, format!("198.51.100.{i}")).await.unwrap().status());
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "one bucket for every spoofed address: {statuses:?}");

    config.trusted_proxies = vec!["127.0.0.0/8".into()];
    let proxied = Server::start_with(config).await;
    for i in 0..6 {
        let status = send(&proxied, format!("6.6.6.6, 198.51.100.{i}")).await.unwrap().status();
        assert_eq!(status, StatusCode::NO_CONTENT, "a bucket per client behind the proxy");
    }
    let statuses: Vec<StatusCode> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(send(&proxied, "198.51.100.77".into()).await.unwrap().status());
        }
        v
    };
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "one client is still limited: {statuses:?}");
}
