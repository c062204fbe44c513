//! The engine's integration tests, one binary, through the real SQLite store.

mod assignment;
mod changes;
mod event_properties;
mod imports;
mod incremental;
mod jobs;
mod pipelines;
mod public_tracking;
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
