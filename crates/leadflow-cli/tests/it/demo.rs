//! `leadflow demo`: the database a newcomer looks at first must show what leadflow is for.

use crate::common::Cli;

/// The conversion rate of `bucket` in a `backtest --json` report.
fn conversion(report: &serde_json::Value, bucket: &str) -> f64 {
    let buckets = report["buckets"].as_array().expect("a report lists its buckets");
    let found = buckets.iter().find(|b| b["name"] == bucket).unwrap_or_else(|| panic!("no bucket {bucket}: {report}"));
    found["rate"].as_f64().unwrap()
}

/// How many leads `pipeline stages` shows in `stage`.
fn leads_in(stages: &str, stage: &str) -> u64 {
    stages
        .lines()
        .find_map(|line| {
            let mut cells = line.split_whitespace();
            (cells.next() == Some(stage)).then(|| cells.next().unwrap().parse().unwrap())
        })
        .unwrap_or(0)
}

#[test]
fn the_demo_has_outcomes_the_default_model_ranks_and_a_sales_history() {
    let cli = Cli::new();
    let out = cli.ok(&["demo", "--out", cli.db().to_str().unwrap(), "--leads", "1500"]);

    // Scored as of a week before each outcome, so that the sales conversation's last days
    // do not count: the default model's fit and engagement rules still rank the outcomes.
    let report: serde_json::Value =
        serde_json::from_str(&cli.ok(&["backtest", "--before-outcome", "7", "--json"])).unwrap();
    let auc = report["auc"].as_f64().unwrap();
    assert!(auc > 0.7, "the default model ranks the demo's outcomes well: ROC AUC {auc}\n{report}");
    let (hot, cold) = (conversion(&report, "hot"), conversion(&report, "cold"));
    assert!(hot > 2.0 * cold, "hot leads convert clearly more often than cold ones: {hot} and {cold}");

    let stages = cli.ok(&["pipeline", "stages", "inbound-b2b"]);
    assert!(leads_in(&stages, "won") > 0 && leads_in(&stages, "lost") > 0, "{stages}");
    assert!(["new", "working", "meeting"].iter().any(|s| leads_in(&stages, s) > 0), "open deals:\n{stages}");

    // The lead the demo points to went from MQL to won, and its log never goes back in time.
    let lead = out
        .lines()
        .find_map(|l| l.split_once(" leads changes ").map(|(_, rest)| rest.split_whitespace().next().unwrap()))
        .unwrap_or_else(|| panic!("the demo names a lead to follow:\n{out}"));
    let changes: serde_json::Value = serde_json::from_str(&cli.ok(&["leads", "changes", lead, "--json"])).unwrap();
    let times: Vec<&str> = changes["changes"].as_array().unwrap().iter().map(|c| c["at"].as_str().unwrap()).collect();
    assert!(times.is_sorted_by(|newer, older| newer >= older), "newest first, times never rise: {times:?}");
    let became = |field: &str| -> Vec<&str> {
        let changes = changes["changes"].as_array().unwrap().iter().rev();
        changes.filter(|c| c["field"] == field).map(|c| c["new"]["value"].as_str().unwrap()).collect()
    };
    assert_eq!(became("stage"), ["mql", "sql", "opportunity", "customer"], "{changes}");
    assert_eq!(became("pipeline_stage").last(), Some(&"won"), "{changes}");

    // The sales team worked under the hand-off SLA: most answers on time, some late or never.
    let users: serde_json::Value = serde_json::from_str(&cli.ok(&["users", "list", "--json"])).unwrap();
    assert_eq!(users["users"].as_array().map(Vec::len), Some(6), "{users}");
    let sla: serde_json::Value =
        serde_json::from_str(&cli.ok(&["sla", "compliance", "--from", "2020-01-01", "--json"])).unwrap();
    let total = &sla["total"];
    let count = |k: &str| total[k].as_u64().unwrap();
    assert!(count("met_on_time") > count("met_late") && count("breached") > 0, "{sla}");
    let rate = total["rate"].as_f64().unwrap();
    assert!((0.4..0.9).contains(&rate), "some breaches, not all: {sla}");
    let accept = sla["rules"].as_array().unwrap().iter().filter(|r| r["rule"] == "accept-mql");
    assert!(accept.map(|r| r["met_on_time"].as_u64().unwrap()).sum::<u64>() > 0, "{sla}");
    let queue: serde_json::Value =
        serde_json::from_str(&cli.ok(&["queue", "--owner", "sam@yourco.example", "--json"])).unwrap();
    assert!(!queue["leads"].as_array().unwrap().is_empty(), "{queue}");
    let done: serde_json::Value = serde_json::from_str(&cli.ok(&["tasks", "list", "--all", "--json"])).unwrap();
    let statuses: Vec<&str> = done["tasks"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"done") && statuses.contains(&"cancelled"), "first calls made, closed leads' left");
}
