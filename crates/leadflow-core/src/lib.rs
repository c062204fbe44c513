//! The pure core of leadflow.
//!
//! Everything here is a function of its inputs: no files, no clock, no database. Scores are a
//! pure function of (model, lead facts, events, as-of time), which is what lets the store, the CLI
//! and the server share one definition and lets tests compare the incremental path with a full
//! recompute.

pub mod access;
pub mod calendar;
pub mod change;
pub mod contact;
pub mod email;
pub mod event;
pub mod external_id;
pub mod identity;
pub mod inbound;
pub mod lead;
pub mod lead_ids;
pub mod model;
pub mod notification;
pub mod outcome;
pub mod pipeline;
pub mod report;
pub mod scoring;
pub mod sequence;
pub mod sla;
pub mod stages;
pub mod task;
pub mod team;
pub mod template;
pub mod text;
pub mod time;
pub mod visitor;

pub use access::{Action, Actor, Refusal, Role};
pub use email::Email;
pub use event::{EventKey, EventShape, EventType};
pub use external_id::ExternalId;
pub use identity::{Identity, IdentityError, Phone, PhoneRegion, System};
pub use lead::{CustomValue, Field, FieldRef, FieldValue, LeadId, LeadRef, LeadRefError, LifecycleStage, Profile};
pub use lead_ids::LeadIds;
pub use model::{Grade, Model, ModelError, ModelProblem};
pub use notification::Topic;
pub use outcome::{Outcome, OutcomeKind};
pub use pipeline::{MoveRefusal, Pipeline, PipelineError, PipelineProblem, Stage, StageKind, Trigger};
pub use scoring::{Activity, EventMatch, Explanation, LeadFacts, ScoreCard, ScoreState};
pub use time::Timestamp;
pub use visitor::VisitorId;
