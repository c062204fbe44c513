//! Webhooks against a real receiver: signed deliveries, retries with backoff, an outbox that
//! survives a restart, and statuses visible through the API.

use std::sync::{Arc, Mutex};

use crate::support::Server;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use leadflow_api::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What a receiver got: (headers, body).
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A real HTTP receiver that fails its first `failures` requests with 503.
async fn receiver(failures: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((headers, body.to_vec()));
                if seen.len() <= failures { AxumStatus::SERVICE_UNAVAILABLE } else { AxumStatus::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), received)
}

fn config() -> ServerConfig {
    let mut config = ServerConfig::default();
    // Retries are due at once, so that the test drives them without waiting.
    config.webhooks.initial_backoff_secs = 0;
    config.webhooks.max_attempts = 3;
    // One at a time, so that which request the receiver fails is known.
    config.webhooks.concurrency = 1;
    config
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_are_signed_retried_kept_across_restarts_and_visible() {
    let s = Server::start_with(config()).await;
    let (url, received) = receiver(1).await;
    let (status, hook) =
        s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": ["lead.created", "lead.mql"]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    let id = hook["id"].as_i64().unwrap();
    let (_, listed) = s.admin(Method::GET, "/v1/webhooks", None).await;
    assert_eq!(listed["webhooks"][0]["topics"], json!(["lead.created", "lead.mql"]));
    assert!(listed["webhooks"][0].get("secret").is_none(), "the secret is shown only once");

    for (body, code) in [
        (json!({"url": "ftp://x.example/", "topics": ["lead.mql"]}), "invalid_webhook"),
        (json!({"url": "file:///etc/passwd", "topics": ["lead.mql"]}), "invalid_webhook"),
        (json!({"url": format!("https://x.example/{}", "a".repeat(3000)), "topics": ["lead.mql"]}), "invalid_webhook"),
        (json!({"url": url, "topics": ["lead.deleted"]}), "invalid_webhook"),
        (json!({"url": url, "topics": []}), "invalid_webhook"),
        (json!({"url": url, "topics": ["lead.mql"], "extra": 1}), "invalid_request"),
    ] {
        let (status, reply) = s.admin(Method::POST, "/v1/webhooks", Some(body)).await;
        assert_eq!((status, reply["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(!message.contains("not a URL"), "says what is wrong with it: {message}");
    }

    // A new lead with a strong profile and a demo request: created, and (per the model) an MQL.
    let lead = json!({"email": "cto@bigco.example", "external_id": "00Q5gCTO", "job_title": "CTO", "employees": 5000,
                      "industry": "Software", "country": "US"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    for (i, kind) in ["demo_requested", "webinar_attended", "content_download", "email_click"].iter().enumerate() {
        let event = json!({"id": format!("w{i}"), "email": "cto@bigco.example", "type": kind});
        assert_eq!(s.admin(Method::POST, "/v1/events", Some(event)).await.0, StatusCode::OK);
    }
    let (_, view) = s.admin(Method::GET, "/v1/leads/cto@bigco.example", None).await;
    assert!(view["lead"]["mql_at"].is_string(), "the example model qualifies this lead: {view}");
    assert!(received.lock().unwrap().is_empty(), "nothing is sent until the worker runs");

    // First round: the receiver fails the first request; the lead's MQL waits behind it, so
    // that a receiver hears of one lead in the order things happened.
    let client = reqwest::Client::new();
    let round = s.state.deliver_due(&client).await.unwrap();
    assert_eq!((round.delivered, round.retried, round.failed), (0, 1, 0));
    let (_, deliveries) = s.admin(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None).await;
    let statuses: Vec<(&str, &str, u64)> = deliveries["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["topic"].as_str().unwrap(), d["status"].as_str().unwrap(), d["attempts"].as_u64().unwrap()))
        .collect();
    assert_eq!(statuses, [("lead.mql", "pending", 0), ("lead.created", "pending", 1)]);
    assert_eq!(deliveries["deliveries"][1]["last_status"], 503);

    // A restart loses nothing: the pending deliveries go out from the new process, in order.
    let s = s.restart(config()).await;
    for _ in 0..2 {
        let round = s.state.deliver_due(&client).await.unwrap();
        assert_eq!((round.delivered, round.retried, round.failed), (1, 0, 0));
    }
    assert_eq!(s.state.deliver_due(&client).await.unwrap(), leadflow_api::DeliveryRound::default());

    // Each delivery is a job of the queue, which an operator sees beside the others.
    let (_, queue) = s.admin(Method::GET, "/v1/jobs?kind=webhook-delivery", None).await;
    let counts: Vec<(&str, &str, u64)> = queue["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "webhook-delivery")
        .map(|c| (c["status"].as_str().unwrap(), c["kind"].as_str().unwrap(), c["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("done", "webhook-delivery", 2)], "{queue}");
    let attempts: Vec<u64> =
        queue["jobs"].as_array().unwrap().iter().map(|j| j["attempts"].as_u64().unwrap()).collect();
    assert_eq!(attempts, [1, 2], "newest first: the MQL went at once, the creation at its second attempt");

    let received = received.lock().unwrap();
    assert_eq!(received.len(), 3);
    let mut topics = Vec::new();
    for (headers, body) in received.iter() {
        let signature = headers[leadflow_api::SIGNATURE_HEADER].to_str().unwrap();
        assert_eq!(signature, leadflow_api::signature(&secret, body), "signed with the webhook's secret");
        assert_ne!(signature, leadflow_api::signature("another secret", body));
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            (&payload["lead"]["email"], &payload["lead"]["external_id"]),
            (&json!("cto@bigco.example"), &json!("00Q5gCTO"))
        );
        assert_eq!(headers[leadflow_api::TOPIC_HEADER].to_str().unwrap(), payload["topic"].as_str().unwrap());
        assert_eq!(headers[leadflow_api::DELIVERY_HEADER].to_str().unwrap(), payload["delivery_id"].to_string());
        topics.push(payload["topic"].as_str().unwrap().to_string());
    }
    assert_eq!(topics, ["lead.created", "lead.created", "lead.mql"], "the failed one again, after the restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_never_answers_well_is_given_up_and_deleting_cancels() {
    let s = Server::start_with(config()).await;
    let (url, received) = receiver(usize::MAX).await;
    let (_, hook) = s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": ["lead.created"]}))).await;
    let id = hook["id"].as_i64().unwrap();
    let event = json!({"id": "e1", "email": "ana@acme.example", "type": "page_view"});
    s.admin(Method::POST, "/v1/events", Some(event)).await;
    let client = reqwest::Client::new();
    let rounds: Vec<_> = futures_rounds(&s, &client, 4).await;
    assert_eq!(rounds, [(0, 1, 0), (0, 1, 0), (0, 0, 1), (0, 0, 0)], "three attempts, then failed");
    assert_eq!(received.lock().unwrap().len(), 3);
    let (_, deliveries) = s.admin(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None).await;
    assert_eq!(deliveries["deliveries"][0]["status"], "failed");
    assert_eq!(deliveries["deliveries"][0]["attempts"], 3);

    let event = json!({"id": "e2", "email": "ben@acme.example", "type": "page_view"});
    s.admin(Method::POST, "/v1/events", Some(event)).await;
    assert_eq!(s.admin(Method::DELETE, &format!("/v1/webhooks/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.admin(Method::DELETE, &format!("/v1/webhooks/{id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.state.deliver_due(&client).await.unwrap(), leadflow_api::DeliveryRound::default());
    let (_, deliveries) = s.admin(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None).await;
    assert_eq!(deliveries["deliveries"][0]["status"], "cancelled");
    let (status, body) = s.admin(Method::GET, "/v1/webhooks/999/deliveries", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("webhook_not_found")));
}

async fn futures_rounds(s: &Server, client: &reqwest::Client, n: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = s.state.deliver_due(client).await.unwrap();
        out.push((r.delivered, r.retried, r.failed));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_change_is_delivered_with_the_bucket_it_left() {
    let s = Server::start_with(config()).await;
    let (url, received) = receiver(0).await;
    s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": ["lead.bucket_changed"]}))).await;
    let lead = json!({"email": "cto@bigco.example", "job_title": "CTO", "employees": 5000, "industry": "Software"});
    s.admin(Method::PUT, "/v1/leads", Some(lead)).await;
    let (_, before) = s.admin(Method::GET, "/v1/leads/cto@bigco.example", None).await;
    let first_bucket = before["lead"]["score"]["bucket"].as_str().unwrap().to_string();
    for (i, kind) in ["demo_requested", "webinar_attended", "email_reply"].iter().enumerate() {
        let event = json!({"id": format!("b{i}"), "email": "cto@bigco.example", "type": kind});
        s.admin(Method::POST, "/v1/events", Some(event)).await;
    }
    let (_, after) = s.admin(Method::GET, "/v1/leads/cto@bigco.example", None).await;
    assert_ne!(after["lead"]["score"]["bucket"], first_bucket.as_str(), "the events moved it: {after}");
    s.state.deliver_due(&reqwest::Client::new()).await.unwrap();
    let received = received.lock().unwrap();
    let payloads: Vec<Value> = received.iter().map(|(_, body)| serde_json::from_slice(body).unwrap()).collect();
    assert!(!payloads.is_empty());
    assert_eq!(payloads[0]["topic"], "lead.bucket_changed");
    assert_eq!(payloads[0]["previous_bucket"], first_bucket.as_str());
    let last = payloads.last().unwrap();
    assert_eq!(last["score"]["bucket"], after["lead"]["score"]["bucket"], "the last one lands where the lead is");
}

/// Leads an import creates (in another process: the CLI's) are heard of like those the API
/// creates, once, when they are first scored; and one lead's deliveries arrive in order, even
/// when the receiver fails the first one.
#[tokio::test(flavor = "multi_thread")]
async fn imported_leads_fire_lead_created_once_and_in_order() {
    let s = Server::start_with(config()).await;
    let (url, received) = receiver(1).await;
    let topics = json!(["lead.created", "lead.bucket_changed", "lead.mql"]);
    let (status, _) = s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": topics}))).await;
    assert_eq!(status, StatusCode::CREATED);

    // The CLI's import, on the same database.
    let mut engine = leadflow_engine::Engine::new(
        leadflow_sqlite::SqliteStore::open(&s.dir.path().join("api.db")).unwrap(),
        std::sync::Arc::new(leadflow_engine::SystemClock),
    );
    let lead = |email: &str| {
        let mut profile = leadflow_core::Profile::new(leadflow_core::Email::parse(email).unwrap());
        profile.job_title = Some("CEO".into());
        leadflow_engine::LeadInput::of(profile)
    };
    let origin = leadflow_store::ChangeOrigin::new(leadflow_store::ChangeCause::Import, "leads.csv");
    engine.import_leads(&[lead("imp1@acme.example"), lead("imp2@acme.example")], &origin).unwrap();
    let now = engine.now();
    engine.rescore(leadflow_engine::RescoreOptions::needed(now), &leadflow_engine::Quiet).unwrap();
    engine.rescore(leadflow_engine::RescoreOptions::needed(now), &leadflow_engine::Quiet).unwrap();

    // Then an event that qualifies one of them, through the API.
    let (status, _) = s
        .admin(Method::POST, "/v1/events", Some(json!({"email": "imp1@acme.example", "type": "demo_requested"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let client = reqwest::Client::new();
    for _ in 0..10 {
        s.state.deliver_due(&client).await.unwrap();
    }
    // The deliveries each lead's requests carried, in arrival order, a retried one once.
    let deliveries_of = |email: &str| -> Vec<(i64, String)> {
        let mut seen: Vec<(i64, String)> = Vec::new();
        for (_, body) in received.lock().unwrap().iter() {
            let b: Value = serde_json::from_slice(body).unwrap();
            let delivery = (b["delivery_id"].as_i64().unwrap(), b["topic"].as_str().unwrap().to_string());
            if b["lead"]["email"] == email && !seen.contains(&delivery) {
                seen.push(delivery);
            }
        }
        seen
    };
    let imp1 = deliveries_of("imp1@acme.example");
    let topics: Vec<&str> = imp1.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(topics[0], "lead.created", "{topics:?}");
    assert!(topics.len() >= 2 && topics[1..].iter().all(|t| *t != "lead.created"), "{topics:?}");
    assert!(imp1.windows(2).all(|w| w[0].0 < w[1].0), "in the order they happened: {imp1:?}");
    let imp2 = deliveries_of("imp2@acme.example");
    assert_eq!(
        imp2.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["lead.created"],
        "once, not at every rescore"
    );
}

/// A receiver that takes its time: it says when a request arrived, then answers only when told.
async fn slow_receiver() -> (String, Arc<tokio::sync::Notify>, Arc<tokio::sync::Notify>) {
    let (arrived, release) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
    let (a, r) = (arrived.clone(), release.clone());
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(move || {
            let (a, r) = (a.clone(), r.clone());
            async move {
                a.notify_one();
                r.notified().await;
                AxumStatus::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/slow"), arrived, release)
}

/// One receiver that does not answer holds back only its own deliveries: a later round sends
/// everyone else's, and leaves alone the one still in flight.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_receiver_holds_back_only_itself() {
    let s = Server::start_with(config()).await;
    let (slow, arrived, release) = slow_receiver().await;
    let (fast, received) = receiver(0).await;
    let mut hooks = Vec::new();
    for url in [&slow, &fast] {
        let (status, hook) =
            s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": ["lead.created"]}))).await;
        assert_eq!(status, StatusCode::CREATED);
        hooks.push(hook["id"].as_i64().unwrap());
    }
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example"}))).await;
    let client = reqwest::Client::new();
    let first = {
        let (state, client) = (s.state.clone(), client.clone());
        tokio::spawn(async move { state.deliver_due(&client).await.unwrap() })
    };
    arrived.notified().await;
    // The first round's fast delivery is answered and recorded, so the fast receiver is free.
    let fast_deliveries = format!("/v1/webhooks/{}/deliveries", hooks[1]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.admin(Method::GET, &fast_deliveries, None).await.1["deliveries"][0]["status"] != "delivered" {
        assert!(std::time::Instant::now() < deadline, "the fast receiver's delivery was never recorded");
        tokio::task::yield_now().await;
    }

    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ben@acme.example"}))).await;
    let second = s.state.deliver_due(&client).await.unwrap();
    let emails: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(body).unwrap()["lead"]["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(emails, ["ana@acme.example", "ben@acme.example"], "ben's sent while the slow one waits; ana's once");
    assert!(second.delivered >= 1 && second.failed == 0, "{second:?}");
    assert!(!first.is_finished(), "the first round still waits on the slow receiver");

    release.notify_one();
    let first = first.await.unwrap();
    assert_eq!(first.delivered + second.delivered, 3, "{first:?} {second:?}: ana's two, ben's fast one");
    // The slow receiver's delivery for ben was left for a later round, not sent twice.
    release.notify_one();
    let third = s.state.deliver_due(&client).await.unwrap();
    assert_eq!((third.delivered, third.retried, third.failed), (1, 0, 0));
    assert_eq!(s.state.deliver_due(&client).await.unwrap(), leadflow_api::DeliveryRound::default());
}

/// A delivery whose senders all died mid-attempt (here another process claims it and never
/// answers, as many times as attempts are allowed) is given up at its next claim, unsent.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_whose_every_sender_died_is_given_up_unsent() {
    let s = Server::start_with(config()).await;
    let (url, received) = receiver(0).await;
    let (_, hook) = s.admin(Method::POST, "/v1/webhooks", Some(json!({"url": url, "topics": ["lead.created"]}))).await;
    let id = hook["id"].as_i64().unwrap();
    let event = json!({"id": "e1", "email": "ana@acme.example", "type": "page_view"});
    s.admin(Method::POST, "/v1/events", Some(event)).await;
    let mut dying = leadflow_engine::Engine::new(
        leadflow_sqlite::SqliteStore::open(&s.dir.path().join("api.db")).unwrap(),
        std::sync::Arc::new(leadflow_engine::SystemClock),
    );
    for attempt in 1..=3 {
        let claimed = dying.claim_deliveries(10, 10, std::time::Duration::ZERO).unwrap();
        assert_eq!(claimed.iter().map(|c| c.delivery.attempts).collect::<Vec<_>>(), [attempt]);
    }
    let round = s.state.deliver_due(&reqwest::Client::new()).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 1));
    assert!(received.lock().unwrap().is_empty(), "the fourth claim of three attempts is not sent");
    let (_, deliveries) = s.admin(Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None).await;
    let last = &deliveries["deliveries"][0];
    assert_eq!((last["status"].as_str(), last["attempts"].as_u64()), (Some("failed"), Some(4)), "{deliveries}");
    assert_eq!(last["last_error"], "its last attempt ran out of its lease");
}
