//! The OpenAPI document says what the server does: it is the reviewed snapshot, every route is
//! documented, every documented operation answers, and the error codes are the ones the code
//! returns. (schemathesis checks requests and answers against it: `scripts/schemathesis`.)

use std::collections::BTreeSet;

use crate::support::Server;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(leadflow_api::openapi_document()).expect("the document is JSON")
}

/// The document generated from the handlers is the one in the repository, so that every change
/// to the API shows in a diff and is reviewed. `LEADFLOW_BLESS=1` writes the new one.
#[test]
fn the_document_is_the_reviewed_snapshot() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = leadflow_api::openapi_document();
    if std::env::var_os("LEADFLOW_BLESS").is_some() {
        std::fs::write(&path, generated).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        snapshot == generated,
        "the API's document changed: review `LEADFLOW_BLESS=1 cargo test -p leadflow-api the_document` and its diff"
    );
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

/// One enum of error codes: the documentation's table is its table, the OpenAPI enum its codes,
/// and every response the document describes names codes of that response's status.
#[test]
fn the_error_codes_are_one_enum() {
    use leadflow_api::ErrorCode;
    let table: String = include_str!("../../src/error.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//! |"))
        .map(|l| format!("|{l}\n"))
        .collect();
    assert_eq!(table, ErrorCode::table(), "paste ErrorCode::table() into error.rs's documentation");
    let spec = spec();
    let documented: Vec<&str> = spec["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, codes);
    let by_name = |name: &str| ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name);
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().into_iter().flatten() {
                let Some(list) = response["description"].as_str().and_then(|d| d.strip_prefix("Error: ")) else {
                    continue;
                };
                for name in list.split(", ").map(|c| c.trim_matches('`')) {
                    let code = by_name(name).unwrap_or_else(|| panic!("{method} {path}: `{name}` is no error code"));
                    assert_eq!(code.status().as_str(), status, "{method} {path}: `{name}`");
                }
            }
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
