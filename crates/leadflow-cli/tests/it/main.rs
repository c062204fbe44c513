//! The CLI's integration tests, one binary: the real `leadflow` binary on fresh databases.

mod common;

mod changes;
mod cli;
mod demo;
mod identities;
mod killed_sweep;
mod migrate;
mod reference;
mod reports;
mod same_json;
mod sequences;
mod several_servers;
mod sla;
mod two_processes;
