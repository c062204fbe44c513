//! The real server on 127.0.0.1:0 with a fresh database, driven over HTTP.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn event(id: &str, email: &str, kind: &str) -> Value {
    json!({"id": id, "email": email, "type": kind, "properties": {"url": "/pricing"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_keys() {
    let s = Server::start().await;
    assert_eq!(s.call(None, Method::GET, "/health", None).await, (StatusCode::OK, json!({"status": "ok"})));
    let (status, body) = s.call(None, Method::GET, "/ready", None).await;
    assert_eq!(
        (status, body["status"].as_str(), body["database"].as_str()),
        (StatusCode::OK, Some("ready"), Some("sqlite"))
    );

    let (status, body) = s.call(None, Method::GET, "/v1/leads", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("missing_api_key")));
    let resp = s.client.get(format!("{}/v1/leads", s.base)).bearer_auth("lf_0123").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "invalid_api_key");
    let (status, body) = s.call(None, Method::GET, "/nowhere", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

/// Every endpoint refuses the roles it must, with 403 `forbidden`, and lets the others through.
#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_refuses_the_roles_it_must() {
    use Role::*;
    let s = Server::start().await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "seed@acme.example"}))).await;
    let model = leadflow_core::model::DEFAULT_MODEL_SOURCE;
    let cases: Vec<(Method, &str, Option<Value>, Vec<Role>)> = vec![
        (
            Method::POST,
            "/v1/events",
            Some(event("r1", "seed@acme.example", "page_view")),
            vec![Admin, Marketing, Ingest],
        ),
        (Method::POST, "/v1/events/batch", Some(json!({"events": []})), vec![Admin, Marketing, Ingest]),
        (Method::GET, "/v1/leads", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/leads/seed@acme.example", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/leads/seed@acme.example/changes", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/leads/seed@acme.example/stages", None, vec![Admin, Marketing, Sales]),
        (Method::PUT, "/v1/leads", Some(json!({"email": "new@acme.example"})), vec![Admin, Marketing]),
        (Method::GET, "/v1/models", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/models/active", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/models/validate", Some(json!({"source": model})), vec![Admin, Marketing]),
        (Method::POST, "/v1/models", Some(json!({"source": model})), vec![Admin, Marketing]),
        (Method::POST, "/v1/models/1/activate", None, vec![Admin, Marketing]),
        (Method::GET, "/v1/pipelines", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/pipelines/inbound", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/pipelines/validate", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/pipelines", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/pipelines/versions/1/activate", None, vec![Admin, Marketing]),
        (Method::POST, "/v1/pipelines/inbound/deactivate", None, vec![Admin, Marketing]),
        (Method::GET, "/v1/sequences", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/sequences/trial-nurture", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/sequences/validate", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/sequences", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/sequences/versions/1/activate", None, vec![Admin, Marketing]),
        (Method::POST, "/v1/sequences/trial-nurture/pause", None, vec![Admin, Marketing]),
        (Method::GET, "/v1/sequences/trial-nurture/enrollments", None, vec![Admin, Marketing, Sales]),
        (
            Method::POST,
            "/v1/sequences/trial-nurture/enrollments",
            Some(json!({"lead": "seed@acme.example"})),
            vec![Admin, Marketing],
        ),
        (
            Method::POST,
            "/v1/sequences/trial-nurture/enrollments/exit",
            Some(json!({"lead": "seed@acme.example", "reason": "done"})),
            vec![Admin, Marketing],
        ),
        (Method::GET, "/v1/leads/seed@acme.example/enrollments", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/templates", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/templates/validate", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/templates", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/templates/versions/1/activate", None, vec![Admin, Marketing]),
        (Method::POST, "/v1/templates/trial-welcome/retire", None, vec![Admin, Marketing]),
        (
            Method::POST,
            "/v1/templates/preview",
            Some(json!({"lead": "seed@acme.example", "name": "trial-welcome"})),
            vec![Admin, Marketing],
        ),
        // Sales may move the leads it owns: for one it does not, the refusal is the lead's.
        (Method::POST, "/v1/leads/seed@acme.example/stage", Some(json!({})), vec![Admin, Marketing]),
        (Method::GET, "/v1/users", None, vec![Admin, Marketing, Sales]),
        (Method::PUT, "/v1/users/newbie", Some(json!({"zone": "UTC"})), vec![Admin]),
        (Method::GET, "/v1/assignment", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/assignment/validate", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/assignment", Some(json!({"source": ""})), vec![Admin, Marketing]),
        (Method::POST, "/v1/leads/seed@acme.example/owner", Some(json!({})), vec![Admin, Marketing]),
        (
            Method::POST,
            "/v1/leads/seed@acme.example/tasks",
            Some(json!({"title": "Call", "due_at": "2030-01-01"})),
            vec![Admin, Marketing],
        ),
        (Method::GET, "/v1/tasks", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/tasks/missing", None, vec![Admin, Marketing, Sales]),
        (Method::GET, "/v1/queue?owner=sales@yourco.example", None, vec![Admin, Marketing, Sales]),
        (Method::POST, "/v1/tasks/1", Some(json!({"action": "done"})), vec![Admin, Marketing]),
        (Method::DELETE, "/v1/leads/nobody@acme.example", None, vec![Admin]),
        (
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/hook", "topics": ["lead.mql"]})),
            vec![Admin],
        ),
        (Method::GET, "/v1/webhooks", None, vec![Admin]),
        (Method::GET, "/v1/webhooks/1/deliveries", None, vec![Admin]),
        (Method::DELETE, "/v1/webhooks/1", None, vec![Admin]),
    ];
    for (method, path, body, allowed) in cases {
        for role in Role::ALL {
            let (status, reply) = s.call(Some(role), method.clone(), path, body.clone()).await;
            if allowed.contains(&role) {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role} {method} {path}: {status} {reply}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}: {reply}");
                assert_eq!(reply["error"]["code"], "forbidden");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_scores_before_answering_and_rejects_bad_input_without_side_effects() {
    // A small body limit: an oversized body the client can finish sending before the server
    // refuses it (a multi-megabyte one can meet a closed connection instead of the answer).
    let s = Server::start_with(leadflow_api::ServerConfig { max_body_bytes: 64 * 1024, ..Default::default() }).await;
    let (status, body) = s
        .call(Some(Role::Marketing), Method::POST, "/v1/events", Some(event("e1", "Ana@Acme.example", "page_view")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["status"].as_str(), body["created_lead"].as_bool()), (Some("accepted"), Some(true)));
    let first_total = body["score"]["total"].as_f64().unwrap();
    let (_, again) = s
        .call(Some(Role::Marketing), Method::POST, "/v1/events", Some(event("e1", "ana@acme.example", "page_view")))
        .await;
    assert_eq!(again["status"], "duplicate");
    let (_, demo) = s
        .call(
            Some(Role::Marketing),
            Method::POST,
            "/v1/events",
            Some(event("e2", "ana@acme.example", "demo_requested")),
        )
        .await;
    assert!(demo["score"]["total"].as_f64().unwrap() > first_total);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(view["lead"]["score"]["total"], demo["score"]["total"], "the stored score is the one answered");
    assert_eq!(view["lead"]["score"]["stale"], false);

    let before = s.events_stored().await;
    let bad: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"id": "x1", "email": "ana@acme.example", "type": "Page View"}),
            StatusCode::BAD_REQUEST,
            "invalid_event",
        ),
        (json!({"id": "x2", "email": "not-an-email", "type": "page_view"}), StatusCode::BAD_REQUEST, "invalid_event"),
        (
            json!({"id": "x3", "email": "ana@acme.example", "type": "page_view", "ts": "yesterday"}),
            StatusCode::BAD_REQUEST,
            "invalid_event",
        ),
        (
            json!({"id": "x4", "email": "ana@acme.example", "type": "page_view", "color": "red"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (json!({"id": "x5", "email": "ana@acme.example", "type": 7}), StatusCode::BAD_REQUEST, "invalid_request"),
        (json!({"id": "x6", "lead_id": 999, "type": "page_view"}), StatusCode::FORBIDDEN, "forbidden"),
        (json!({"id": "x7", "type": "page_view"}), StatusCode::BAD_REQUEST, "invalid_event"),
    ];
    for (body, status, code) in bad {
        let (got, reply) = s.call(Some(Role::Ingest), Method::POST, "/v1/events", Some(body.clone())).await;
        assert_eq!((got, reply["error"]["code"].as_str()), (status, Some(code)), "{body} -> {reply}");
        assert!(!reply["error"]["message"].as_str().unwrap().is_empty());
    }
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = s.client.post(format!("{}/v1/events", s.base)).bearer_auth(s.key(Role::Ingest)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let resp = raw("{\"id\": \"x8\",", Some("application/json")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "invalid_json");
    let resp = raw("{}", None).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "unsupported_media_type");
    let huge = format!(
        "{{\"events\": [{}]}}",
        vec!["{\"id\":\"x\",\"email\":\"a@b.co\",\"type\":\"page_view\"}"; 2_000].join(",")
    );
    let resp = s
        .client
        .post(format!("{}/v1/events/batch", s.base))
        .bearer_auth(s.key(Role::Ingest))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
    assert_eq!(s.events_stored().await, before, "rejected requests change nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_say_what_became_of_each_event() {
    let s = Server::start().await;
    let batch = json!({"events": [
        event("b1", "ana@acme.example", "page_view"),
        event("b2", "ana@acme.example", "demo_requested"),
        event("b1", "ana@acme.example", "page_view"),
        {"id": "b3", "email": "ana@acme.example", "type": "bad type"},
        {"id": "b4", "lead_id": 12345, "type": "page_view"},
        event("b5", "ben@globex.example", "email_click"),
    ]});
    let (status, body) = s.call(Some(Role::Marketing), Method::POST, "/v1/events/batch", Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64(), body["rejected"].as_u64()),
        (Some(3), Some(1), Some(2))
    );
    let statuses: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "accepted", "duplicate", "rejected", "rejected", "accepted"]);
    assert_eq!(body["results"][3]["error"]["code"], "invalid_event");
    assert_eq!(body["results"][4]["error"]["code"], "lead_not_found");
    // Scores reflect the accepted events by the time the response returns.
    let (_, ana) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let rules: Vec<&str> =
        ana["explanation"]["engagement"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"demo_requested"), "{rules:?}");
    assert_eq!(ana["lead"]["score"]["stale"], false);
    // The explanation is as of the request, moments after the score was stored: decay differs by
    // a hair.
    let (stored, explained) =
        (ana["lead"]["score"]["total"].as_f64().unwrap(), ana["explanation"]["card"]["total"].as_f64().unwrap());
    assert!((stored - explained).abs() < 2e-3, "{stored} vs {explained}");

    let too_many =
        json!({"events": vec![event("z", "a@b.co", "page_view"); leadflow_api::ServerConfig::default().max_batch + 1]});
    let (status, body) = s.call(Some(Role::Ingest), Method::POST, "/v1/events/batch", Some(too_many)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("batch_too_large")));
}

#[tokio::test(flavor = "multi_thread")]
async fn leads_and_ownership() {
    let s = Server::start().await;
    let sales = "sales@yourco.example";
    let (status, created) = s
        .call(Some(Role::Marketing), Method::PUT, "/v1/leads", Some(json!({"email": "Ana@Acme.example", "job_title": "CTO", "employees": 2500, "owner": sales, "custom": {"plan": "pro"}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["lead"]["job_title"], "CTO");
    assert_eq!(created["lead"]["custom"]["plan"]["value"], "pro");
    let (status, _) = s
        .call(
            Some(Role::Marketing),
            Method::PUT,
            "/v1/leads",
            Some(json!({"email": "ana@acme.example", "country": "DE"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Some(Role::Marketing),
            Method::PUT,
            "/v1/leads",
            Some(json!({"email": "ana@acme.example", "jobtitle": "x"})),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_lead")));
    s.call(
        Some(Role::Marketing),
        Method::PUT,
        "/v1/leads",
        Some(json!({"email": "ben@globex.example", "owner": "someone-else"})),
    )
    .await;

    // Sales updates the leads it owns, and no others.
    let (status, _) = s
        .call(Some(Role::Sales), Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example", "stage": "sql"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(Some(Role::Sales), Method::PUT, "/v1/leads", Some(json!({"email": "ben@globex.example", "stage": "sql"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s
        .call(
            Some(Role::Sales),
            Method::PUT,
            "/v1/leads",
            Some(json!({"email": "ana@acme.example", "owner": "me-now"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "sales cannot give a lead away");

    let (_, list) = s.call(Some(Role::Sales), Method::GET, &format!("/v1/leads?owner={sales}&grade=A"), None).await;
    let emails: Vec<&str> = list["leads"].as_array().unwrap().iter().map(|l| l["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ana@acme.example"]);
    let (status, body) = s.admin(Method::GET, "/v1/leads?grade=Z", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = s.admin(Method::GET, "/v1/leads?colour=red", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    assert_eq!(s.admin(Method::DELETE, "/v1/leads/ana@acme.example", None).await.0, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("lead_not_found")));
    assert_eq!(s.admin(Method::DELETE, "/v1/leads/ana@acme.example", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn models_are_validated_activated_and_versioned() {
    let s = Server::start().await;
    let good = include_str!("../../../../examples/reference-b2b.toml");
    let bad = good.replacen("field = \"job_title\"", "field = \"jobtitle\"", 1);
    let (status, body) = s.admin(Method::POST, "/v1/models/validate", Some(json!({"source": bad}))).await;
    assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(false)));
    assert!(body["problems"][0]["message"].as_str().unwrap().contains("jobtitle"));
    assert!(body["problems"][0]["line"].as_u64().unwrap() > 1);
    let (status, body) = s.admin(Method::POST, "/v1/models", Some(json!({"source": bad}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("model_invalid")));
    assert_eq!(body["error"]["problems"].as_array().unwrap().len(), 1);

    let (status, body) = s.admin(Method::POST, "/v1/models", Some(json!({"source": good}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["version"].as_i64(), body["name"].as_str()), (Some(2), Some("reference-b2b")));
    let (_, active) = s.admin(Method::GET, "/v1/models/active", None).await;
    assert_eq!(active["version"], 2);
    assert_eq!(active["source"], good);
    let (_, models) = s.admin(Method::GET, "/v1/models", None).await;
    assert_eq!(models["models"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_stay_correct_while_scores_change_and_filters_narrow() {
    let s = Server::start().await;
    let titles = ["CTO", "VP Engineering", "Engineer", "Intern", "Student", "Director of IT", "Analyst"];
    for (i, title) in titles.iter().enumerate() {
        let lead = json!({"email": format!("p{i}@acme.example"), "job_title": title, "company": format!("Acme {i}")});
        assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    }
    let emails = |page: &Value| -> Vec<String> {
        page["leads"].as_array().unwrap().iter().map(|l| l["email"].as_str().unwrap().to_string()).collect()
    };
    let (_, first) = s.admin(Method::GET, "/v1/leads?limit=3", None).await;
    let mut seen = emails(&first);
    // The lowest-scored lead (on a later page) jumps to the top between page requests.
    let (_, all) = s.admin(Method::GET, "/v1/leads?limit=100", None).await;
    let mover = emails(&all).last().unwrap().clone();
    for (i, kind) in ["demo_requested", "webinar_attended", "content_download"].iter().enumerate() {
        let event = json!({"id": format!("m{i}"), "email": mover, "type": kind});
        assert_eq!(s.admin(Method::POST, "/v1/events", Some(event)).await.0, StatusCode::OK);
    }
    let mut cursor = first["next_cursor"].as_str().unwrap().to_string();
    loop {
        let (status, page) = s.admin(Method::GET, &format!("/v1/leads?limit=3&cursor={cursor}"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(emails(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let unchanged: Vec<String> = emails(&all).into_iter().filter(|e| *e != mover).collect();
    for email in &unchanged {
        assert_eq!(seen.iter().filter(|e| *e == email).count(), 1, "{email} once in {seen:?}");
    }

    let (_, found) = s.admin(Method::GET, "/v1/leads?q=ACME%203", None).await;
    assert_eq!(emails(&found), ["p3@acme.example"]);
    let (_, none) = s.admin(Method::GET, "/v1/leads?created_until=2000-01-01", None).await;
    assert!(emails(&none).is_empty());
    let (_, recent) = s.admin(Method::GET, "/v1/leads?updated_from=2000-01-01&sort=newest&limit=100", None).await;
    assert_eq!(emails(&recent).len(), titles.len());
    for bad in ["cursor=zz".to_string(), format!("sort=newest&cursor={cursor}"), "created_from=yesterday".into()] {
        let (status, body) = s.admin(Method::GET, &format!("/v1/leads?{bad}"), None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_key_has_its_own_rate_limit() {
    let config = leadflow_api::ServerConfig {
        rate_limit: leadflow_api::RateLimitConfig { per_second: 1, burst: 3 },
        ..Default::default()
    };
    let s = Server::start_with(config).await;
    for _ in 0..3 {
        assert_eq!(s.call(Some(Role::Sales), Method::GET, "/v1/models", None).await.0, StatusCode::OK);
    }
    let resp = s.client.get(format!("{}/v1/models", s.base)).bearer_auth(s.key(Role::Sales)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(s.call(Some(Role::Marketing), Method::GET, "/v1/models", None).await.0, StatusCode::OK, "other keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_over_the_time_limit_is_answered_503_timeout() {
    // No batch of 10,000 events is recorded within a millisecond.
    let s = Server::start_with(leadflow_api::ServerConfig { request_timeout_ms: 1, ..Default::default() }).await;
    let events: Vec<Value> =
        (0..10_000).map(|i| event(&format!("t{i}"), &format!("l{i}@acme.example"), "page_view")).collect();
    let (status, body) = s.admin(Method::POST, "/v1/events/batch", Some(json!({ "events": events }))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("timeout")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_are_recorded_through_the_api() {
    let s = Server::start().await;
    let lead = json!({"email": "won@acme.example", "outcome": "won", "outcome_at": "2026-03-01"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    let (status, body) =
        s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "x@acme.example", "outcome": "pending"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_lead")));
    let outcomes = s.state_outcomes().await;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].1.kind, leadflow_core::OutcomeKind::Won);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_model_version_is_activated_again() {
    let s = Server::start().await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example", "job_title": "CTO"}))).await;
    let good = include_str!("../../../../examples/reference-b2b.toml");
    assert_eq!(s.admin(Method::POST, "/v1/models", Some(json!({"source": good}))).await.0, StatusCode::OK);
    let (status, body) = s.admin(Method::POST, "/v1/models/1/activate", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["version"].as_i64(), body["rescored"].as_u64()), (Some(1), Some(1)));
    let (_, active) = s.admin(Method::GET, "/v1/models/active", None).await;
    assert_eq!(active["version"], 1);
    let (_, lead) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(lead["lead"]["score"]["model_version"], 1);
    let (status, body) = s.admin(Method::POST, "/v1/models/99/activate", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("model_not_found")));
}

/// An ingest key (a website, a tracking pipeline) sends events; it learns that they went in,
/// and nothing about any lead: no id, score, grade, nor whether the lead existed.
#[tokio::test(flavor = "multi_thread")]
async fn an_ingest_key_learns_nothing_about_leads() {
    let s = Server::start().await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "known@acme.example", "job_title": "CTO"}))).await;
    let ingest = |body: Value| s.call(Some(Role::Ingest), Method::POST, "/v1/events", Some(body));
    for email in ["known@acme.example", "unknown@acme.example"] {
        let (status, reply) = ingest(json!({"email": email, "type": "page_view"})).await;
        assert_eq!((status, reply), (StatusCode::OK, json!({"status": "accepted"})), "{email}");
    }
    let (status, reply) = ingest(json!({"lead_id": 1, "type": "zz_probe"})).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, reply) = ingest(json!({"lead_id": 99_999, "type": "zz_probe"})).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "same answer");
    let batch = json!({"events": [
        {"id": "i1", "email": "known@acme.example", "type": "email_click"},
        {"id": "i2", "lead_id": 1, "type": "email_click"},
        {"id": "i1", "email": "known@acme.example", "type": "email_click"},
    ]});
    let (_, reply) = s.call(Some(Role::Ingest), Method::POST, "/v1/events/batch", Some(batch)).await;
    assert_eq!(reply["results"][0], json!({"index": 0, "id": "i1", "status": "accepted"}));
    assert_eq!(reply["results"][1]["error"]["code"], "forbidden");
    assert_eq!(reply["results"][2], json!({"index": 2, "id": "i1", "status": "duplicate"}));
}

/// A client that retries an event it sent without an id or a time does not count it twice;
/// `timestamp` is taken for `ts`; one malformed item of a batch is rejected alone.
#[tokio::test(flavor = "multi_thread")]
async fn retries_count_once_and_a_bad_item_spoils_only_itself() {
    let s = Server::start().await;
    let send = |body: Value| s.call(Some(Role::Marketing), Method::POST, "/v1/events", Some(body));
    let untimed = json!({"email": "ana@acme.example", "type": "demo_requested"});
    assert_eq!(send(untimed.clone()).await.1["status"], "accepted");
    assert_eq!(send(untimed).await.1["status"], "duplicate", "a retry is the same event");
    let timed = json!({"email": "ana@acme.example", "type": "page_view", "timestamp": "2026-11-01T10:00:00Z"});
    assert_eq!(send(timed.clone()).await.1["status"], "accepted");
    assert_eq!(send(timed).await.1["status"], "duplicate");
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let times: Vec<&str> = view["timeline"].as_array().unwrap().iter().map(|e| e["ts"].as_str().unwrap()).collect();
    assert!(times.contains(&"2026-11-01T10:00:00Z"), "{times:?}");

    let batch = json!({"events": [
        {"id": "g1", "email": "ana@acme.example", "type": "email_click"},
        {"id": "g2", "email": "x@y.example", "type": 5},
        {"id": "g3", "email": "ana@acme.example", "type": "email_open", "colour": "red"},
        "not an object",
        {"id": "g5", "email": "ben@acme.example", "type": "email_click"},
    ]});
    let (status, reply) = s.call(Some(Role::Marketing), Method::POST, "/v1/events/batch", Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let statuses: Vec<&str> =
        reply["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "rejected", "rejected", "rejected", "accepted"]);
    let message = reply["results"][1]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("events[1]: ") && message.contains("invalid type"), "{message}");
    assert_eq!(reply["results"][1]["id"], "g2");
    assert!(reply["results"][2]["error"]["message"].as_str().unwrap().contains("colour"));
}

/// Another process holding the database's write lock (a CLI import or rescore) makes a write
/// wait `write_wait_ms`, then be answered 503 `busy` with Retry-After: never 500. Reads go on.
#[tokio::test(flavor = "multi_thread")]
async fn a_write_lock_held_elsewhere_is_busy_not_an_error() {
    let s = Server::start_with(leadflow_api::ServerConfig { write_wait_ms: 200, ..Default::default() }).await;
    // Another process's writer, in the middle of its unit of work.
    let mut other = leadflow_sqlite::SqliteStore::open(&s.dir.path().join("api.db")).unwrap();
    let held = leadflow_store::Store::begin(&mut other).unwrap();
    let resp = s
        .client
        .post(format!("{}/v1/events", s.base))
        .bearer_auth(s.key(Role::Marketing))
        .json(&event("w1", "ana@acme.example", "page_view"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "busy");
    let (status, _) = s.admin(Method::GET, "/v1/leads", None).await;
    assert_eq!(status, StatusCode::OK, "reads do not wait for the lock");
    drop(held);
    let (status, body) = s
        .call(Some(Role::Marketing), Method::POST, "/v1/events", Some(event("w1", "ana@acme.example", "page_view")))
        .await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("accepted")), "the retry goes in");
}

/// What the probe found the API doing silently, each a clear answer now.
#[tokio::test(flavor = "multi_thread")]
async fn leads_take_null_created_at_and_no_silent_guesses() {
    let s = Server::start().await;
    let put = |body: Value| s.admin(Method::PUT, "/v1/leads", Some(body));
    let (status, _) = put(json!({"email": "ana@acme.example", "job_title": "CTO", "country": "DE",
                                 "custom": {"zip": "02134", "seats": 12}}))
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, view) = put(json!({"email": "ana@acme.example", "country": null, "custom": {"seats": null},
                                    "created_at": "2025-03-01T00:00:00Z"}))
    .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let lead = &view["lead"];
    assert_eq!(lead["country"], Value::Null, "null clears a field");
    assert_eq!(lead["job_title"], "CTO", "a field left out keeps its value");
    assert_eq!(lead["custom"]["zip"], json!({"type": "text", "value": "02134"}), "text stays text");
    assert!(lead["custom"].get("seats").is_none(), "null clears a custom field");
    assert_eq!(lead["created_at"], "2025-03-01T00:00:00Z", "created_at applies on update");
    for (body, needle) in [
        (json!({"email": "ana@acme.example", "stage": null}), "stage"),
        (json!({"email": "ana@acme.example", "outcome": 1}), "outcome: expected"),
        (json!({"email": "ana@acme.example", "custom": "x"}), "custom: expected an object"),
        (json!({"email": "ana@acme.example", "employees": -5}), "below zero"),
        (json!({"email": "ana@acme.example", "company": 7}), "company: expected a string"),
    ] {
        let (status, reply) = put(body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(reply["error"]["message"].as_str().unwrap().contains(needle), "{body}: {reply}");
    }

    let (status, reply) = s.admin(Method::GET, "/v1/leads/0", None).await;
    assert_eq!((status, reply["error"]["message"].as_str()), (StatusCode::NOT_FOUND, Some("no lead 0")));

    // Filters say what is wrong with them; bucket names ignore case.
    let (status, listed) = s.admin(Method::GET, "/v1/leads?bucket=Cold", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["leads"].as_array().unwrap().len(), 1);
    for query in ["bucket=hott", "min_score=NaN", "max_score=inf", "min_score=-Infinity"] {
        let (status, reply) = s.admin(Method::GET, &format!("/v1/leads?{query}"), None).await;
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{query}"
        );
    }
    let (_, reply) = s.admin(Method::GET, "/v1/leads?bucket=hott", None).await;
    assert!(reply["error"]["message"].as_str().unwrap().contains("hot, warm, cold"), "{reply}");

    // An event naming its lead twice must name one lead.
    let (_, ana) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let id = ana["lead"]["id"].as_i64().unwrap();
    let send = |body: Value| s.call(Some(Role::Marketing), Method::POST, "/v1/events", Some(body));
    let (status, reply) = send(json!({"lead_id": id, "email": "victim@bigco.example", "type": "page_view"})).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("keys_disagree")));
    assert!(reply["error"]["message"].as_str().unwrap().contains("name different leads"));
    let (status, _) = send(json!({"lead_id": id, "email": "ANA@acme.example", "type": "page_view"})).await;
    assert_eq!(status, StatusCode::OK);
    // An event days ahead of the clock is a wrong date, not the future.
    let (status, reply) = send(json!({"email": "ana@acme.example", "type": "page_view", "ts": "2099-01-01"})).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_event")));
    assert!(reply["error"]["message"].as_str().unwrap().contains("more than a day ahead"), "{reply}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_error_is_json_and_metrics_stay_bounded() {
    let config = leadflow_api::ServerConfig { metrics_token: "scrape-me".into(), ..Default::default() };
    let s = Server::start_with(config).await;
    // 405 has the error body like every other error.
    for (method, path) in [(Method::GET, "/t/collect"), (Method::PATCH, "/v1/leads"), (Method::DELETE, "/health")] {
        let resp = s.client.request(method.clone(), format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
    // Made-up methods and paths do not make new series.
    for i in 0..200 {
        let method = Method::from_bytes(format!("M{i:04}XYZ").as_bytes()).unwrap();
        s.client.request(method, format!("{}/health/{i}", s.base)).send().await.unwrap();
    }
    let metrics = |token: Option<&str>| {
        let mut req = s.client.get(format!("{}/metrics", s.base));
        if let Some(t) = token {
            req = req.header("authorization", format!("bearer {t}"));
        }
        req.send()
    };
    assert_eq!(metrics(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(metrics(Some("wrong")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let text = metrics(Some("scrape-me")).await.unwrap().text().await.unwrap();
    assert!(!text.contains("M0001XYZ") && !text.contains("/health/1"), "unbounded labels");
    assert!(text.contains(r#"method="other""#), "{text}");
    // The scheme of a bearer key is case-insensitive (RFC 9110).
    let resp = s
        .client
        .get(format!("{}/v1/leads", s.base))
        .header("authorization", format!("bearer {}", s.key(Role::Admin)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// A CRM's lead without an email is a lead like any other: upserted, found, scored and named by
/// its external id, whose case matters; keys that name two leads are refused, not guessed at.
#[tokio::test(flavor = "multi_thread")]
async fn leads_are_named_by_an_external_id_or_an_email() {
    let s = Server::start().await;
    let put = |body: Value| s.admin(Method::PUT, "/v1/leads", Some(body));
    let (status, upper) = put(json!({"external_id": "00Q5gA", "job_title": "CTO"})).await;
    assert_eq!(status, StatusCode::CREATED, "{upper}");
    assert_eq!((&upper["lead"]["email"], &upper["lead"]["external_id"]), (&Value::Null, &json!("00Q5gA")));
    let (status, lower) = put(json!({"external_id": "00Q5ga"})).await;
    assert_eq!(status, StatusCode::CREATED, "ids that differ by case are two leads: {lower}");
    let (status, named) = put(json!({"external_id": "00Q5gA", "email": "ana@acme.example"})).await;
    assert_eq!((status, &named["lead"]["id"]), (StatusCode::OK, &upper["lead"]["id"]), "the email goes onto it");
    let (_, by_email) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(by_email["lead"]["external_id"], "00Q5gA");
    let (status, found) = s.admin(Method::GET, "/v1/leads/00Q5ga", None).await;
    assert_eq!((status, &found["lead"]["id"]), (StatusCode::OK, &lower["lead"]["id"]));
    let (status, _) = s.admin(Method::GET, "/v1/leads/external:00q5ga", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let refused = |body: Value, code: &'static str| {
        let s = &s;
        async move {
            let (status, reply) = s.admin(Method::PUT, "/v1/leads", Some(body.clone())).await;
            assert_eq!(
                (status, reply["error"]["code"].as_str()),
                (StatusCode::CONFLICT, Some(code)),
                "{body}: {reply}"
            );
            reply["error"]["message"].as_str().unwrap().to_string()
        }
    };
    let message = refused(json!({"external_id": "00Q5ga", "email": "ana@acme.example"}), "keys_disagree").await;
    assert!(message.contains("the two keys name two leads"), "{message}");
    let message = refused(json!({"email": "ana@acme.example", "external_id": "00Q5gB"}), "keys_disagree").await;
    assert!(message.contains("has external id 00Q5gA, not 00Q5gB"), "{message}");
    put(json!({"email": "ben@acme.example"})).await;
    refused(json!({"external_id": "00Q5ga", "email": "ben@acme.example"}), "keys_disagree").await;
    let (status, reply) = put(json!({"first_name": "Nobody"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    let (status, reply) = put(json!({"external_id": "00Q5ga", "external_id_extra": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");

    // Clearing one key leaves the other.
    let (status, cleared) = put(json!({"external_id": "00Q5gA", "email": null})).await;
    assert_eq!((status, &cleared["lead"]["email"]), (StatusCode::OK, &Value::Null), "{cleared}");
    let (status, moved) = put(json!({"external_id": "00Q5ga", "email": "cid@acme.example"})).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, cleared) = put(json!({"email": "cid@acme.example", "external_id": null})).await;
    assert_eq!((status, &cleared["lead"]["external_id"]), (StatusCode::OK, &Value::Null), "{cleared}");
    let (status, _) = put(json!({"external_id": "00Q5ga", "email": "cid@acme.example"})).await;
    assert_eq!(status, StatusCode::OK, "the id can be given back");

    // Events name a lead by its external id; several keys must agree; an ingest key uses one.
    let (status, reply) =
        s.admin(Method::POST, "/v1/events", Some(json!({"external_id": "00Q5gA", "type": "page_view"}))).await;
    assert_eq!((status, &reply["lead_id"]), (StatusCode::OK, &upper["lead"]["id"]), "{reply}");
    let (status, reply) =
        s.admin(Method::POST, "/v1/events", Some(json!({"external_id": "new-lead-9", "type": "page_view"}))).await;
    assert_eq!((status, &reply["created_lead"]), (StatusCode::OK, &json!(true)), "{reply}");
    let (status, reply) = s
        .admin(
            Method::POST,
            "/v1/events",
            Some(json!({"external_id": "00Q5gA", "email": "cid@acme.example", "type": "page_view"})),
        )
        .await;
    assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("keys_disagree")), "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap().contains("external_id 00Q5gA and email cid@acme.example"));
    let ingest = |body: Value| s.call(Some(Role::Ingest), Method::POST, "/v1/events", Some(body));
    let (status, reply) = ingest(json!({"external_id": "00Q5gA", "type": "email_open"})).await;
    assert_eq!((status, reply), (StatusCode::OK, json!({"status": "accepted"})));
    let (status, _) = ingest(json!({"external_id": "00Q5gA", "email": "x@acme.example", "type": "page_view"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The embedded database writes one transaction at a time: a second writer is refused at
/// start, with why, rather than left to wait on the first.
#[test]
fn an_embedded_database_takes_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let engine = leadflow_engine::Engine::new(
        leadflow_sqlite::SqliteStore::open(&dir.path().join("lf.db")).unwrap(),
        std::sync::Arc::new(leadflow_engine::SystemClock),
    );
    let config = leadflow_api::ServerConfig { writers: 2, ..leadflow_api::ServerConfig::default() };
    let err = leadflow_api::AppState::new(engine, config).err().unwrap().to_string();
    assert!(err.contains("server.writers = 2") && err.contains("sqlite"), "{err}");
}

/// A lead's change log over the API: what each request changed, as whose key, newest first; a
/// request that changes nothing logs nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_change_log_names_each_change_and_the_key_that_made_it() {
    let s = Server::start().await;
    let put = |body: Value| s.call(Some(Role::Marketing), Method::PUT, "/v1/leads", Some(body));
    assert_eq!(put(json!({"email": "ana@acme.example", "job_title": "Engineer"})).await.0, StatusCode::CREATED);
    assert_eq!(
        put(json!({"email": "ana@acme.example", "job_title": "CTO", "custom": {"zip": "02134"}})).await.0,
        StatusCode::OK
    );
    assert_eq!(put(json!({"email": "ana@acme.example", "job_title": "CTO"})).await.0, StatusCode::OK);
    let (status, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/changes", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let changes = body["changes"].as_array().unwrap();
    let seen: Vec<(&str, &Value, &Value, &str, &str)> = changes
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap(),
                &c["old"],
                &c["new"],
                c["cause"].as_str().unwrap(),
                c["actor"].as_str().unwrap(),
            )
        })
        .collect();
    let marketing = "marketing@yourco.example";
    assert_eq!(
        seen,
        [
            ("custom.zip", &Value::Null, &json!({"type": "text", "value": "02134"}), "api", marketing),
            (
                "job_title",
                &json!({"type": "text", "value": "Engineer"}),
                &json!({"type": "text", "value": "CTO"}),
                "api",
                marketing
            ),
        ]
    );
    let (status, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/changes?limit=1", None).await;
    assert_eq!((status, body["changes"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let (status, body) = s.admin(Method::GET, "/v1/leads/nobody@acme.example/changes", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("lead_not_found")));

    // A stage moved by hand starts the lead's next stretch.
    assert_eq!(put(json!({"email": "ana@acme.example", "stage": "sql"})).await.0, StatusCode::OK);
    let (status, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/stages", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stages: Vec<&str> = body["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["lead", "sql"]);
    assert!(body["days_in_stage"]["lead"].as_f64().unwrap() >= 0.0);
}
