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
