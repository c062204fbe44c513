//! Nurture sequences over HTTP: checked, stored (refused while they name stages no active
//! pipeline has), shown with their steps, paused and resumed, each refusal with its code.

use crate::support::Server;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TRIAL: &str = include_str!("../../../../examples/sequence-trial.toml");
const INBOUND: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn sequences_are_checked_stored_shown_paused_and_resumed() {
    let s = Server::start().await;
    let (status, body) = s.admin(Method::POST, "/v1/sequences/validate", Some(json!({"source": TRIAL}))).await;
    assert_eq!(
        (status, body["valid"].as_bool(), body["name"].as_str()),
        (StatusCode::OK, Some(true), Some("trial-nurture"))
    );
    assert_eq!(body["templates"], json!(["trial-welcome", "tips-short", "tips-long", "case-study", "still-there"]));
    assert_eq!(body["steps"][2], json!({"id": "tips", "does": "send", "templates": ["tips-short", "tips-long"]}));
    let broken = TRIAL.replace("then = \"case-study\"", "then = \"case-studies\"");
    let (status, body) = s.admin(Method::POST, "/v1/sequences/validate", Some(json!({"source": broken}))).await;
    assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(false)));
    let problem = &body["problems"][0];
    assert_eq!(problem["path"], "steps[4].branch.then", "{body}");
    assert!(problem["message"].as_str().unwrap().starts_with("no step `case-studies`"), "{body}");

    let (status, body) = s.admin(Method::POST, "/v1/sequences", Some(json!({"source": broken}))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("sequence_invalid")), "{body}");
    assert!(body["error"]["problems"].as_array().is_some_and(|p| !p.is_empty()), "{body}");
    let (status, body) = s.admin(Method::POST, "/v1/sequences", Some(json!({"source": TRIAL}))).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("sequence_stages_unknown")), "{body}");
    let (status, body) =
        s.admin(Method::POST, "/v1/sequences", Some(json!({"source": TRIAL, "activate": false}))).await;
    assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(false)), "stored without a pipeline: {body}");

    assert_eq!(s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": INBOUND}))).await.0, StatusCode::OK);
    let (status, body) = s.admin(Method::POST, "/v1/sequences", Some(json!({"source": TRIAL}))).await;
    assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let version = body["version"].as_i64().unwrap();
    let (status, body) = s.admin(Method::GET, "/v1/sequences", None).await;
    assert_eq!((status, body["sequences"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "one version: {body}");
    let (status, body) = s.admin(Method::GET, "/v1/sequences/trial-nurture", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["priority"].as_u64(), body["enrolls_by_rule"].as_bool()), (Some(10), Some(true)));
    assert_eq!(body["steps"].as_array().map(Vec::len), Some(13));
    assert_eq!(body["source"], TRIAL);

    let (status, _) = s.admin(Method::POST, "/v1/sequences/trial-nurture/pause", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::POST, "/v1/sequences/trial-nurture/pause", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("sequence_not_found")));
    let (status, body) = s.admin(Method::GET, "/v1/sequences/trial-nurture", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("sequence_not_found")), "paused: {body}");
    let (status, body) = s.admin(Method::POST, &format!("/v1/sequences/versions/{version}/activate"), None).await;
    assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, body) = s.admin(Method::POST, "/v1/sequences/versions/99/activate", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("sequence_not_found")));
    let (status, body) = s.admin(Method::POST, "/v1/sequences/versions/x/activate", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}
