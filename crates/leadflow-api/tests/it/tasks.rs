//! Follow-up tasks over HTTP.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_are_added_listed_and_closed_by_whom_they_may() {
    let s = Server::start().await;
    let sales = "sales@yourco.example";
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example", "owner": sales}))).await;
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "bo@acme.example"}))).await;
    let add = |lead: &'static str, body: Value, role: Role| {
        let s = &s;
        async move { s.call(Some(role), Method::POST, &format!("/v1/leads/{lead}/tasks"), Some(body)).await }
    };
    let (status, task) =
        add("ana@acme.example", json!({"title": "Call back", "due_at": "2020-01-01T09:00:00Z"}), Role::Sales).await;
    assert_eq!(status, StatusCode::CREATED, "{task}");
    assert_eq!(
        (task["kind"].as_str(), task["owner"].as_str(), task["overdue"].as_bool()),
        (Some("call"), Some(sales), Some(true))
    );
    for (bad, expect) in [
        (json!({"title": " ", "due_at": "2030-01-01"}), "invalid_task"),
        (json!({"title": "x", "due_at": "someday"}), "invalid_task"),
        (json!({"title": "x", "due_at": "2030-01-01", "kind": "fax"}), "invalid_task"),
        (json!({"title": "x", "due_at": "2030-01-01", "color": "red"}), "invalid_request"),
    ] {
        let (status, body) = add("ana@acme.example", bad.clone(), Role::Admin).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some(expect)), "{bad}: {body}");
    }
    let (status, body) = add("bo@acme.example", json!({"title": "x", "due_at": "2030-01-01"}), Role::Sales).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "not its lead");
    let (status, later) = add(
        "bo@acme.example",
        json!({"title": "Send the deck", "due_at": "2030-01-01", "kind": "email", "priority": "high"}),
        Role::Admin,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");

    let (_, overdue) = s.call(Some(Role::Sales), Method::GET, "/v1/tasks?due=overdue", None).await;
    assert_eq!(overdue["tasks"].as_array().unwrap().len(), 1, "{overdue}");
    let (_, mine) = s.call(Some(Role::Sales), Method::GET, &format!("/v1/tasks?owner={sales}"), None).await;
    assert_eq!(mine["tasks"].as_array().unwrap().len(), 1);
    let (_, all) = s.admin(Method::GET, "/v1/tasks", None).await;
    assert_eq!(all["tasks"].as_array().unwrap().len(), 2);
    let (status, body) = s.admin(Method::GET, "/v1/tasks?due=soon", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    let path = format!("/v1/tasks/{}", task["id"]);
    let (status, body) = s
        .call(
            Some(Role::Sales),
            Method::POST,
            &path,
            Some(json!({"action": "snooze", "until": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_task")), "a snooze ends after now");
    let (status, done) =
        s.call(Some(Role::Sales), Method::POST, &path, Some(json!({"action": "done", "note": "booked a demo"}))).await;
    assert_eq!(
        (status, done["status"].as_str(), done["outcome"].as_str()),
        (StatusCode::OK, Some("done"), Some("booked a demo"))
    );
    let (status, body) = s.admin(Method::POST, &path, Some(json!({"action": "cancel"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("task_closed")));
    let other = format!("/v1/tasks/{}", later["id"]);
    let (status, body) = s.call(Some(Role::Sales), Method::POST, &other, Some(json!({"action": "done"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "not its task");
    let (status, body) = s.admin(Method::POST, "/v1/tasks/999", Some(json!({"action": "done"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("task_not_found")));
    // The queue: sales sees its own, by default; others' only with an owner named, and not sales.
    s.admin(
        Method::POST,
        "/v1/leads/ana@acme.example/tasks",
        Some(json!({"title": "Call again", "due_at": "2020-02-01"})),
    )
    .await;
    let (status, queue) = s.call(Some(Role::Sales), Method::GET, "/v1/queue", None).await;
    assert_eq!((status, queue["owner"].as_str()), (StatusCode::OK, Some(sales)), "{queue}");
    assert_eq!(queue["leads"][0]["urgency"], "overdue_task");
    assert_eq!(queue["leads"][0]["lead"]["email"], "ana@acme.example");
    assert_eq!(queue["leads"][0]["next_task"]["title"], "Call again");
    let (status, body) = s.call(Some(Role::Sales), Method::GET, "/v1/queue?owner=ana", None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, body) = s.admin(Method::GET, "/v1/queue", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = s.admin(Method::GET, "/v1/queue?owner=nobody", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("user_not_found")));
    let (status, body) = s.admin(Method::GET, "/v1/tasks/missing", None).await;
    assert_eq!(
        (status, body["lead_ids"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0)),
        "no pipeline: nobody being worked"
    );
}
