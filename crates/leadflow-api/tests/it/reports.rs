//! Reports over HTTP: the pipeline report from moves leadflow recorded, for marketing, admin
//! and managers only.

use crate::support::Server;
use leadflow_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SALES_PIPELINE: &str = include_str!("../../../../bench/pipeline/sales.toml");

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

fn stage<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["stages"].as_array().unwrap().iter().find(|s| s["stage"] == id).unwrap()
}

/// A stage to move to, and the reason given.
type Move = (&'static str, Option<&'static str>);

#[tokio::test(flavor = "multi_thread")]
async fn the_pipeline_report_counts_the_moves_leads_made() {
    let s = Server::start().await;
    let (status, body) = s.admin(Method::GET, "/v1/reports/pipeline", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("pipeline_not_found")), "none yet: {body}");
    s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": SALES_PIPELINE}))).await;
    let moves: [(&str, &str, &[Move]); 3] = [
        ("ana@acme.example", "webinar", &[("new", None), ("mql", None), ("sql", None), ("won", None)]),
        ("bo@acme.example", "webinar", &[("new", None), ("mql", None), ("lost", Some("price"))]),
        ("cy@acme.example", "organic", &[("new", None)]),
    ];
    for (email, source, stages) in moves {
        let lead = json!({"email": email, "source": source, "owner": "sales@yourco.example"});
        assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
        for (stage, reason) in stages {
            let body = json!({"pipeline": "sales", "stage": stage, "reason": reason});
            let (status, body) = s.admin(Method::POST, &format!("/v1/leads/{email}/stage"), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }

    // Ana clicked the spring campaign's mail before she qualified (the event's time is now, the
    // stage moves' too: a touch at the same instant as qualifying comes too late for it).
    let click = json!({"id": "c1", "email": "ana@acme.example", "type": "email_click", "ts": "2020-01-01T00:00:00Z",
        "properties": {"campaign": "spring"}});
    let (status, body) = s.admin(Method::POST, "/v1/events", Some(click)).await;
    assert!(status.is_success(), "{body}");
    let (status, report) = s.call(Some(Role::Marketing), Method::GET, "/v1/reports/pipeline", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["attribution"]["first_touch"],
        json!([
            {"value": "spring", "leads": 1, "mqls": 1, "won": 1, "conversion": 1.0,
             "conversion_low": report["attribution"]["first_touch"][0]["conversion_low"], "conversion_high": 1.0},
            {"value": null, "leads": 2, "mqls": 1, "won": 0, "conversion": 0.0, "conversion_low": 0.0,
             "conversion_high": report["attribution"]["first_touch"][1]["conversion_high"]},
        ])
    );
    let (_, spring) = s.admin(Method::GET, "/v1/reports/pipeline?campaign=spring,autumn", None).await;
    assert_eq!(spring["leads"], 1, "{spring}");
    let (_, graded) = s.admin(Method::GET, "/v1/reports/pipeline?grade=a,b,c,d,e,F", None).await;
    assert_eq!(graded["leads"], 3, "every lead is scored: {graded}");
    let (_, nowhere) = s.admin(Method::GET, "/v1/reports/pipeline?bucket=nowhere", None).await;
    assert_eq!(nowhere["leads"], 0, "{nowhere}");
    assert_eq!((report["pipeline"].as_str(), report["leads"].as_u64()), (Some("sales"), Some(3)));
    let reached: Vec<(&str, u64)> = ["new", "mql", "sql", "won", "lost"]
        .iter()
        .map(|id| (*id, stage(&report, id)["reached"].as_u64().unwrap()))
        .collect();
    assert_eq!(reached, [("new", 3), ("mql", 2), ("sql", 1), ("won", 1), ("lost", 1)]);
    assert_eq!(
        (stage(&report, "new")["completed"].as_u64(), stage(&report, "new")["open"].as_u64()),
        (Some(2), Some(1))
    );
    let mql_sql = report["conversion"].as_array().unwrap().iter().find(|c| c["from"] == "mql").unwrap();
    assert_eq!(
        (mql_sql["to"].as_str(), mql_sql["reached"].as_u64(), mql_sql["rate"].as_f64()),
        (Some("sql"), Some(2), Some(0.5))
    );
    assert_eq!(report["reasons"], json!([{"stage": "lost", "reason": "price", "count": 1}]));
    let owner = &report["owners"][0];
    assert_eq!(
        (owner["leads"].as_u64(), owner["won"].as_u64(), owner["win_rate"].as_f64()),
        (Some(3), Some(1), Some(0.5))
    );
    let sources: Vec<(&str, u64, u64)> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["source"].as_str().unwrap(), s["leads"].as_u64().unwrap(), s["won"].as_u64().unwrap()))
        .collect();
    assert_eq!(sources, [("organic", 1, 0), ("webinar", 2, 1)]);
    assert_eq!(report["months"].as_array().unwrap().iter().map(|m| m["mqls"].as_u64().unwrap()).sum::<u64>(), 2);

    // Its charts, as SVG documents.
    let chart = |name: &str| {
        let request = s.client.get(format!("{}/v1/reports/pipeline/charts/{name}", s.base));
        request.bearer_auth(s.key(Role::Marketing)).send()
    };
    let answer = chart("funnel").await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/svg+xml");
    let svg = answer.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("new: 3 leads reached it"), "{svg}");
    for name in ["dropouts", "mqls", "velocity", "cohorts"] {
        assert_eq!(chart(name).await.unwrap().status(), StatusCode::OK, "{name}");
    }
    let (status, body) = s.admin(Method::GET, "/v1/reports/pipeline/charts/pie", None).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");

    // As of before anything happened: nothing.
    let (_, before) = s.admin(Method::GET, "/v1/reports/pipeline?as_of=2020-01-01", None).await;
    assert_eq!(before["leads"], 0, "{before}");
    // A funnel of one's own.
    let (status, body) = s.admin(Method::GET, "/v1/reports/pipeline?pipeline=sales&funnel=new,won", None).await;
    assert_eq!((status, body["conversion"][0]["rate"].as_f64()), (StatusCode::OK, Some(1.0 / 3.0)), "{body}");
    // The funnel alone, where the others went, and by source: Bo was lost on price after
    // qualifying, Cy is still new.
    let (status, funnel) =
        s.call(Some(Role::Marketing), Method::GET, "/v1/reports/funnel?funnel=new,mql,sql,won&by=source", None).await;
    assert_eq!(status, StatusCode::OK, "{funnel}");
    assert_eq!(
        funnel["reached"],
        json!([{"stage": "new", "reached": 3}, {"stage": "mql", "reached": 2}, {"stage": "sql", "reached": 1},
               {"stage": "won", "reached": 1}])
    );
    let dropped = |step: &Value| {
        let d = &step["dropped"];
        ["stalled", "skipped", "recycled", "lost", "disqualified", "won", "left"].map(|k| d[k].as_u64().unwrap())
    };
    assert_eq!(dropped(&funnel["conversion"][0]), [1, 0, 0, 0, 0, 0, 0], "{funnel}");
    assert_eq!(dropped(&funnel["conversion"][1]), [0, 0, 0, 1, 0, 0, 0], "{funnel}");
    assert_eq!(
        funnel["conversion"][1]["dropped"]["reasons"],
        json!([{"stage": "lost", "reason": "price", "count": 1}])
    );
    assert_eq!(funnel["breakdown"]["by"], "source");
    let groups = funnel["breakdown"]["groups"].as_array().unwrap();
    let group = |g: &Value| {
        let rates: Vec<Option<f64>> = g["conversion"].as_array().unwrap().iter().map(|c| c["rate"].as_f64()).collect();
        (g["value"].as_str().unwrap().to_string(), g["leads"].as_u64().unwrap(), rates)
    };
    assert_eq!(
        groups.iter().map(group).collect::<Vec<_>>(),
        [
            ("webinar".into(), 2, vec![Some(1.0), Some(0.5), Some(1.0)]),
            ("organic".into(), 1, vec![Some(0.0), None, None])
        ]
    );
    let (_, with_split) = s.admin(Method::GET, "/v1/reports/pipeline?by=owner", None).await;
    assert_eq!(with_split["breakdown"]["groups"][0]["value"], "sales@yourco.example", "{with_split}");
    let (status, body) = s.admin(Method::GET, "/v1/reports/funnel?by=colour", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
    // A cohort and filters.
    let (_, webinar) = s.admin(Method::GET, "/v1/reports/pipeline?source=webinar,partner", None).await;
    assert_eq!(webinar["leads"], 2, "{webinar}");
    let (_, none) =
        s.admin(Method::GET, "/v1/reports/pipeline?created_from=2020-01-01&created_to=2021-01-01", None).await;
    assert_eq!(none["leads"], 0, "{none}");
    let (_, all) = s.admin(Method::GET, "/v1/reports/pipeline?source=&owner=sales@yourco.example", None).await;
    assert_eq!(all["leads"], 3, "an empty list says nothing: {all}");
    let (_, since) = s.admin(Method::GET, "/v1/reports/pipeline?created_from=2020-01-01", None).await;
    assert_eq!(since["leads"], 3, "{since}");
    let (_, inverted) =
        s.admin(Method::GET, "/v1/reports/pipeline?qualified_from=2021-01-01&qualified_to=2020-01-01", None).await;
    assert_eq!(inverted["leads"], 0, "a period that ends before it starts holds none: {inverted}");
    for (query, status, error) in [
        ("?created_to=tomorrow", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?funnel=new,nowhere", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?as_of=yesterday", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?pipeline=partner", StatusCode::NOT_FOUND, "pipeline_not_found"),
        ("?colour=red", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?grade=Z", StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        let (got, body) = s.admin(Method::GET, &format!("/v1/reports/pipeline{query}"), None).await;
        assert_eq!((got, code(&body)), (status, Some(error)), "{query}: {body}");
    }

    // The reps' report: the sales user's three leads, one won, one lost, nothing yet on the SLA.
    let (status, reps) = s.admin(Method::GET, "/v1/reports/reps?from=2020-01-01", None).await;
    assert_eq!(status, StatusCode::OK, "{reps}");
    let rep = &reps["reps"][0];
    assert_eq!(rep["owner"], "sales@yourco.example", "{reps}");
    assert_eq!((rep["pipeline"]["leads"].as_u64(), rep["pipeline"]["won"].as_u64()), (Some(3), Some(1)));
    assert_eq!((rep["tasks"]["pending"].as_u64(), rep["sla"]["breached"].as_u64()), (Some(0), Some(0)), "{rep}");
    let (status, body) = s.admin(Method::GET, "/v1/reports/reps?from=soon", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    // The model over time: the two MQLs, scored (the example model) as they qualified.
    let (status, model) = s.admin(Method::GET, "/v1/reports/model", None).await;
    assert_eq!(status, StatusCode::OK, "{model}");
    assert_eq!(
        (model["periods"][0]["mqls"].as_u64(), model["periods"][0]["won"].as_u64()),
        (Some(2), Some(1)),
        "{model}"
    );
    let (status, quarterly) = s.admin(Method::GET, "/v1/reports/model?period=quarter", None).await;
    assert_eq!(status, StatusCode::OK, "{quarterly}");
    assert_eq!(quarterly["period"], "quarter");
    assert!(quarterly["periods"][0]["period"].as_str().unwrap().contains("-Q"), "{quarterly}");
    let (status, body) = s.admin(Method::GET, "/v1/reports/model?period=week", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let scored: u64 = model["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["name"] != "unscored")
        .map(|b| b["leads"].as_u64().unwrap())
        .sum();
    assert_eq!(scored, 2, "{model}");

    // Touchpoints read the leads with an outcome: none yet, then one won and one lost.
    let (status, body) = s.admin(Method::GET, "/v1/reports/touchpoints", None).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("no_outcomes")), "{body}");
    // ... though the pipeline knows how two closed: ana won, bo lost.
    let (status, touch) = s.admin(Method::GET, "/v1/reports/touchpoints?pipeline=", None).await;
    assert_eq!((status, &touch["leads"], &touch["converted"]), (StatusCode::OK, &json!(2), &json!(1)), "{touch}");
    let (_, body) = s.admin(Method::GET, "/v1/reports/touchpoints?pipeline=sales&closed_to=2020-01-01", None).await;
    assert_eq!(code(&body), Some("no_outcomes"), "nothing closed before 2020: {body}");
    for (query, status, error) in [
        ("?pipeline=partner", StatusCode::NOT_FOUND, "pipeline_not_found"),
        ("?outcomes=crm", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?pipeline=&closed_from=soon", StatusCode::BAD_REQUEST, "invalid_request"),
    ] {
        let (got, body) = s.admin(Method::GET, &format!("/v1/reports/touchpoints{query}"), None).await;
        assert_eq!((got, code(&body)), (status, Some(error)), "{query}: {body}");
    }
    for (email, outcome) in [("ana@acme.example", "won"), ("bo@acme.example", "lost")] {
        let body = json!({"email": email, "outcome": outcome});
        assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(body)).await.0, StatusCode::OK);
    }
    let (status, touch) = s.admin(Method::GET, "/v1/reports/touchpoints?before_outcome=0", None).await;
    assert_eq!(
        (status, touch["leads"].as_u64(), touch["converted"].as_u64()),
        (StatusCode::OK, Some(2), Some(1)),
        "{touch}"
    );
    let (status, body) = s.admin(Method::GET, "/v1/reports/touchpoints?before_outcome=soon", None).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");

    // Reports read every lead: a rep's key may not, a manager's may; an ingest key never.
    for role in [Role::Sales, Role::Ingest] {
        for path in [
            "/v1/reports/pipeline",
            "/v1/reports/funnel",
            "/v1/reports/pipeline/charts/funnel",
            "/v1/reports/reps",
            "/v1/reports/model",
        ] {
            let (status, body) = s.call(Some(role), Method::GET, path, None).await;
            assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("forbidden")), "{role} {path}");
        }
    }
    let manager = json!({"zone": "Europe/Berlin", "role": "manager"});
    assert_eq!(s.admin(Method::PUT, "/v1/users/sales@yourco.example", Some(manager)).await.0, StatusCode::OK);
    let (status, body) = s.call(Some(Role::Sales), Method::GET, "/v1/reports/pipeline", None).await;
    assert_eq!((status, body["leads"].as_u64()), (StatusCode::OK, Some(3)), "{body}");

    // With two pipelines active, a report names its own.
    let partner = include_str!("../../../../examples/pipeline-partner.toml");
    assert_eq!(s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": partner}))).await.0, StatusCode::OK);
    let (status, body) = s.admin(Method::GET, "/v1/reports/pipeline", None).await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, Some("pipeline_needed")), "{body}");
    let (status, body) = s.admin(Method::GET, "/v1/reports/pipeline?pipeline=partner", None).await;
    assert_eq!((status, body["leads"].as_u64()), (StatusCode::OK, Some(0)), "{body}");
}

/// The digest over HTTP, and the weekly job that writes it into `server.jobs.digest_dir`.
#[tokio::test(flavor = "multi_thread")]
async fn the_digest_is_served_and_written_weekly() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = leadflow_api::ServerConfig::default();
    config.jobs.poll_interval_ms = 0;
    config.jobs.digest_dir = Some(dir.path().join("digests"));
    let s = Server::start_with(config).await;
    s.admin(Method::POST, "/v1/pipelines", Some(json!({"source": SALES_PIPELINE}))).await;
    let lead = json!({"email": "ana@acme.example", "source": "webinar"});
    assert_eq!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0, StatusCode::CREATED);
    let body = json!({"pipeline": "sales", "stage": "mql"});
    assert_eq!(s.admin(Method::POST, "/v1/leads/ana@acme.example/stage", Some(body)).await.0, StatusCode::OK);

    let (status, digest) = s.call(Some(Role::Marketing), Method::GET, "/v1/reports/digest", None).await;
    assert_eq!(status, StatusCode::OK, "{digest}");
    assert_eq!((digest["days"].as_u64(), digest["current"]["created"].as_u64()), (Some(7), Some(1)), "{digest}");
    assert_eq!(digest["current"]["mqls"], 1, "{digest}");
    for (query, status, error) in [
        ("?days=0", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?days=400", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?as_of=someday", StatusCode::BAD_REQUEST, "invalid_request"),
        ("?pipeline=partner", StatusCode::NOT_FOUND, "pipeline_not_found"),
    ] {
        let (got, body) = s.admin(Method::GET, &format!("/v1/reports/digest{query}"), None).await;
        assert_eq!((got, code(&body)), (status, Some(error)), "{query}: {body}");
    }
    let (status, _) = s.call(Some(Role::Sales), Method::GET, "/v1/reports/digest", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // This week's digest (as of last Monday 08:00), written once by the job queue.
    s.state.schedule_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("digests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].starts_with("digest-sales-") && files[0].ends_with(".json"), "{files:?}");
    assert_eq!(files[1], files[0].replace(".json", ".md"));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("digests").join(&files[0])).unwrap()).unwrap();
    let as_of = written["as_of"].as_str().unwrap();
    assert!(as_of.ends_with("T08:00:00.000Z") || as_of.ends_with("T08:00:00Z"), "{as_of}");
    let markdown = std::fs::read_to_string(dir.path().join("digests").join(&files[1])).unwrap();
    assert!(markdown.starts_with("# `sales`: the 7 days to "), "{markdown}");
    assert!(markdown.contains("| New leads |") && markdown.contains("## The pipeline now"), "{markdown}");
}
