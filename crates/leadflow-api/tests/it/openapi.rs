//! The OpenAPI document says what the server does: every route is documented, every documented
//! operation answers, and the error codes are the ones the code returns.

use std::collections::BTreeSet;

use crate::support::Server;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(leadflow_api::OPENAPI).expect("the document is JSON")
}

fn documented() -> BTreeSet<(String, String)> {
    let spec = spec();
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

/// The routes as the router declares them, read from its source.
fn routed() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/lib.rs");
    let mut ops = BTreeSet::new();
    for chunk in source.split(".route(\"").skip(1) {
        let (path, rest) = chunk.split_once('"').unwrap();
        let handlers = &rest[..rest.find("))\n").unwrap_or(rest.len())];
        for (needle, method) in
            [("get(", "GET"), ("post(", "POST"), ("put(", "PUT"), ("delete(", "DELETE"), ("options(", "OPTIONS")]
        {
            if handlers.contains(needle) {
                ops.insert((method.to_string(), path.to_string()));
            }
        }
    }
    ops
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let (routed, documented) = (routed(), documented());
    assert!(routed.len() > 20, "{routed:?}");
    assert_eq!(routed, documented);
}

#[test]
fn the_error_codes_are_the_error_table() {
    let table: BTreeSet<String> = include_str!("../../src/error.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .map(|l| l.split('`').next().unwrap().to_string())
        .collect();
    let spec = spec();
    let documented: BTreeSet<String> =
        spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
    assert_eq!(table, documented);
    // Every code a response names is a known one.
    let text = leadflow_api::OPENAPI;
    for quoted in text.split("Error: ").skip(1) {
        let list = quoted.split('"').next().unwrap();
        for code in list.split(", ") {
            assert!(table.contains(code.trim_matches('`')), "{code} is not in the error table");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_answers_and_the_docs_page_is_served() {
    let s = Server::start().await;
    for (method, path) in documented() {
        let path = path.replace("{lead}", "nobody@acme.example").replace("{id}", "1").replace("{version}", "1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let resp = s
            .client
            .request(method.clone(), format!("{}{path}", s.base))
            .bearer_auth(s.key(leadflow_core::Role::Admin));
        let resp = resp.send().await.unwrap();
        let status = resp.status();
        let body: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
        let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
            || (status == StatusCode::NOT_FOUND && body["error"]["message"] == "no such endpoint");
        assert!(!unrouted, "{method} {path}: {status} {body}");
    }
    let (status, doc) = s.call(None, Method::GET, "/openapi.json", None).await;
    assert_eq!((status, doc["openapi"].as_str()), (StatusCode::OK, Some("3.1.0")));
    let page = s.client.get(format!("{}/docs", s.base)).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(html.contains("fetch(\"openapi.json\")"));
    assert!(!html.contains("https://"), "the page loads nothing from elsewhere, so it works offline");
}
