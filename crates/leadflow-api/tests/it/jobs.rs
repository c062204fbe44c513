//! The job queue over HTTP: what an operator sees of the scheduled work.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread")]
async fn the_job_queue_shows_its_counts_and_jobs_to_admins_only() {
    let mut config = leadflow_api::ServerConfig::default();
    config.jobs.poll_interval_ms = 0;
    let s = Server::start_with(config).await;
    let (status, body) = s.admin(Method::GET, "/v1/jobs", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["jobs"].as_array().unwrap().is_empty(), "nothing scheduled yet: {body}");

    s.state.schedule_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();
    let (_, body) = s.admin(Method::GET, "/v1/jobs", None).await;
    let kinds: Vec<&str> = body["jobs"].as_array().unwrap().iter().map(|j| j["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"pipeline-sweep"), "{body}");
    let done = body["counts"].as_array().unwrap().iter().filter(|c| c["status"] == "done");
    assert!(done.map(|c| c["count"].as_u64().unwrap()).sum::<u64>() > 0, "{body}");
    let (_, sweeps) = s.admin(Method::GET, "/v1/jobs?kind=pipeline-sweep&status=pending&limit=1", None).await;
    let jobs = sweeps["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "the next slot waits: {sweeps}");
    assert_eq!((jobs[0]["kind"].as_str(), jobs[0]["status"].as_str()), (Some("pipeline-sweep"), Some("pending")));

    let (status, body) = s.admin(Method::GET, "/v1/jobs?status=stuck", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    for role in [Role::Marketing, Role::Sales] {
        let (status, _) = s.call(Some(role), Method::GET, "/v1/jobs", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
}
