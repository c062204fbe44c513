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
