//! The API's integration tests, one binary: the real server on 127.0.0.1:0 with a fresh database.

mod support;

mod api;
mod browser;
mod identities;
mod jobs;
mod nurture;
mod openapi;
mod pipelines;
mod reports;
mod schemathesis;
mod sequences;
mod sla;
mod tasks;
mod team;
mod tracking;
mod webhooks;
