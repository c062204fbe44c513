//! The `leadflow` binary as a user drives it.

use crate::common::{Cli, events_stored, http, import_killed_after, workspace_root};
use serde_json::json;

const LEADS: &str = "email,first_name,job_title,employees,industry,country,created_at\n\
ana@acme.example,Ana,CTO,1200,software,US,2026-01-01\n\
ben@globex.example,Ben,Student,3,education,FR,2026-01-01\n\
not-an-email,Cid,CEO,10,,,\n\
dee@initech.example,Dee,VP Sales,800,retail,DE,2026-01-01\n\
eve@hooli.example,Eve,Analyst,many,software,US,2026-01-01\n";

#[test]
fn model_check_reports_every_problem_with_its_line() {
    let cli = Cli::new();
    let good = workspace_root().join("crates/leadflow-core/src/model/default.toml");
    let out = cli.ok(&["model", "check", good.to_str().unwrap()]);
    assert!(out.contains("valid model `default-b2b`"), "{out}");

    let source = std::fs::read_to_string(&good)
        .unwrap()
        .replacen("field = \"job_title\"", "field = \"jobtitle\"", 1)
        .replacen("op = \"between\"\nmin = 50", "op = \"around\"\nmin = 50", 1)
        .replacen("min = 70\n", "min = 20\n", 1);
    let bad = cli.file("bad.toml", &source);
    let out = cli.run(&["model", "check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("fit.rules[0].field: unknown field `jobtitle`"), "{err}");
    assert!(err.contains("unknown operator `around`"), "{err}");
    assert!(err.contains("buckets overlap"), "{err}");
    assert!(err.lines().all(|l| !l.trim_start().starts_with("line") || l.contains(", column ")), "{err}");

    // Applying it is refused the same way, said once, and changes nothing.
    cli.ok(&["init"]);
    let out = cli.run(&["model", "apply", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("3 problems").count(), 1, "{err}");
    assert!(cli.ok(&["model", "list"]).contains("default-b2b"));
    assert!(!cli.ok(&["model", "list"]).contains("v2"));

    let out = cli.run(&["model", "check", &bad, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"].as_array().unwrap().len(), 3);
    assert!(v["problems"][0]["line"].as_u64().unwrap() > 1);
}

#[test]
fn imports_report_bad_rows_keep_good_ones_and_are_idempotent() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let leads = cli.file("leads.csv", LEADS);
    let errors = cli.dir.path().join("errors.csv");
    let out = cli.run(&["import", "leads", &leads, "--errors", errors.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "rejected rows give exit code 3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("4 imported (4 new, 0 updated), 1 rejected; 1 warning"), "{stdout}");
    assert!(stderr.contains("line 4: email:"), "{stderr}");
    assert!(stderr.contains("line 6: employees: `many` is not a number; left out"), "{stderr}");
    let errors = std::fs::read_to_string(errors).unwrap();
    assert_eq!(
        errors.lines().collect::<Vec<_>>()[1..],
        [
            "4,rejected,email: `not-an-email` is not an email address (expected local@domain.tld)",
            "6,warning,employees: `many` is not a number; left out"
        ],
        "{errors}"
    );

    let events = cli.file(
        "events.jsonl",
        "{\"event_id\":\"e1\",\"email\":\"ana@acme.example\",\"type\":\"page_view\",\"ts\":\"2026-11-01T10:00:00Z\",\"properties\":{\"url\":\"/pricing\"}}\n\
         {\"event_id\":\"e2\",\"email\":\"ana@acme.example\",\"type\":\"demo_requested\",\"ts\":\"2026-11-02T10:00:00Z\"}\n\
         {\"event_id\":\"e3\",\"email\":\"new@lead.example\",\"type\":\"email_click\",\"ts\":\"2026-11-02T10:00:00Z\"}\n\
         {\"event_id\":\"e4\",\"email\":\"ana@acme.example\",\"type\":\"page view\",\"ts\":\"2026-11-02T10:00:00Z\"}\n\
         {\"event_id\":\"e5\",\"lead_id\":999,\"type\":\"email_open\",\"ts\":\"2026-11-02T10:00:00Z\"}\n",
    );
    let out = cli.run(&["import", "events", &events]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 imported, 0 duplicates skipped, 1 new leads, 2 rejected"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 4: event type `page view` is invalid"), "{stderr}");
    assert!(stderr.contains("line 5: no lead with id 999"), "{stderr}");

    let before = cli.ok(&["export", "scores"]);
    let out = cli.run(&["import", "events", &events]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 imported, 3 duplicates skipped, 0 new leads"));
    assert_eq!(cli.ok(&["export", "scores"]), before, "re-importing changes nothing");
    let stats = cli.ok(&["stats"]);
    assert!(stats.contains("leads      5") && stats.contains("events     3"), "{stats}");
}

#[test]
fn track_scores_incrementally_and_mql_fires_once_until_recycled() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    cli.ok(&[
        "leads",
        "upsert",
        "--email",
        "Ana@Acme.example",
        "--set",
        "job_title=VP Marketing",
        "--set",
        "employees=2500",
        "--set",
        "industry=software",
    ]);
    let track = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["track", "--lead", "ana@acme.example", "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&cli.ok(&all)).unwrap()
    };
    let first = track(&["--type", "page_view", "--prop", "url=/pricing", "--id", "v1"]);
    assert_eq!(first["status"], "accepted");
    assert_eq!(first["score"]["fit"], 45.0);
    assert_eq!(track(&["--type", "page_view", "--prop", "url=/pricing", "--id", "v1"])["status"], "duplicate");
    let demo = track(&["--type", "demo_requested", "--id", "d1"]);
    assert!(demo["score"]["total"].as_f64().unwrap() > first["score"]["total"].as_f64().unwrap());
    assert_eq!(demo["score"]["bucket"], "hot");
    assert_eq!(demo["became_mql"], true);
    let again = track(&["--type", "email_click", "--id", "c1"]);
    assert_eq!(again["became_mql"], false, "an MQL fires once");

    let show: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "ana@acme.example", "--json"])).unwrap();
    assert_eq!(show["lead"]["stage"], "mql");
    assert!(show["lead"]["mql_at"].is_string());
    let rules: Vec<&str> =
        show["explanation"]["engagement"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap()).collect();
    assert!(rules.contains(&"pricing_page") && rules.contains(&"demo_requested"), "{rules:?}");
    assert_eq!(show["timeline"].as_array().unwrap().len(), 3);
    let history = show["history"].as_array().unwrap();
    assert_eq!(history.len(), 4, "profile, then three events: {history:#?}");
    assert!(history.iter().any(|h| h["became_mql"] == true && h["cause"] == "event d1"));

    cli.ok(&["leads", "recycle", "ana@acme.example"]);
    let recycled: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "ana@acme.example", "--json"])).unwrap();
    assert_eq!(recycled["lead"]["stage"], "recycled");
    assert!(recycled["lead"]["mql_at"].is_null());
    assert_eq!(track(&["--type", "email_click", "--id", "c2"])["became_mql"], true, "qualifies again after recycling");

    // An event for an unknown email creates the lead.
    let out = cli.ok(&["track", "--lead", "someone@new.example", "--type", "form_submitted"]);
    assert!(out.contains("(new)"), "{out}");
}

#[test]
fn listing_models_and_deleting() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let leads = cli.file("leads.csv", LEADS);
    let _ = cli.run(&["import", "leads", &leads]);
    let hot_first = cli.ok(&["leads", "list", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(&hot_first).unwrap();
    let totals: Vec<f64> = rows.as_array().unwrap().iter().map(|r| r["score"]["total"].as_f64().unwrap()).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    let grade_a: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "list", "--grade", "A", "--json"])).unwrap();
    let emails: Vec<&str> = grade_a.as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["ana@acme.example", "dee@initech.example"], "fit 45 and 40, both A");

    // A new model version rescores everyone; the old one can come back.
    let strict = std::fs::read_to_string(workspace_root().join("crates/leadflow-core/src/model/default.toml"))
        .unwrap()
        .replace("name = \"default-b2b\"", "name = \"strict\"")
        .replace("points = 20\n", "points = 5\n");
    let strict = cli.file("strict.toml", &strict);
    let out = cli.ok(&["model", "apply", &strict]);
    assert!(out.contains("model v2 (strict) is active; rescored 4 leads"), "{out}");
    let listed = cli.ok(&["model", "list"]);
    assert!(listed.contains("strict") && listed.contains("default-b2b"), "{listed}");
    let ana: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "ana@acme.example", "--json"])).unwrap();
    assert_eq!(ana["lead"]["score"]["model_version"], 2);
    assert!(ana["history"].as_array().unwrap().iter().any(|h| h["cause"] == "model v2"));
    assert!(cli.ok(&["model", "activate", "1"]).contains("model v1 (default-b2b) is active"));
    assert!(cli.ok(&["model", "show"]).contains("name = \"default-b2b\""));

    assert!(cli.ok(&["leads", "delete", "ana@acme.example"]).contains("deleted"));
    let out = cli.run(&["leads", "show", "ana@acme.example"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lead ana@acme.example"));
}

#[test]
fn a_missing_database_is_explained() {
    let cli = Cli::new();
    let out = cli.run(&["leads", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("leadflow init"));
}

/// Kills an import mid-way: what was committed is whole, and running it again finishes it.
#[test]
fn a_killed_import_leaves_whole_batches_and_resumes() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let mut csv = String::from("event_id,email,type,url,ts\n");
    for i in 0..60_000 {
        csv.push_str(&format!("k{i},lead{}@example.com,page_view,/p{},2026-10-01T00:00:00Z\n", i % 5000, i % 7));
    }
    let events = cli.file("events.csv", &csv);
    import_killed_after(&cli, &events, 3000);
    let committed = events_stored(&cli);
    assert!(committed > 0);
    assert_eq!(committed % 1000, 0, "only whole batches land: {committed}");
    // Every event has its lead, every lead its score row, every event is indexed or deferred.
    assert_eq!(cli.ok(&["verify"]).trim(), "the database is consistent");

    let out = cli.ok(&["import", "events", &events]);
    assert!(out.contains(&format!("{} imported, {committed} duplicates skipped", 60_000 - committed)), "{out}");
    assert_eq!(events_stored(&cli), 60_000);
    let stats = cli.ok(&["stats"]);
    assert!(stats.contains("stale      0"), "{stats}");
}

#[test]
fn serve_logs_json_never_logs_secrets_and_stops_gracefully() {
    use std::io::BufRead;
    let cli = Cli::new();
    cli.ok(&["init"]);
    let created = cli.ok(&["keys", "create", "--name", "website", "--role", "ingest"]);
    let secret = created.split_whitespace().find(|w| w.starts_with("lf_")).expect("the secret is printed").to_string();
    let log = std::fs::File::create(cli.dir.path().join("serve.log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leadflow"))
        .args(["--db", cli.db().to_str().unwrap(), "serve", "--addr", "127.0.0.1:0"])
        .env("LEADFLOW_LOG__FORMAT", "json")
        .env_remove("LEADFLOW_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first.trim().rsplit("http://").next().unwrap().to_string();

    let body = r#"{"id": "e1", "email": "ana@acme.example", "type": "page_view"}"#;
    let request = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {secret}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, reply) = http(&addr, &request);
    assert_eq!(status, 200, "{reply}");
    let (status, _) =
        http(&addr, "GET /v1/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer lf_wrong\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 401);

    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success(), "SIGTERM stops the server cleanly");

    let log = std::fs::read_to_string(cli.dir.path().join("serve.log")).unwrap();
    assert!(!log.contains(&secret) && !log.contains("lf_wrong"), "no secret in the logs:\n{log}");
    let lines: Vec<serde_json::Value> =
        log.lines().filter(|l| !l.is_empty()).map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    let request_line = lines.iter().find(|l| l["route"] == "/v1/events").expect("the request is logged");
    assert_eq!((request_line["status"].as_u64(), request_line["caller"].as_str()), (Some(200), Some("website")));
    assert!(lines.iter().any(|l| l["status"] == 401));
    assert_eq!(events_stored(&cli), 1, "the acknowledged event is durable");
}

#[test]
fn backtest_and_compare_judge_models_against_outcomes() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    // Twenty leads: the ten with demo requests and senior titles convert, the others do not.
    let mut leads = String::from("email,job_title,employees,created_at\n");
    let mut events = String::from("event_id,email,type,url,ts\n");
    for i in 0..20 {
        let strong = i < 10;
        let title = if strong { "CTO" } else { "Student" };
        leads.push_str(&format!("l{i}@acme.example,{title},{},2026-01-01\n", if strong { 2000 } else { 5 }));
        events.push_str(&format!("v{i},l{i}@acme.example,page_view,/pricing,2026-02-01T00:00:00Z\n"));
        if strong {
            events.push_str(&format!("d{i},l{i}@acme.example,demo_requested,,2026-02-10T00:00:00Z\n"));
        }
        // Activity after the outcome must not count: everyone "attends a webinar" later.
        events.push_str(&format!("w{i},l{i}@acme.example,webinar_attended,,2026-04-01T00:00:00Z\n"));
    }
    cli.ok(&["import", "leads", &cli.file("leads.csv", &leads)]);
    cli.ok(&["import", "events", &cli.file("events.csv", &events)]);
    for i in 0..20 {
        let outcome = if i < 10 { "won" } else { "lost" };
        cli.ok(&["leads", "outcome", &format!("l{i}@acme.example"), outcome, "--at", "2026-03-01"]);
    }
    let chart = cli.dir.path().join("gains.svg");
    let out = cli.ok(&["backtest", "--before-outcome", "7", "--json", "--chart", chart.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((report["leads"].as_u64(), report["converted"].as_u64()), (Some(20), Some(10)));
    assert_eq!(report["auc"].as_f64(), Some(1.0), "the default model separates them: {out}");
    assert_eq!(report["deciles"].as_array().unwrap().len(), 10);
    assert!(report["buckets"].as_array().unwrap().iter().any(|b| b["name"] == "hot"));
    assert!(std::fs::read_to_string(&chart).unwrap().starts_with("<svg"));

    // A model that knows nothing ranks at chance, and every lead it moves is listed with why.
    let flat = cli.file(
        "flat.toml",
        "name = \"flat\"\n[fit]\nmin = 0\nmax = 50\n[[fit.rules]]\nid = \"cfo\"\nfield = \"job_title\"\n\
         op = \"contains_phrase\"\nvalues = [\"cfo\"]\npoints = 5\n[engagement]\nhalf_life_days = 30\n\
         [[engagement.rules]]\nid = \"any_view\"\nevent = \"page_view\"\npoints = 1\n",
    );
    let out = cli.ok(&[
        "compare",
        workspace_root().join("crates/leadflow-core/src/model/default.toml").to_str().unwrap(),
        &flat,
        "--json",
    ]);
    let c: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(c["b"]["report"]["auc"].as_f64(), Some(0.5));
    assert!(c["moved"].as_u64().unwrap() > 0);
    let first = &c["moves"][0];
    assert!(first["reasons"].as_array().unwrap().iter().any(|r| r["rule"].as_str().is_some()), "{first}");
    let text = cli.ok(&[
        "compare",
        workspace_root().join("crates/leadflow-core/src/model/default.toml").to_str().unwrap(),
        &flat,
    ]);
    assert!(text.contains("ROC AUC") && text.contains("changed bucket"), "{text}");
    // Scored as of a date before anything happened: the post-outcome webinars must not leak in.
    let early = cli.ok(&["backtest", "--as-of", "2026-02-05", "--json"]);
    let early: serde_json::Value = serde_json::from_str(&early).unwrap();
    assert!(early["auc"].as_f64().unwrap() >= 0.5);

    // A points model learned from these outcomes is a model file like any other.
    let learned = cli.dir.path().join("learned.toml");
    let out = cli.ok(&["train", "--out", learned.to_str().unwrap(), "--before-outcome", "7"]);
    assert!(out.contains("learned `learned` from 20 leads (10 converted)"), "{out}");
    cli.ok(&["model", "check", learned.to_str().unwrap()]);
    let source = std::fs::read_to_string(&learned).unwrap();
    assert!(source.contains("event = \"demo_requested\""), "{source}");
    let judged: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "backtest",
        "--model",
        learned.to_str().unwrap(),
        "--before-outcome",
        "7",
        "--json",
    ]))
    .unwrap();
    assert_eq!(judged["auc"].as_f64(), Some(1.0), "{source}");
    assert_eq!(judged["in_sample"], 20, "judged on the leads it learned from, and says so: {judged}");
    let text = cli.ok(&["backtest", "--model", learned.to_str().unwrap(), "--before-outcome", "7"]);
    assert!(text.contains("WARNING: 20 of these 20 leads are ones the model learned from"), "{text}");
    let by_hand: serde_json::Value = serde_json::from_str(&cli.ok(&["backtest", "--json"])).unwrap();
    assert_eq!(by_hand["in_sample"], 0, "a model written by hand learned from no one");
    cli.ok(&["model", "apply", learned.to_str().unwrap()]);

    let out = cli.run(&["backtest", "--as-of", "2020-01-01"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("leaves no lead"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn outcomes_come_in_with_leads_and_bad_ones_are_reported() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let csv = "Email,Job Title,Converted,Close Date\n\
               a@acme.example,CTO,1,2026-03-01\n\
               b@acme.example,Student,0,2026-03-02\n\
               c@acme.example,CEO,maybe,2026-03-03\n\
               d@acme.example,Intern,,\n";
    let out = cli.run(&["import", "leads", &cli.file("leads.csv", csv)]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4") && err.contains("`maybe` is neither won"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&cli.ok(&["backtest", "--json"])).unwrap();
    assert_eq!((report["leads"].as_u64(), report["converted"].as_u64()), (Some(2), Some(1)), "{report}");
}

#[test]
fn trees_learn_a_calibrated_chance_and_say_why() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let (mut leads, mut events) =
        (String::from("email,job_title,created_at\n"), String::from("event_id,email,type,ts\n"));
    for i in 0..1500 {
        let demo = i % 3 == 0;
        leads.push_str(&format!("t{i}@acme.example,Analyst,2026-01-01\n"));
        events.push_str(&format!("v{i},t{i}@acme.example,page_view,2026-02-01T00:00:00Z\n"));
        if demo {
            events.push_str(&format!("d{i},t{i}@acme.example,demo_requested,2026-02-05T00:00:00Z\n"));
        }
    }
    cli.ok(&["import", "leads", &cli.file("leads.csv", &leads)]);
    cli.ok(&["import", "events", &cli.file("events.csv", &events)]);
    let mut outcomes = String::from("email,outcome,outcome_at\n");
    for i in 0..1500 {
        // Demo requests convert four times in five; everyone else one time in ten.
        let demo = i % 3 == 0;
        let converted = if demo { i % 5 != 0 } else { i % 10 == 0 };
        outcomes.push_str(&format!("t{i}@acme.example,{},2026-03-01\n", if converted { "won" } else { "lost" }));
    }
    cli.ok(&["import", "leads", &cli.file("outcomes.csv", &outcomes)]);

    let model = cli.dir.path().join("trees.json");
    let out = cli.ok(&["train", "--kind", "trees", "--out", model.to_str().unwrap(), "--before-outcome", "7"]);
    let auc: f64 = out.split("cross-validated ROC AUC ").nth(1).unwrap()[..6].parse().unwrap();
    assert!(auc > 0.7, "{out}");
    // A trees file someone edited or cut short is refused with the reason, never followed.
    let trees: serde_json::Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert_eq!(trees["format"], 1);
    let broken = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut t = trees.clone();
        edit(&mut t);
        cli.file(name, &t.to_string())
    };
    let split = trees["model"]["trees"][0]["nodes"].as_array().unwrap().iter().position(|n| n.get("Split").is_some());
    for (file, needle) in [
        (cli.file("cut.json", &trees.to_string()[..500]), "EOF while parsing"),
        (broken("newer.json", &|t| t["format"] = 99.into()), "format 99 is newer"),
        (
            broken("loop.json", &|t| t["model"]["trees"][0]["nodes"][split.unwrap()]["Split"]["left"] = 0.into()),
            "a split that leads nowhere",
        ),
        (broken("nodes.json", &|t| t["model"]["trees"][0]["nodes"] = serde_json::json!([])), "has no nodes"),
        (
            broken("spec.json", &|t| t["spec"]["event_types"].as_array_mut().unwrap().push("extra".into())),
            "feature list describes",
        ),
        (broken("field.json", &|t| t["spec"]["text_fields"][0] = "no such field".into()), "is not a field"),
    ] {
        let out = cli.run(&["predict", "--model", &file, "t3@acme.example"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{file}: {err}");
        assert!(err.contains("not trees from `leadflow train --kind trees`") && err.contains(needle), "{file}: {err}");
    }
    // As of when the training saw these leads (a week before their outcomes).
    let args = ["predict", "--model", model.to_str().unwrap(), "t3@acme.example", "t1@acme.example"];
    let out = cli.ok(&[&args[..], &["--as-of", "2026-02-22", "--json"]].concat());
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (demo, none) = (p[0]["probability"].as_f64().unwrap(), p[1]["probability"].as_f64().unwrap());
    assert!((demo - 0.8).abs() < 0.1 && (none - 0.1).abs() < 0.1, "calibrated near 80% and 10%: {demo} {none}");
    assert_eq!(p[0]["factors"][0]["feature"], "demo_requested events", "{out}");
    // The ranking is of the leads sales can still act on: those without an outcome.
    cli.ok(&[
        "import",
        "leads",
        &cli.file("open.csv", "Prospect ID,Company\nP-1,Acme\nP-2,Acme\nP-3,Acme\nP-4,Acme\n"),
    ]);
    let out = cli.run(&["predict", "--model", model.to_str().unwrap(), "--top", "3"]);
    let (top, note) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(top.lines().count(), 3, "{top}");
    assert!(top.lines().all(|l| l.contains(" P-")), "named by their CRM id: {top}");
    assert!(note.contains("1500 leads with an outcome left out"), "{note}");
    let judged: serde_json::Value = serde_json::from_str(&cli.ok(&[
        "backtest",
        "--trees",
        model.to_str().unwrap(),
        "--before-outcome",
        "7",
        "--json",
    ]))
    .unwrap();
    assert!(judged["auc"].as_f64().unwrap() > 0.8, "{judged}");
    assert_eq!(judged["in_sample"], judged["leads"], "judged on the leads it learned from, and says so");
    assert_eq!(judged["calibration"].as_array().unwrap().len(), 10);

    // Applied: stored as a version, every lead predicted, and the prediction shown with the lead.
    let out = cli.ok(&["predict", "--model", model.to_str().unwrap(), "--apply"]);
    assert!(out.contains("trained model 1 is active: 1504 leads predicted"), "{out}");
    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "t3@acme.example", "--json"])).unwrap();
    assert_eq!(shown["prediction"]["model_version"], 1);
    assert!(shown["prediction"]["probability"].as_f64().unwrap() > 0.0);
    assert!(cli.ok(&["leads", "show", "t3@acme.example"]).contains("chance to convert"));
    assert!(cli.ok(&["predict", "--apply"]).contains("trained model 1 is active: 1504 leads predicted"));
    assert!(cli.ok(&["rescore", "--all"]).contains("1504 leads predicted"), "a rescore refreshes predictions");
    let default = workspace_root().join("crates/leadflow-core/src/model/default.toml");
    let applied = cli.ok(&["model", "apply", default.to_str().unwrap()]);
    assert!(applied.contains("1504 leads predicted"), "so does a model's activation, wherever it starts: {applied}");
    assert_eq!(cli.ok(&["predict", "t3@acme.example"]).lines().count(), 1, "the active model by default");
}

#[test]
fn leads_without_emails_are_named_by_their_crm_id() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let mapping = cli.file("m.toml", "[columns]\n\"Prospect ID\" = \"external_id\"\n\"Converted\" = \"outcome\"\n");
    let csv = "Prospect ID,Converted,Lead Source\n7927b2df-8bba,1,Olark Chat\n2a272436/5132,0,Organic Search\n,1,Ads\n\
               00Q5g000004XyZA,0,Ads\n00Q5g000004XyZa,0,Ads\n";
    let out = cli.run(&["import", "leads", &cli.file("x.csv", csv), "--mapping", &mapping]);
    assert_eq!(out.status.code(), Some(3), "the row without an id is reported");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 4: no email and no external id"));
    let shown: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "7927b2df-8bba", "--json"])).unwrap();
    assert_eq!((&shown["lead"]["external_id"], &shown["lead"]["email"]), (&json!("7927b2df-8bba"), &json!(null)));
    assert!(shown["lead"]["custom"].get("external_id").is_none());
    assert!(cli.ok(&["leads", "show", "2a272436/5132"]).starts_with("lead 2  2a272436/5132"));
    let upper: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "00Q5g000004XyZA", "--json"])).unwrap();
    let lower: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "00Q5g000004XyZa", "--json"])).unwrap();
    assert_ne!(upper["lead"]["id"], lower["lead"]["id"], "ids that differ by case are two leads");
    let report: serde_json::Value = serde_json::from_str(&cli.ok(&["backtest", "--json"])).unwrap();
    assert_eq!((report["leads"].as_u64(), report["converted"].as_u64()), (Some(4), Some(1)));

    // The CRM later knows an email: the same lead gets it. Events name leads by the CRM's id.
    cli.ok(&["import", "leads", &cli.file("y.csv", "Lead ID,Email\n7927b2df-8bba,Ana@Acme.example\n")]);
    let named: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "ana@acme.example", "--json"])).unwrap();
    assert_eq!((&named["lead"]["id"], &named["lead"]["external_id"]), (&shown["lead"]["id"], &json!("7927b2df-8bba")));
    let events =
        "Lead ID,Activity Type,Activity Date\n00Q5g000004XyZa,page_view,2026-03-01\nnew-in-crm,page_view,2026-03-02\n";
    cli.ok(&["import", "events", &cli.file("e.csv", events)]);
    let lower_after: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "show", "00Q5g000004XyZa", "--json"])).unwrap();
    assert_eq!(lower_after["timeline"].as_array().map(Vec::len), Some(1));
    cli.ok(&["leads", "show", "new-in-crm"]);
    let export = cli.ok(&["export", "scores"]);
    assert!(export.lines().any(|l| l.ends_with(",,00Q5g000004XyZA")), "{export}");
    assert!(export.lines().any(|l| l.ends_with(",ana@acme.example,7927b2df-8bba")), "{export}");
}

/// The small things a new user trips on.
#[test]
fn output_that_behaves() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let mut csv = String::from("email,first_name,Postal Code,Lead ID\n");
    for i in 0..3000 {
        csv.push_str(&format!("lead{i}@acme.example,Name{i},0{i:04},00Q{i}Ab\n"));
    }
    csv.push_str("esc@acme.example,\"Evil\u{1b}[2J\u{202e}Name\",02134,X\n");
    cli.ok(&["import", "leads", &cli.file("leads.csv", &csv)]);

    // Piped into `head`: a quiet end, no panic, whichever command it is.
    for args in [&["leads", "list", "--limit", "3001"][..], &["export", "scores"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leadflow"))
            .arg("--db")
            .arg(cli.db())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("panicked"), "{args:?}: {:?} {stderr}", out.status);
    }

    let export = cli.ok(&["export", "scores"]);
    let mut lines = export.lines();
    assert_eq!(lines.next(), Some("lead_id,fit,engagement,total,bucket,grade,email,external_id"));
    assert!(export.contains(",lead7@acme.example,00Q7Ab\n"), "the email and the CRM id join back");
    assert_eq!(export.lines().count(), 3002);

    let shown = cli.ok(&["leads", "show", "lead7@acme.example"]);
    assert!(shown.contains("custom.postal_code 00007"), "values, not Debug text: {shown}");
    assert!(!shown.contains("Text(") && !shown.contains("-0.0"), "{shown}");
    let listed = cli.ok(&["leads", "list", "--search", "Evil"]);
    assert!(!listed.contains('\u{1b}') && !listed.contains('\u{202e}'), "escaped: {listed}");
    assert!(listed.contains("Evil\\u{1b}[2J\\u{202e}Name"), "{listed}");

    assert!(cli.ok(&["rescore"]).contains("nothing to rescore"));
    assert!(cli.ok(&["leads", "list", "--bucket", "COLD", "--limit", "1"]).contains("lead"));
    let out = cli.run(&["leads", "list", "--bucket", "hott"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no bucket `hott`"));
}

/// A rule on an event type, property or custom field that the database has never seen is valid
/// (the data may come later) but warned about, with what there is.
#[test]
fn model_check_warns_of_rules_that_match_nothing_yet() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    cli.ok(&["track", "--lead", "ana@acme.example", "--type", "page_view", "--prop", "url=/pricing"]);
    cli.ok(&["leads", "upsert", "--email", "ana@acme.example", "--set", "custom.budget=5000"]);
    let source = std::fs::read_to_string(workspace_root().join("crates/leadflow-core/src/model/default.toml"))
        .unwrap()
        .replacen("event = \"page_view\"", "event = \"page_veiw\"", 1);
    let file = cli.file("typo.toml", &source);
    let out = cli.run(&["model", "check", &file]);
    assert!(out.status.success(), "a warning is not an error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: line") && err.contains("no event has had type `page_veiw`"), "{err}");
    assert!(err.contains("(the types there are: page_view)"), "{err}");
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["model", "check", &file, "--json"])).unwrap();
    assert!(json["warnings"].as_array().unwrap().iter().any(|w| w["path"].as_str().unwrap().ends_with(".event")));
    // Without a database there is nothing to compare with.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadflow"))
        .args(["--db", cli.dir.path().join("none.db").to_str().unwrap(), "model", "check", &file])
        .output()
        .unwrap();
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("warning"));
}

/// A column filled only for leads that converted (a CRM's "Won Reason", a close date) lets a
/// model "predict" perfectly what it was told: training says so, loudly, for both kinds.
#[test]
fn training_warns_of_a_feature_that_leaks_the_outcome() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let mut csv = String::from("email,job_title,Won Reason,Signed On,Newsletter,outcome,outcome_at\n");
    for i in 0..400 {
        let won = i % 4 == 0;
        let (reason, signed) = if won { ("price", "2026-02-01") } else { ("", "") };
        let title = ["CTO", "Analyst", "VP Sales", "Intern"][i % 4 / 2 + (i % 3 == 0) as usize];
        let newsletter = if i % 2 == 0 { "yes" } else { "no" };
        let outcome = if won { "won" } else { "lost" };
        csv.push_str(&format!("l{i}@acme.example,{title},{reason},{signed},{newsletter},{outcome},2026-03-01\n"));
    }
    cli.ok(&["import", "leads", &cli.file("leads.csv", &csv)]);
    let out_file = cli.dir.path().join("learned.toml");
    let out = cli.run(&["train", "--out", out_file.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARNING: `custom.won_reason = price` alone separates won from lost"), "{err}");
    let trees = cli.dir.path().join("trees.json");
    let out = cli.run(&["train", "--kind", "trees", "--out", trees.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("WARNING: `custom.won_reason` alone separates won from lost"), "{err}");
    assert!(err.contains("by having a value at all"), "{err}");
    assert!(err.contains("`days since custom.signed_on` alone separates"), "dates are features: {err}");
    assert!(err.contains("too good to be true"), "{err}");
    // Booleans are features too.
    let learned: serde_json::Value = serde_json::from_slice(&std::fs::read(&trees).unwrap()).unwrap();
    assert!(learned["spec"]["text_fields"].as_array().unwrap().iter().any(|f| f == "custom.newsletter"), "{learned}");
    assert_eq!(learned["spec"]["date_fields"], serde_json::json!(["custom.signed_on"]));
}

/// An event dated days ahead (a wrong date or format) is rejected with its line, wherever it
/// comes from; the rest go in.
#[test]
fn events_from_the_future_are_refused() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let csv = "event_id,email,type,ts\nf1,ana@acme.example,page_view,2026-01-05T10:00:00Z\nf2,ana@acme.example,page_view,2099-01-01\n";
    let out = cli.run(&["import", "events", &cli.file("events.csv", csv)]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3: ts: 2099-01-01T00:00:00Z is more than a day ahead"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 imported"));
    // An id another lead's event has already is no duplicate of this one: it is refused, saying why.
    let reused = "event_id,email,type,ts\nf1,ben@acme.example,page_view,2026-01-06T10:00:00Z\n";
    let out = cli.run(&["import", "events", &cli.file("reused.csv", reused)]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2: event id `f1` is another lead's event"));
    let out = cli.run(&["track", "--lead", "ana@acme.example", "--type", "page_view", "--ts", "2099-01-01"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("more than a day ahead"));
}

/// `leads upsert` reads its fields with the same parser as the API: errors name the field,
/// `FIELD=` empties one, a lead can be named by its CRM id alone.
#[test]
fn upserts_by_hand_read_fields_like_the_api() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    cli.ok(&["leads", "upsert", "--set", "external_id=00Q5gA", "--set", "company=Acme", "--set", "custom.zip=02134"]);
    cli.ok(&["leads", "upsert", "--set", "external_id=00Q5gA", "--set", "company=", "--set", "custom.seats=12"]);
    let shown: serde_json::Value = serde_json::from_str(&cli.ok(&["leads", "show", "00Q5gA", "--json"])).unwrap();
    let lead = &shown["lead"];
    assert_eq!((&lead["email"], &lead["company"]), (&json!(null), &json!(null)), "{lead}");
    assert_eq!(lead["custom"]["zip"], json!({"type": "text", "value": "02134"}));
    assert_eq!(lead["custom"]["seats"], json!({"type": "number", "value": 12.0}));
    for (set, needle) in [("jobtitle=CTO", "unknown field `jobtitle`"), ("employees=-4", "below zero")] {
        let out = cli.run(&["leads", "upsert", "--set", "external_id=00Q5gA", "--set", set]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{set}: {err}");
    }
    let out = cli.run(&["leads", "upsert", "--set", "company=Nobody"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("name the lead with `email` or `external_id`"));
}

/// The database is named by a URL (`--database-url`, `LEADFLOW_DATABASE_URL`); `--db FILE` is
/// sugar for `sqlite://FILE`; a URL no backend of this build takes is refused, saying which are.
#[test]
fn a_database_url_names_the_database() {
    let cli = Cli::new();
    let other = cli.dir.path().join("other.db");
    let url = format!("sqlite://{}", other.display());
    assert!(cli.ok(&["--database-url", &url, "init"]).contains("created"));
    assert!(other.exists() && !cli.db().exists(), "the URL wins over --db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadflow"))
        .args(["leads", "list"])
        .env("LEADFLOW_DATABASE_URL", &url)
        .env_remove("LEADFLOW_DB")
        .current_dir(cli.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (bad, needle) in [("mysql://db/leads", "no backend for `mysql://`"), ("leadflow.db", "not a database URL")] {
        let out = cli.run(&["--database-url", bad, "leads", "list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(needle), "{bad}: {err}");
    }
}
