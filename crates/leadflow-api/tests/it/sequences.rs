//! Nurture sequences over HTTP: checked, stored (refused while they name stages no active
//! pipeline has), shown with their steps, paused and resumed, each refusal with its code.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TRIAL: &str = include_str!("../../../../examples/sequence-trial.toml");
const INBOUND: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");
const WELCOME: &str = include_str!("../../../../examples/template-trial-welcome.toml");

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
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("sequence_templates_missing")), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with("trial-welcome, tips-short, tips-long, case-study, still-there")
    );
    let (status, body) = s.admin(Method::POST, "/v1/templates", Some(json!({"source": WELCOME}))).await;
    assert_eq!(
        (status, body["name"].as_str(), body["active"].as_bool()),
        (StatusCode::OK, Some("trial-welcome"), Some(true))
    );
    for name in ["tips-short", "tips-long", "case-study", "still-there"] {
        let source = format!("name = \"{name}\"\nsubject = \"{name}\"\ntext = \"Hi\"\n");
        assert_eq!(s.admin(Method::POST, "/v1/templates", Some(json!({"source": source}))).await.0, StatusCode::OK);
    }
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

    // Enrolled by hand, once at a time, out with a reason, not back for 90 days.
    let lead = json!({"email": "kim@acme.example"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    let kim = json!({"lead": "kim@acme.example"});
    let path = "/v1/sequences/trial-nurture/enrollments";
    let (status, body) = s.call(Some(Role::Marketing), Method::POST, path, Some(kim.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["step"].as_str(), body["active"].as_bool()), (Some("welcome"), Some(true)), "{body}");
    let (status, body) = s.admin(Method::POST, path, Some(kim.clone())).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("already_enrolled")), "{body}");
    let (status, body) = s.call(Some(Role::Sales), Method::GET, &format!("{path}?active=true"), None).await;
    assert_eq!((status, body["enrollments"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{body}");
    let out = json!({"lead": "kim@acme.example", "reason": "asked us to stop"});
    let (status, body) = s.admin(Method::POST, &format!("{path}/exit"), Some(out.clone())).await;
    assert_eq!((status, body["exit_reason"].as_str()), (StatusCode::OK, Some("asked us to stop")), "{body}");
    let (status, body) = s.admin(Method::POST, &format!("{path}/exit"), Some(out)).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_enrolled")), "{body}");
    let (status, body) = s.admin(Method::POST, path, Some(kim)).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("not_reenrollable")), "{body}");
    let (status, body) = s.admin(Method::GET, "/v1/leads/kim@acme.example/enrollments", None).await;
    assert_eq!((status, body["enrollments"][0]["active"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    let blank = json!({"lead": "kim@acme.example", "reason": "  "});
    let (status, body) = s.admin(Method::POST, &format!("{path}/exit"), Some(blank)).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    let (status, body) =
        s.admin(Method::POST, "/v1/sequences/nothing/enrollments", Some(json!({"lead": "kim@acme.example"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("sequence_not_found")), "{body}");

    let (status, body) = s.admin(Method::POST, "/v1/templates/tips-long/retire", None).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("template_in_use")), "{body}");
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

#[tokio::test(flavor = "multi_thread")]
async fn templates_are_checked_stored_and_previewed_with_a_lead() {
    let s = Server::start().await;
    let (status, body) = s.admin(Method::POST, "/v1/templates/validate", Some(json!({"source": WELCOME}))).await;
    assert_eq!((status, body["valid"].as_bool(), body["html"].as_bool()), (StatusCode::OK, Some(true), Some(true)));
    assert_eq!(
        body["variables"],
        json!(["lead.first_name", "lead.company", "owner.signature", "unsubscribe_url", "owner.name"])
    );
    let broken = "name = \"t\"\nsubject = \"{{ lead.frist_name }}\"\ntext = \"x\"\n";
    let (_, body) = s.admin(Method::POST, "/v1/templates/validate", Some(json!({"source": broken}))).await;
    assert_eq!((body["valid"].as_bool(), body["problems"][0]["line"].as_u64()), (Some(false), Some(2)), "{body}");
    let (status, body) = s.admin(Method::POST, "/v1/templates", Some(json!({"source": broken}))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("template_invalid")), "{body}");
    assert_eq!(s.admin(Method::POST, "/v1/templates", Some(json!({"source": WELCOME}))).await.0, StatusCode::OK);
    let lead = json!({"email": "kim@acme.example", "first_name": "Kim", "company": "<Acme & Co>"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);

    let request = json!({"lead": "kim@acme.example", "name": "trial-welcome"});
    let (status, body) = s.admin(Method::POST, "/v1/templates/preview", Some(request)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"], "Welcome to your trial, Kim");
    assert!(body["text"].as_str().unwrap().contains("teams like <Acme & Co>"), "{body}");
    let draft = "name = \"d\"\nsubject = \"s\"\ntext = \"t\"\nhtml = \"<b>{{ lead.company }}</b>\"\n";
    let request = json!({"lead": "kim@acme.example", "source": draft});
    let (_, body) = s.admin(Method::POST, "/v1/templates/preview", Some(request)).await;
    assert_eq!(body["html"], "<b>&lt;Acme &amp; Co&gt;</b>", "{body}");
    for (request, status, error) in [
        (json!({"lead": "kim@acme.example"}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"lead": "kim@acme.example", "name": "none"}), StatusCode::NOT_FOUND, "template_not_found"),
        (json!({"lead": "who@acme.example", "name": "trial-welcome"}), StatusCode::NOT_FOUND, "lead_not_found"),
        (json!({"lead": "kim@acme.example", "source": broken}), StatusCode::UNPROCESSABLE_ENTITY, "template_invalid"),
    ] {
        let (got, body) = s.admin(Method::POST, "/v1/templates/preview", Some(request.clone())).await;
        assert_eq!((got, code(&body)), (status, Some(error)), "{request}: {body}");
    }
    let (status, body) = s.admin(Method::GET, "/v1/templates", None).await;
    assert_eq!((status, body["templates"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{body}");
    let (status, _) = s.admin(Method::POST, "/v1/templates/trial-welcome/retire", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::POST, "/v1/templates/trial-welcome/retire", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("template_not_found")));
    let (status, body) = s.admin(Method::POST, "/v1/templates/versions/1/activate", None).await;
    assert_eq!((status, body["active"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
}
