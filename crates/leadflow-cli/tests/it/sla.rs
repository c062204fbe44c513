//! `leadflow sla ...`, `leadflow leads accept` and `leadflow leads reject`, on both backends, as
//! a user reads them.

use crate::common::{Cli, workspace_root};

#[test]
fn sla_clocks_start_with_an_owner_and_decisions_and_touches_meet_them() {
    sla_on(Cli::new());
}

#[test]
fn sla_clocks_start_with_an_owner_and_decisions_and_touches_meet_them_on_postgres() {
    sla_on(Cli::on_postgres());
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn sla_on(cli: Cli) {
    let policy = workspace_root().join("examples/sla-handoff.toml");
    let policy = policy.to_str().unwrap();
    let broken =
        cli.file("broken.toml", "name = \"broken\"\n\n[[rules]]\nid = \"x\"\nstarts = \"mql\"\nwithin = \"4 hours\"\n");
    let out = cli.run(&["sla", "check", &broken]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("line 6") && said.contains("within"), "{said}");
    assert!(cli.ok(&["sla", "check", policy]).contains("valid SLA policy `marketing-to-sales`"));

    cli.ok(&["init"]);
    assert!(cli.ok(&["sla", "show"]).contains("no SLA policy is in use"));
    assert!(cli.ok(&["sla", "apply", policy]).contains("is in use"));
    assert!(cli.ok(&["sla", "show"]).contains("reject_reasons"));
    cli.ok(&["users", "put", "ana", "--zone", "Europe/Berlin", "--team", "emea"]);
    for email in ["max@firma.example", "eva@firma.example"] {
        cli.ok(&["leads", "upsert", "--email", email]);
        cli.ok(&["leads", "assign", email, "ana"]);
    }
    let clocks = json(&cli.ok(&["sla", "clocks", "--lead", "max@firma.example", "--json"]));
    assert_eq!(clocks[0]["rule"], "first-touch");
    assert_eq!((clocks[0]["owner"].as_str(), clocks[0]["state"].as_str()), (Some("ana"), Some("pending")));

    // A call done is the first touch; a rejection needs one of the policy's reasons.
    let added = cli.ok(&["tasks", "add", "max@firma.example", "--title", "Intro call", "--due", "2030-01-01"]);
    let id = added.split_whitespace().find_map(|w| w.trim_start_matches('#').parse::<i64>().ok()).expect(&added);
    cli.ok(&["tasks", "done", &id.to_string(), "--note", "booked a demo"]);
    let clocks = json(&cli.ok(&["sla", "clocks", "--lead", "max@firma.example", "--json"]));
    assert_eq!((clocks[0]["rule"].as_str(), clocks[0]["state"].as_str()), (Some("first-touch"), Some("met_on_time")));
    assert_eq!(clocks[0]["met_by"], "touched");
    let refused = cli.run(&["leads", "reject", "eva@firma.example", "--reason", "too small"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains("not a fit, duplicate"), "{said}");
    let said = cli.ok(&["leads", "reject", "eva@firma.example", "--reason", "Duplicate"]);
    assert!(said.contains("rejected (duplicate)"), "{said}");
    assert!(cli.ok(&["leads", "accept", "max@firma.example"]).contains("accepted"));
    let shown = cli.ok(&["leads", "show", "max@firma.example"]);
    assert!(shown.contains("sql"), "{shown}");

    let table = cli.ok(&["sla", "clocks"]);
    assert!(table.contains("first-touch") && table.contains("stopped: the lead was rejected"), "{table}");
    let report = json(&cli.ok(&["sla", "compliance", "--json"]));
    assert_eq!(report["total"]["met_on_time"], 1, "{report}");
    assert_eq!(report["total"]["rate"], 1.0);
    assert_eq!(report["teams"][0]["team"], "emea");
    let text = cli.ok(&["sla", "compliance"]);
    assert!(text.contains("100%") && text.contains("ana"), "{text}");
}
