//! A lead's identities over HTTP: listed, added, removed, and every endpoint naming a lead
//! reaches it through any of them.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn identities(body: &Value) -> Vec<(String, bool)> {
    body["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["identity"].as_str().unwrap().to_string(), i["primary"].as_bool().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn identities_are_added_listed_removed_and_name_the_lead_everywhere() {
    let s = Server::start().await;
    let sales = "sales@yourco.example";
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example", "owner": sales}))).await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ben@acme.example"}))).await;
    let add = |identity: Value| Some(identity);
    let path = "/v1/leads/ana@acme.example/identities";

    let (status, body) =
        s.admin(Method::POST, path, add(json!({"identity": "phone:020 7946 0958", "region": "gb"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s.admin(Method::POST, path, add(json!({"identity": "phone:+44 20 7946 0958"}))).await;
    assert_eq!(status, StatusCode::OK, "the same number, written otherwise: {body}");
    let (status, body) = s.admin(Method::POST, path, add(json!({"identity": "salesforce:00Q5g000004XyZ1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        identities(&body),
        [
            ("email:ana@acme.example".to_string(), true),
            ("phone:+442079460958".to_string(), false),
            ("salesforce:00Q5g000004XyZ1".to_string(), false)
        ]
    );
    assert_eq!(body["identities"][1]["kind"], "phone");
    assert_eq!(body["identities"][1]["value"], "+442079460958");

    // Refused, each with its code.
    for (request, status_code, error) in [
        (json!({"identity": "phone:020 7946 0958"}), StatusCode::BAD_REQUEST, "invalid_lead_identity"),
        (json!({"identity": "phone:+1 555 0100"}), StatusCode::BAD_REQUEST, "invalid_lead_identity"),
        (json!({"identity": "Salesforce:1"}), StatusCode::BAD_REQUEST, "invalid_lead_identity"),
        (json!({"identity": "visitor:abcdefgh12"}), StatusCode::BAD_REQUEST, "invalid_lead_identity"),
        (json!({"identity": "phone:1", "region": "XX"}), StatusCode::BAD_REQUEST, "invalid_lead_identity"),
        (json!({"identity": "email:ben@acme.example"}), StatusCode::CONFLICT, "email_taken"),
        (json!({"identity": "x", "extra": 1}), StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        let (status, body) = s.admin(Method::POST, path, Some(request.clone())).await;
        assert_eq!((status, code(&body)), (status_code, Some(error)), "{request}: {body}");
    }
    let (status, body) = s
        .admin(
            Method::POST,
            "/v1/leads/ben@acme.example/identities",
            add(json!({"identity": "salesforce:00Q5g000004XyZ1"})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("lead_identity_taken")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("belongs to lead"), "{body}");

    // Any identity names the lead in a path, and an event sent by one reaches it.
    for named in ["phone:+442079460958", "salesforce:00Q5g000004XyZ1", "phone:%2B44%2020%207946%200958"] {
        let (status, body) = s.admin(Method::GET, &format!("/v1/leads/{named}"), None).await;
        assert_eq!((status, body["lead"]["email"].as_str()), (StatusCode::OK, Some("ana@acme.example")), "{named}");
    }
    let event = json!({"identity": "salesforce:00Q5g000004XyZ1", "type": "demo_requested", "id": "ev-1"});
    let (status, body) = s.admin(Method::POST, "/v1/events", Some(event.clone())).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    assert_eq!(view["timeline"][0]["type"], "demo_requested", "{view}");
    // An event by Ana's phone and her email is one lead's; by her phone and Ben's email, two.
    let both = json!({"identity": "phone:+442079460958", "email": "ana@acme.example", "type": "call"});
    let (status, body) = s.admin(Method::POST, "/v1/events", Some(both)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let two = json!({"identity": "phone:+442079460958", "email": "ben@acme.example", "type": "call"});
    let (status, body) = s.admin(Method::POST, "/v1/events", Some(two)).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("keys_disagree")), "{body}");
    // An identity names only a lead that has it, so an ingest key may not name one (the answer
    // would tell whether the lead exists).
    let (status, body) = s.call(Some(Role::Ingest), Method::POST, "/v1/events", Some(event)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    let unknown = json!({"identity": "phone:+14155552671", "type": "call"});
    let (status, body) = s.admin(Method::POST, "/v1/events", Some(unknown)).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_not_found")), "{body}");
    let (status, body) =
        s.admin(Method::POST, "/v1/events", Some(json!({"identity": "phone:1", "type": "call"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_event")), "{body}");

    let (status, body) = s.admin(Method::GET, "/v1/leads/phone:+14155552671", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_not_found")), "{body}");
    let (status, body) = s.admin(Method::GET, "/v1/leads/phone:12", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_lead")), "{body}");

    // Sales changes its own leads' identities only; ingest keys none.
    let sales_add = |lead: &str| format!("/v1/leads/{lead}/identities");
    let (status, _) = s
        .call(Some(Role::Sales), Method::POST, &sales_add("ana@acme.example"), add(json!({"identity": "hubspot:7"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .call(Some(Role::Sales), Method::POST, &sales_add("ben@acme.example"), add(json!({"identity": "hubspot:8"})))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    let (status, _) = s.call(Some(Role::Ingest), Method::GET, path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Removed: the own email stays, another goes, and the lead is no longer reached by it.
    let (status, body) = s.admin(Method::DELETE, &format!("{path}/email:ana@acme.example"), None).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("own_lead_identity")), "{body}");
    let (status, _) = s.admin(Method::DELETE, &format!("{path}/hubspot:7"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::DELETE, &format!("{path}/hubspot:7"), None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_identity_not_found")), "{body}");
    let (status, body) = s.admin(Method::GET, "/v1/leads/hubspot:7", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_not_found")), "{body}");
    let (status, body) = s.call(Some(Role::Marketing), Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(identities(&body).len(), 3, "{body}");
    assert_eq!(body["visitors"], json!([]));
}
