//! The server's settings. Every field has a default, so an empty configuration is a working one;
//! the CLI layers a file and `LEADFLOW_*` environment variables over these defaults.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Database connections that write, each with an ingest thread of its own. More than one
    /// only where the backend writes concurrently (PostgreSQL); the embedded database writes one
    /// transaction at a time, and refuses more.
    pub writers: usize,
    /// Database connections that serve reads beside the writers.
    pub readers: usize,
    /// The longest one database statement may run before the database stops it (the request is
    /// answered 503 `timeout`); 0 lets statements run. Enforced by PostgreSQL; the embedded
    /// database runs statements in-process, where `request_timeout_ms` answers the caller.
    pub statement_timeout_ms: u64,
    /// A request that takes longer is answered 503 `timeout`. Writes it started may still
    /// complete; events are idempotent by id, so retrying is safe.
    pub request_timeout_ms: u64,
    /// How long a write waits for another process's write lock on the database (a CLI import or
    /// rescore) before it is answered 503 `busy` with `Retry-After`.
    pub write_wait_ms: u64,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// The most events one batch request may carry.
    pub max_batch: usize,
    /// Single-event requests that may wait for the ingest thread before callers are slowed.
    pub ingest_queue: usize,
    /// The most single events committed in one transaction.
    pub ingest_group_max: usize,
    pub rate_limit: RateLimitConfig,
    /// Addresses (`10.0.0.5`) or networks (`10.0.0.0/8`) of reverse proxies in front of the
    /// server. Only from these is `X-Forwarded-For` believed, for the client address the
    /// tracking endpoint limits by; from anyone else it is ignored.
    pub trusted_proxies: Vec<String>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <metrics_token>`.
    pub metrics_token: String,
    pub tracking: TrackingConfig,
    pub webhooks: WebhookConfig,
    pub jobs: JobsConfig,
    pub mail: crate::mail_config::MailConfig,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            writers: 1,
            readers: 4,
            statement_timeout_ms: 30_000,
            request_timeout_ms: 30_000,
            write_wait_ms: 10_000,
            max_body_bytes: 16 * 1024 * 1024,
            max_batch: 10_000,
            ingest_queue: 10_000,
            ingest_group_max: 1_000,
            rate_limit: RateLimitConfig::default(),
            trusted_proxies: Vec::new(),
            metrics_token: String::new(),
            tracking: TrackingConfig::default(),
            webhooks: WebhookConfig::default(),
            jobs: JobsConfig::default(),
            mail: crate::mail_config::MailConfig::default(),
        }
    }
}

/// A token bucket per API key: `burst` requests at once, refilled at `per_second`.
/// `per_second = 0` turns limiting off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig { per_second: 1_000, burst: 2_000 }
    }
}

/// The public website-tracking endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingConfig {
    pub enabled: bool,
    /// Origins (`https://www.yourco.example`) whose pages may call it; empty allows any.
    pub allowed_origins: Vec<String>,
    /// Requests per second per client address, with the same again as a burst.
    pub per_ip_per_second: u32,
    /// Events the endpoint may add to one lead per day (UTC); the rest are dropped.
    pub events_per_lead_per_day: u32,
    /// Anonymous visitors' events are deleted after this many days unless they were identified
    /// (checked hourly); 0 keeps them.
    pub anonymous_retention_days: u32,
    /// Signs identity tokens (`POST /v1/tracking/identity-tokens`), with which a site proves
    /// who its visitor is; at least 32 characters. Empty: no tokens.
    pub identity_secret: String,
}

impl Default for TrackingConfig {
    fn default() -> TrackingConfig {
        TrackingConfig {
            enabled: true,
            allowed_origins: Vec::new(),
            per_ip_per_second: 20,
            events_per_lead_per_day: 50,
            anonymous_retention_days: 30,
            identity_secret: String::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Attempts before a delivery is given up as failed: 50 at most (more is taken as 50). A
    /// sender that died mid-attempt counts as one.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles with each attempt, up to `max_backoff_secs`.
    pub initial_backoff_secs: u64,
    pub max_backoff_secs: u64,
    /// How long a receiver may take to answer.
    pub timeout_secs: u64,
    /// Deliveries sent at once to one webhook (each receiver has its own).
    pub concurrency: usize,
    /// How often the job queue is checked for due deliveries; 0 runs no background worker (then
    /// something else must call `deliver_due`: tests do).
    pub poll_interval_ms: u64,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            max_attempts: 10,
            initial_backoff_secs: 10,
            max_backoff_secs: 3_600,
            timeout_secs: 10,
            concurrency: 8,
            poll_interval_ms: 500,
        }
    }
}

/// The job queue's worker: scheduled rescores and sweeps, shared by the servers on one database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How often the queue is checked for due jobs; 0 runs no background worker (then something
    /// else must call `run_due_jobs`: tests do).
    pub poll_interval_ms: u64,
    /// Every lead is rescored as of now this often, so that decay and inactivity show without
    /// anybody asking; 0 turns it off.
    pub rescore_every_minutes: u64,
    /// Finished jobs are kept this many days for `leadflow jobs`.
    pub keep_finished_days: u32,
    /// How often marketing-qualified leads waiting for a pipeline enter one, leads past their
    /// pipeline's cycle are recycled or disqualified, SLA breaches are recorded and escalated,
    /// and due tasks are told of; 0 turns it off.
    pub pipeline_sweep_every_seconds: u64,
    /// Where each active pipeline's weekly digest is written, on Mondays at 08:00 UTC, as
    /// `digest-<pipeline>-<date>.md` and `.json` (one server of several writes it: give them
    /// a shared directory, or read `GET /v1/reports/digest`); not set: no digest is written.
    pub digest_dir: Option<std::path::PathBuf>,
}

impl Default for JobsConfig {
    fn default() -> JobsConfig {
        JobsConfig {
            poll_interval_ms: 1_000,
            rescore_every_minutes: 60,
            keep_finished_days: 7,
            pipeline_sweep_every_seconds: 60,
            digest_dir: None,
        }
    }
}
