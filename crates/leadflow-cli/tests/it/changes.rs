//! `leadflow leads changes`: what an import and a command changed, on both backends, as a user
//! reads it (text and `--json`).

use crate::common::Cli;

#[test]
fn the_change_log_shows_what_each_import_and_command_changed() {
    the_change_log_on(Cli::new());
}

#[test]
fn the_change_log_shows_what_each_import_and_command_changed_on_postgres() {
    the_change_log_on(Cli::on_postgres());
}

fn the_change_log_on(cli: Cli) {
    cli.ok(&["init"]);
    let first = cli.file("first.csv", "email,job_title,plan\nana@acme.example,Engineer,basic\n");
    let second = cli.file("second.csv", "email,job_title,plan\nana@acme.example,CTO,02134\n");
    cli.ok(&["import", "leads", &first]);
    cli.ok(&["import", "leads", &second]);
    cli.ok(&["leads", "upsert", "--email", "ana@acme.example", "--set", "owner=bo"]);

    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "changes", "ana@acme.example", "--json"])).unwrap();
    let seen: Vec<String> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let value = |v: &serde_json::Value| v["value"].as_str().map_or("-".to_string(), str::to_string);
            let actor = c["actor"].as_str().map_or("-", |a| if a.ends_with("second.csv") { "second.csv" } else { a });
            format!(
                "{} {}->{} {} {}",
                c["field"].as_str().unwrap(),
                value(&c["old"]),
                value(&c["new"]),
                c["cause"].as_str().unwrap(),
                actor
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "owner -->bo cli -",
            "custom.plan basic->02134 import second.csv",
            "job_title Engineer->CTO import second.csv"
        ],
        "newest first; the zip-like plan stays text"
    );
    let text = cli.ok(&["leads", "changes", "ana@acme.example"]);
    assert!(text.contains("job_title") && text.contains("Engineer") && text.contains("CTO"), "{text}");
    assert!(!cli.run(&["leads", "changes", "nobody@acme.example"]).status.success());

    // The stages it went through, from the log: created as a lead, then recycled.
    cli.ok(&["leads", "recycle", "ana@acme.example"]);
    let stages: serde_json::Value =
        serde_json::from_str(&cli.ok(&["leads", "stages", "ana@acme.example", "--json"])).unwrap();
    let names: Vec<&str> = stages["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["lead", "recycled"]);
    assert!(stages["stages"][1]["until"].is_null(), "still recycled");
    assert_eq!(stages["stages"][0]["until"], stages["stages"][1]["from"]);
    assert!(cli.ok(&["leads", "stages", "ana@acme.example"]).contains("recycled"));
}
