//! Pipelines and stage moves over HTTP: storing and checking pipeline files, and moving leads,
//! with each refusal's code and rule.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const INBOUND: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelines_are_checked_stored_and_shown_with_their_leads() {
    let s = Server::start().await;
    let (status, body) = s.admin(Method::POST, "/v1/pipelines/validate", Some(json!({"source": INBOUND}))).await;
    assert_eq!(
        (status, body["valid"].as_bool(), body["name"].as_str()),
        (StatusCode::OK, Some(true), Some("inbound-b2b"))
    );
    let broken = INBOUND.replace("to = [\"new\"]", "to = [\"nowhere\"]");
    let (status, body) = s.admin(Method::POST, "/v1/pipelines/validate", Some(json!({"source": broken}))).await;
    assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(false)));
    let problem = &body["problems"][0];
    assert!(problem["line"].as_u64().unwrap() > 1 && problem["path"].as_str().unwrap().contains("to"), "{body}");

    let (status, body) = s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": broken}))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("pipeline_invalid")));
    assert!(body["error"]["problems"].as_array().is_some_and(|p| !p.is_empty()), "{body}");
    let (status, body) = s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": INBOUND}))).await;
    assert_eq!(
        (status, body["active"].as_bool(), body["name"].as_str()),
        (StatusCode::OK, Some(true), Some("inbound-b2b"))
    );
    let version = body["version"].as_i64().unwrap();

    let (status, body) = s.admin(Method::GET, "/v1/pipelines", None).await;
    assert_eq!((status, body["pipelines"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let (status, body) = s.admin(Method::GET, "/v1/pipelines/inbound-b2b", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stages: Vec<&str> = body["stages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(stages, ["new", "working", "meeting", "won", "lost", "disqualified", "recycled"]);
    assert_eq!(body["stages"][4]["reasons"][0], "no budget");
    assert_eq!(body["source"], INBOUND);

    let (status, body) = s.admin(Method::GET, "/v1/pipelines/partner", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("pipeline_not_found")));
    let (status, _) = s.admin(Method::POST, "/v1/pipelines/inbound-b2b/deactivate", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::POST, "/v1/pipelines/inbound-b2b/deactivate", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("pipeline_not_found")));
    let path = format!("/v1/pipelines/versions/{version}/activate");
    let (status, body) = s.admin(Method::POST, &path, None).await;
    assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, body) = s.admin(Method::POST, "/v1/pipelines/versions/99/activate", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("pipeline_not_found")));
    let (status, body) = s.admin(Method::POST, "/v1/pipelines/versions/x/activate", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lead_moves_within_the_rules_and_a_refusal_names_the_rule() {
    let s = Server::start().await;
    s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": INBOUND}))).await;
    let lead = json!({"email": "ana@acme.example", "employees": 500, "owner": "bo"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    let s = &s;
    let move_to = |body: Value| async move {
        s.call(Some(Role::Marketing), Method::POST, "/v1/leads/ana@acme.example/stage", Some(body)).await
    };

    let (status, body) = move_to(json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["pipeline"].as_str(), body["from"].as_str(), body["to"].as_str()),
        (Some("inbound-b2b"), None, Some("new"))
    );
    assert_eq!(body["lead"]["pipeline"]["stage"], "new");
    assert_eq!(body["lead"]["stage"], "mql", "the stage's lifecycle");

    for (request, rule) in [
        (json!({"stage": "won"}), "move_not_allowed"),
        (json!({"stage": "nowhere"}), "unknown_stage"),
        (json!({"stage": "new"}), "same_stage"),
        (json!({"stage": "meeting"}), "missing_fields"),
        (json!({"stage": "disqualified"}), "reason_required"),
        (json!({"stage": "disqualified", "reason": "meh"}), "unknown_reason"),
    ] {
        let (status, body) = move_to(request.clone()).await;
        assert_eq!(
            (status, code(&body), body["error"]["rule"].as_str()),
            (StatusCode::CONFLICT, Some("move_refused"), Some(rule)),
            "{request}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let (status, body) = move_to(json!({"stage": "disqualified", "reason": "Student"})).await;
    assert_eq!((status, body["reason"].as_str()), (StatusCode::OK, Some("student")), "{body}");
    let (status, body) = move_to(json!({"pipeline": "partner"})).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("pipeline_not_found")));
    let (status, body) = move_to(json!({"stage": "won", "color": "red"})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) =
        s.admin(Method::POST, "/v1/leads/nobody@acme.example/stage", Some(json!({"stage": "new"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_not_found")));

    let (_, log) = s.admin(Method::GET, "/v1/leads/ana@acme.example/changes", None).await;
    let last = &log["changes"][0];
    assert!(
        log["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "pipeline_stage" && c["new"]["value"] == "disqualified" && c["reason"] == "student"),
        "{log}"
    );
    assert_eq!(last["cause"], "api");

    // The pipeline fields are not written by an upsert.
    let (status, body) =
        s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example", "pipeline_stage": "won"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_lead")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lead_no_pipeline_takes_is_refused_with_no_pipeline() {
    let s = Server::start().await;
    s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": INBOUND}))).await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "tiny@shop.example", "employees": 3}))).await;
    let (status, body) = s.admin(Method::POST, "/v1/leads/tiny@shop.example/stage", Some(json!({}))).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("no_pipeline")), "{body}");
}
