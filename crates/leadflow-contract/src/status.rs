//! What the server says of itself: liveness, readiness, and the tokens it issues.

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /health`: the process answers.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /ready`: the database answers and a model is active.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    pub status: &'static str,
    /// The backend that answered: `sqlite` or `postgres`.
    pub database: &'static str,
    /// The active model's version.
    pub model_version: i64,
}

/// An identity token, for the tracking snippet's `leadflow.prove(token)`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct IdentityToken {
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// How many jobs of a kind are in a status.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct JobCount {
    pub kind: String,
    /// `pending`, `done`, `failed` or `cancelled`.
    pub status: &'static str,
    pub count: u64,
}

/// A job of the queue: a scheduled rescore, a sweep, ...
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// Its idempotency key: the time slot of a scheduled job.
    pub key: String,
    /// `pending`, `done`, `failed` or `cancelled`.
    pub status: &'static str,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// Attempts started, the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// While a server runs it: until when its claim holds.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub claimed_until: Option<Timestamp>,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<Timestamp>,
}

impl From<&leadflow_store::JobRecord> for Job {
    fn from(j: &leadflow_store::JobRecord) -> Job {
        Job {
            id: j.id,
            kind: j.kind.clone(),
            key: j.key.clone(),
            status: j.status.as_str(),
            due_at: j.due_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            claimed_until: j.claimed_until,
            last_error: j.last_error.clone(),
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// The job queue: counts per kind and status, and the newest jobs.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct JobList {
    pub counts: Vec<JobCount>,
    pub jobs: Vec<Job>,
}
