//! The engine's integration tests, one binary, through the real SQLite store.

mod assignment;
mod changes;
mod enrollments;
mod event_properties;
mod identities;
mod imports;
mod incremental;
mod jobs;
mod pipelines;
mod public_tracking;
mod reports;
mod sla;
mod tasks;

/// The example inbound pipeline without the tasks its stages give: for tests that count tasks
/// of their own.
pub fn inbound_without_stage_tasks() -> String {
    let source = include_str!("../../../../examples/pipeline-inbound-b2b.toml");
    let mut kept = Vec::new();
    let mut in_tasks = false;
    for line in source.lines() {
        if line.starts_with('[') {
            in_tasks = line == "[[stages.tasks]]";
        } else if line.trim().is_empty() {
            in_tasks = false;
        }
        if !in_tasks {
            kept.push(line);
        }
    }
    let stripped = kept.join("\n");
    assert!(!stripped.contains("stages.tasks") && stripped.len() < source.len());
    stripped
}

/// Companies of 50+ people score 30, a demo request 40: a demo request from a company that size
/// makes an MQL.
pub const MID_MARKET_MODEL: &str = r#"
name = "mid-market"
[fit]
min = 0
max = 30
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 30
[engagement]
min = 0
max = 100
[[engagement.rules]]
id = "demo"
event = "demo_requested"
points = 40
[mql]
min_total = 60
"#;
