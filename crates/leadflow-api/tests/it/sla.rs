//! The hand-off SLA over HTTP: its policy, a lead's clocks, sales' decisions, compliance.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const POLICY: &str = include_str!("../../../../examples/sla-handoff.toml");

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_starts_clocks_that_sales_meets_by_deciding_and_compliance_counts_them() {
    let s = Server::start().await;
    let sales = "sales@yourco.example";
    let (status, body) = s.admin(Method::GET, "/v1/sla", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("sla_not_found")));
    let (status, body) = s.admin(Method::POST, "/v1/sla/validate", Some(json!({"source": "name = \"x\""}))).await;
    assert_eq!((status, body["valid"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    assert!(body["problems"][0]["line"].is_number(), "{body}");
    let (status, body) = s.admin(Method::POST, "/v1/sla", Some(json!({"source": "[[rules]]"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("sla_invalid")), "{body}");
    let (status, body) = s.call(Some(Role::Sales), Method::POST, "/v1/sla", Some(json!({"source": POLICY}))).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "marketing's and admin's");
    let (status, body) = s.admin(Method::POST, "/v1/sla", Some(json!({"source": POLICY}))).await;
    assert_eq!((status, body["rules"].as_array().map(Vec::len)), (StatusCode::OK, Some(4)), "{body}");
    let (_, active) = s.call(Some(Role::Sales), Method::GET, "/v1/sla", None).await;
    assert_eq!(active["name"], "marketing-to-sales");

    // Given to the sales user: the first touch is due by the end of their next working day.
    for email in ["max@firma.example", "eva@firma.example"] {
        s.admin(Method::PUT, "/v1/leads", Some(json!({"email": email}))).await;
        let (status, body) =
            s.admin(Method::POST, &format!("/v1/leads/{email}/owner"), Some(json!({"owner": sales}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, clocks) = s.call(Some(Role::Sales), Method::GET, "/v1/sla/clocks?lead=max@firma.example", None).await;
    assert_eq!(status, StatusCode::OK, "{clocks}");
    let clock = &clocks["clocks"][0];
    assert_eq!(
        (clock["rule"].as_str(), clock["rule_name"].as_str(), clock["owner"].as_str(), clock["state"].as_str()),
        (Some("first-touch"), Some("First call or email"), Some(sales), Some("pending")),
        "{clocks}"
    );
    assert!(clock["due_at"].as_str().unwrap().ends_with('Z'), "{clock}");
    let (status, body) = s.admin(Method::GET, "/v1/sla/clocks?owner=no%20one", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_user")));
    let (status, body) = s.admin(Method::GET, "/v1/sla/clocks?lead=nobody@firma.example", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("lead_not_found")));

    // Sales answers for its own leads only, with a reason of the policy's to reject.
    let decide = |lead: &str| format!("/v1/leads/{lead}/decision");
    for (bad, why) in [
        (json!({"decision": "reject"}), "a rejection needs a reason"),
        (json!({"decision": "reject", "reason": "too small"}), "not a reason"),
        (json!({"decision": "accept", "reason": "great"}), "only a rejection"),
    ] {
        let (status, body) = s.call(Some(Role::Sales), Method::POST, &decide("max@firma.example"), Some(bad)).await;
        assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_decision")), "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(why), "{body}");
    }
    let (status, body) =
        s.call(Some(Role::Sales), Method::POST, &decide("max@firma.example"), Some(json!({"decision": "maybe"}))).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    let (status, body) = s
        .call(Some(Role::Sales), Method::POST, &decide("max@firma.example"), Some(json!({"decision": "accept"})))
        .await;
    assert_eq!(
        (status, body["decision"].as_str(), body["lead"]["stage"].as_str()),
        (StatusCode::OK, Some("accepted"), Some("sql")),
        "{body}"
    );
    let reject = json!({"decision": "reject", "reason": "Existing customer"});
    let (status, body) =
        s.call(Some(Role::Sales), Method::POST, &decide("eva@firma.example"), Some(reject.clone())).await;
    assert_eq!(
        (status, body["reason"].as_str(), body["lead"]["stage"].as_str()),
        (StatusCode::OK, Some("existing customer"), Some("recycled")),
        "{body}"
    );
    s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "not.mine@firma.example"}))).await;
    let (status, body) = s.call(Some(Role::Sales), Method::POST, &decide("not.mine@firma.example"), Some(reject)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
    let (_, log) = s.admin(Method::GET, "/v1/leads/eva@firma.example/changes", None).await;
    assert!(
        log["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == format!("rejected by {sales}: existing customer")),
        "{log}"
    );
    let (_, stopped) = s.admin(Method::GET, "/v1/sla/clocks?lead=eva@firma.example", None).await;
    assert_eq!(stopped["clocks"][0]["state"], "stopped", "{stopped}");
    assert_eq!(stopped["clocks"][0]["stopped_why"], "the lead was rejected");
    let (_, running) = s.admin(Method::GET, "/v1/sla/clocks?running=true", None).await;
    assert_eq!(running["clocks"].as_array().unwrap().len(), 1, "max's first touch: {running}");

    let (status, report) = s.call(Some(Role::Sales), Method::GET, "/v1/sla/compliance", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["total"]["pending"].as_u64(), report["total"]["rate"].as_f64()), (Some(1), None), "{report}");
    assert_eq!(report["owners"][0]["owner"], sales);
    assert_eq!(report["rules"][0]["rule"], "first-touch");
    let (status, body) = s.admin(Method::GET, "/v1/sla/compliance?from=2026-06-02&to=2026-06-01", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = s.admin(Method::GET, "/v1/sla/compliance?from=yesterday", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
}
