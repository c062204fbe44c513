//! The same thing has the same JSON everywhere: what `--json` prints is what the API answers.

use crate::common::{Cli, ServeProcess, key, workspace_root};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn the_cli_and_the_api_speak_one_dialect() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let admin = key(&cli, "admin");
    let server = ServeProcess::start(&cli, &[]);

    // A model's check, valid (with warnings about this database) or not.
    let default = workspace_root().join("crates/leadflow-core/src/model/default.toml");
    let source = std::fs::read_to_string(&default).unwrap();
    let broken = source.replace("field = \"job_title\"", "field = \"jobtitle\"");
    for (name, text) in [("good.toml", &source), ("broken.toml", &broken)] {
        let file = cli.file(name, text);
        let printed = cli.run(&["model", "check", &file, "--json"]);
        let body = serde_json::json!({ "source": text }).to_string();
        let (status, _, answered) = server.call(&admin, "POST", "/v1/models/validate", Some(&body));
        assert_eq!(status, 200, "{answered}");
        assert_eq!(json(&String::from_utf8_lossy(&printed.stdout)), json(&answered), "{name}");
    }

    // An event: accepted with the lead's new score, then a duplicate.
    let printed = cli.ok(&["track", "--lead", "ana@acme.example", "--type", "page_view", "--id", "e1", "--json"]);
    let body = r#"{"id": "e2", "email": "ana@acme.example", "type": "page_view"}"#;
    let (status, _, answered) = server.call(&admin, "POST", "/v1/events", Some(body));
    assert_eq!(status, 200, "{answered}");
    let (printed, answered) = (json(&printed), json(&answered));
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&printed), keys(&answered));
    assert_eq!(keys(&printed["score"]), keys(&answered["score"]));
    assert_eq!((&printed["lead_id"], &printed["created_lead"]), (&answered["lead_id"], &serde_json::json!(true)));
    let again = cli.ok(&["track", "--lead", "ana@acme.example", "--type", "page_view", "--id", "e1", "--json"]);
    let (_, _, answered) = server.call(&admin, "POST", "/v1/events", Some(body));
    assert_eq!(json(&again), json(&answered), "a duplicate");

    // A filter is refused with the same words.
    for (flag, param) in [(["--bucket", "hott"], "bucket=hott"), (["--stage", "qualified"], "stage=qualified")] {
        let out = cli.run(&[&["leads", "list"][..], &flag[..]].concat());
        let printed = String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("error: ").to_string();
        let (status, _, answered) = server.call(&admin, "GET", &format!("/v1/leads?{param}"), None);
        assert_eq!(status, 400);
        assert_eq!(printed, json(&answered)["error"]["message"].as_str().unwrap(), "{param}");
    }
}
