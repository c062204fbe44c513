//! Website tracking: anonymous page views that join the lead when a form names the visitor.

mod support;

use leadflow_api::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::Server;

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

    // Known now: later page views count for the lead at once.
    assert_eq!(hit(&s, &page("/pricing/enterprise"), None).await.0, StatusCode::NO_CONTENT);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(view["timeline"].as_array().unwrap().len(), 5);
    assert!(view["lead"]["score"]["total"].as_f64().unwrap() >= total_after_form);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_endpoint_takes_no_more_than_it_needs() {
    let mut config = ServerConfig::default();
    config.tracking.allowed_origins = vec!["https://www.yourco.example".into()];
    config.tracking.per_ip_per_second = 5;
    let s = Server::start_with(config).await;
    let bad = [
        (format!(r#"{{"visitor": "{VISITOR}", "type": "demo_requested", "url": "/"}}"#), "invalid_event"),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "email": "a@b.co"}}"#), "invalid_event"),
        (r#"{"visitor": "x", "type": "page_view", "url": "/"}"#.to_string(), "invalid_event"),
        (format!(r#"{{"visitor": "{VISITOR}", "type": "page_view", "url": "/", "lead_id": 1}}"#), "invalid_request"),
        ("{".to_string(), "invalid_request"),
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

    // Over the per-address limit (5/s, burst 10): refused with a time to come back.
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
