//! Users, assignment rules and owners over HTTP.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const RULES: &str = r#"
name = "by-country"
[[rules]]
id = "dach"
on = "any"
when = [{ field = "country", op = "in", values = ["DE", "AT", "CH"] }]
teams = ["dach"]
"#;

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_put_and_listed_and_an_owner_is_given_by_hand_or_by_the_rules() {
    let s = Server::start().await;
    let ana = json!({"zone": "Europe/Berlin", "hours": "mon-fri 08:00-16:00", "team": "dach", "capacity": 30});
    let (status, body) = s.admin(Method::PUT, "/v1/users/ana", Some(ana.clone())).await;
    assert_eq!(
        (status, body["hours"].as_str(), body["available"].as_bool()),
        (StatusCode::CREATED, Some("mon-fri 08:00-16:00"), Some(true)),
        "{body}"
    );
    assert_eq!(s.admin(Method::PUT, "/v1/users/ana", Some(ana)).await.0, StatusCode::OK, "replaced");
    for (bad, field) in [
        (json!({"zone": "Mars/Olympus"}), "zone"),
        (json!({"zone": "UTC", "hours": "mon-fri 17:00-09:00"}), "hours"),
        (json!({"zone": "UTC", "holidays": ["24.12.2026"]}), "holiday"),
        (json!({"zone": "UTC", "capacity": 0}), "capacity"),
    ] {
        let (status, body) = s.admin(Method::PUT, "/v1/users/bo", Some(bad.clone())).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_user")), "{bad}");
        assert!(body["error"]["message"].as_str().unwrap().to_lowercase().contains(field) || field == "zone", "{body}");
    }
    let (status, body) = s.admin(Method::PUT, "/v1/users/no%20spaces", Some(json!({"zone": "UTC"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_user")));
    let (_, list) = s.call(Some(Role::Sales), Method::GET, "/v1/users", None).await;
    let names: Vec<&str> = list["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ana", "sales@yourco.example"]);

    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "max@firma.example", "country": "DE"}))).await;
    let path = "/v1/leads/max@firma.example/owner";
    let (status, body) = s.admin(Method::POST, path, Some(json!({}))).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("assignment_not_found")));
    let (status, body) = s.admin(Method::POST, "/v1/assignment", Some(json!({"source": "name = 1"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("assignment_invalid")));
    let (status, body) = s.admin(Method::POST, "/v1/assignment", Some(json!({"source": RULES}))).await;
    assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (_, active) = s.call(Some(Role::Sales), Method::GET, "/v1/assignment", None).await;
    assert_eq!(active["name"], "by-country");

    let (status, body) = s.admin(Method::POST, path, Some(json!({}))).await;
    assert_eq!((status, body["owner"].as_str()), (StatusCode::OK, Some("ana")), "{body}");
    assert!(body["reason"].as_str().unwrap().contains("dach"), "{body}");
    assert_eq!(body["lead"]["owner"], "ana");
    let (status, body) = s.admin(Method::POST, path, Some(json!({"owner": "nobody"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("user_not_found")));
    let (status, body) =
        s.admin(Method::POST, path, Some(json!({"owner": "sales@yourco.example", "reason": "speaks German"}))).await;
    assert_eq!(
        (status, body["previous"].as_str(), body["reason"].as_str()),
        (StatusCode::OK, Some("ana"), Some("speaks German"))
    );
    // Sales owns it now, and may not give it away.
    let (status, body) = s.call(Some(Role::Sales), Method::POST, path, Some(json!({"owner": "ana"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (_, log) = s.admin(Method::GET, "/v1/leads/max@firma.example/changes", None).await;
    assert!(
        log["changes"].as_array().unwrap().iter().any(|c| c["field"] == "owner" && c["reason"] == "speaks German"),
        "{log}"
    );
}
