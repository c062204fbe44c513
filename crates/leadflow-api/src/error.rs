//! Every error the API returns: an HTTP status, a stable machine-readable code, and a message.
//!
//! Codes are part of the API's contract: clients branch on them, so they never change meaning.
//! They are [`ErrorCode`]'s; this table is `ErrorCode::table()` (a test keeps the two equal).
//!
//! | code | status | meaning |
//! |---|---|---|
//! | `missing_api_key` | 401 | no `Authorization: Bearer <key>` header |
//! | `invalid_api_key` | 401 | the key is unknown or revoked |
//! | `forbidden` | 403 | the key's role may not do this |
//! | `invalid_json` | 400 | the body is not valid JSON |
//! | `invalid_request` | 400 | the JSON does not fit the request (types, unknown or missing fields) |
//! | `unsupported_media_type` | 415 | the body is not `application/json` |
//! | `payload_too_large` | 413 | the body is over the size limit |
//! | `batch_too_large` | 400 | more events in one batch than allowed |
//! | `invalid_event` | 400 | an event's fields are wrong (type, email, timestamp, property) |
//! | `invalid_lead` | 400 | a lead's fields are wrong |
//! | `invalid_webhook` | 400 | a webhook's URL or topics are wrong |
//! | `lead_not_found` | 404 | no such lead |
//! | `webhook_not_found` | 404 | no such webhook |
//! | `model_not_found` | 404 | no such model version |
//! | `email_taken` | 409 | the email belongs to another lead |
//! | `external_id_taken` | 409 | the external id belongs to another lead |
//! | `lead_identity_taken` | 409 | the identity (a phone number, another system's id) belongs to another lead |
//! | `invalid_lead_identity` | 400 | a lead's identity is not `kind:value` of a known kind (`email`, `external`, `phone`, or a system's name), or its value is wrong |
//! | `own_lead_identity` | 409 | the identity is the lead's own email or external id: change the lead's field instead |
//! | `lead_identity_not_found` | 404 | the lead has no such identity |
//! | `keys_disagree` | 409 | the keys given (lead_id, external_id, email) name different leads, or the lead has another external id |
//! | `event_id_taken` | 409 | an event with this id is another lead's already |
//! | `model_invalid` | 422 | the model file has problems (listed in `problems`) |
//! | `pipeline_invalid` | 422 | the pipeline file has problems (listed in `problems`) |
//! | `pipeline_not_found` | 404 | no such pipeline version, or no active pipeline of that name |
//! | `pipeline_stages_in_use` | 409 | leads are in stages the pipeline version lacks: move them first |
//! | `sequence_invalid` | 422 | the sequence file has problems (listed in `problems`) |
//! | `sequence_not_found` | 404 | no such sequence version, or no active sequence of that name |
//! | `sequence_stages_unknown` | 409 | the sequence names stages no active pipeline has |
//! | `already_enrolled` | 409 | the lead is in the sequence already |
//! | `not_reenrollable` | 409 | the lead was in the sequence, and its `reenroll` does not take it back (yet) |
//! | `not_enrolled` | 404 | the lead is not in the sequence |
//! | `mail_off` | 409 | this server sends no email: set `mail.smtp_host` and the link settings |
//! | `do_not_contact` | 409 | the lead's address is on the do-not-contact list: a sequence that sends does not take it |
//! | `sequence_templates_missing` | 409 | the sequence sends templates that are not active: apply them first |
//! | `template_invalid` | 422 | the template file has problems (listed in `problems`), or renders too long |
//! | `template_not_found` | 404 | no such template version, or no active template of that name |
//! | `template_in_use` | 409 | active sequences send the template: pause them first |
//! | `no_pipeline` | 409 | no active pipeline takes the lead: name one |
//! | `pipeline_needed` | 409 | several pipelines are active: name the one to report on |
//! | `no_outcomes` | 409 | no lead has an outcome (or none is left at the cutoff): record some first |
//! | `invalid_user` | 400 | a user's fields are wrong (name, zone, hours, holidays, capacity) |
//! | `user_not_found` | 404 | no such user |
//! | `user_inactive` | 409 | the user is inactive and takes no leads |
//! | `assignment_invalid` | 422 | the assignment rules file has problems (listed in `problems`) |
//! | `assignment_not_found` | 404 | no assignment rules are in use |
//! | `nobody_to_assign` | 409 | the assignment rules found nobody who can take the lead (the message says why) |
//! | `invalid_task` | 400 | a task's fields are wrong (kind, title, due time, priority, snooze time) |
//! | `task_not_found` | 404 | no such task |
//! | `task_closed` | 409 | the task is done or cancelled already |
//! | `sla_invalid` | 422 | the SLA policy file has problems (listed in `problems`) |
//! | `sla_not_found` | 404 | no SLA policy is in use |
//! | `invalid_decision` | 400 | a decision on a lead is wrong: accept or reject; a rejection is of an open lead and needs a reason (one of the SLA policy's `reject_reasons` when it lists some) |
//! | `move_refused` | 409 | the pipeline's rules refuse the move; `rule` names the rule (`move_not_allowed`, `missing_fields`, `reason_required`, `unknown_reason`, `unknown_stage`, `same_stage`) |
//! | `no_active_model` | 503 | no model is active yet |
//! | `rate_limited` | 429 | over the key's rate limit; `Retry-After` says when to come back |
//! | `busy` | 503 | another process holds the database's write lock (an import, a rescore); `Retry-After` says when to retry |
//! | `invalid_identity` | 400 | an identity token is malformed, forged or expired, or the server issues none |
//! | `identity_tokens_off` | 409 | identity tokens need `tracking.identity_secret` |
//! | `timeout` | 503 | the request took longer than the server's time limit |
//! | `shutting_down` | 503 | the server is stopping; retry against a running one |
//! | `not_found` | 404 | no such endpoint |
//! | `method_not_allowed` | 405 | the endpoint does not take that method |
//! | `internal` | 500 | a fault on our side (logged) |

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadflow_contract::ModelProblem;
use leadflow_engine::EngineError;
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error_code::ErrorCode;

#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// A model's problems, for `model_invalid`.
    pub problems: Option<Vec<ModelProblem>>,
    /// The rule a move broke, for `move_refused`.
    pub rule: Option<&'static str>,
    /// When to try again, for `rate_limited` and `busy` (also sent as `Retry-After`).
    pub retry_after_seconds: Option<u64>,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorResponse {
    pub error: ErrorObject,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorObject {
    pub code: ErrorCode,
    /// For people; may change.
    pub message: String,
    /// With `model_invalid` and `pipeline_invalid`: what is wrong with the file, each at its place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<ModelProblem>>,
    /// With `move_refused`: the pipeline rule the move broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// With `rate_limited` and `busy`: seconds until a retry is taken (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), problems: None, rule: None, retry_after_seconds: None }
    }

    /// The HTTP status it is answered with: its code's.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    pub fn internal() -> ApiError {
        ApiError::new(ErrorCode::Internal, "an internal error occurred")
    }

    /// Over the caller's rate limit; `retry_after` says when a request will be taken again.
    pub fn rate_limited(retry_after: std::time::Duration) -> ApiError {
        let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        ApiError {
            retry_after_seconds: Some(seconds),
            ..ApiError::new(ErrorCode::RateLimited, format!("too many requests for this key; retry in {seconds}s"))
        }
    }

    pub fn lead_not_found(lead: leadflow_core::LeadRef) -> ApiError {
        ApiError::new(ErrorCode::LeadNotFound, format!("no {lead}"))
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::NoSuchLead(lead) => ApiError::lead_not_found(lead),
            EngineError::UnknownLeadId(_) => ApiError::new(ErrorCode::LeadNotFound, e.to_string()),
            EngineError::NoSuchModel(_) => ApiError::new(ErrorCode::ModelNotFound, e.to_string()),
            EngineError::KeyTaken { key: leadflow_core::LeadRef::External(_), .. } => {
                ApiError::new(ErrorCode::ExternalIdTaken, e.to_string())
            }
            EngineError::KeyTaken { key: leadflow_core::LeadRef::Email(_), .. } => {
                ApiError::new(ErrorCode::EmailTaken, e.to_string())
            }
            EngineError::KeyTaken { .. } => ApiError::new(ErrorCode::LeadIdentityTaken, e.to_string()),
            EngineError::IdentityTaken { .. } => ApiError::new(ErrorCode::LeadIdentityTaken, e.to_string()),
            EngineError::OwnIdentity(_) => ApiError::new(ErrorCode::OwnLeadIdentity, e.to_string()),
            EngineError::UnknownIdentity(_) => ApiError::new(ErrorCode::LeadNotFound, e.to_string()),
            EngineError::KeysDisagree { .. } | EngineError::ExternalIdDiffers { .. } => {
                ApiError::new(ErrorCode::KeysDisagree, e.to_string())
            }
            EngineError::Refused(why) => ApiError::forbidden(why.to_string()),
            EngineError::InvalidFilter(why) => ApiError::new(ErrorCode::InvalidRequest, why),
            EngineError::InvalidLead(why) => ApiError::new(ErrorCode::InvalidLead, why),
            EngineError::FromTheFuture(_) => ApiError::new(ErrorCode::InvalidEvent, e.to_string()),
            EngineError::KeyOfAnotherLead(_) => ApiError::new(ErrorCode::EventIdTaken, e.to_string()),
            EngineError::NoActiveModel => ApiError::new(ErrorCode::NoActiveModel, e.to_string()),
            EngineError::Model(m) => ApiError {
                problems: Some(ModelProblem::all(&m)),
                ..ApiError::new(ErrorCode::ModelInvalid, format!("the model has {} problem(s)", m.problems.len()))
            },
            EngineError::Pipeline(p) => ApiError {
                problems: Some(ModelProblem::list(&p.problems)),
                ..ApiError::new(ErrorCode::PipelineInvalid, format!("the pipeline has {} problem(s)", p.problems.len()))
            },
            EngineError::NoSuchPipeline { .. } | EngineError::NoSuchPipelineVersion(_) => {
                ApiError::new(ErrorCode::PipelineNotFound, e.to_string())
            }
            EngineError::PipelineNeeded { ref active } if active.is_empty() => {
                ApiError::new(ErrorCode::PipelineNotFound, e.to_string())
            }
            EngineError::PipelineNeeded { .. } => ApiError::new(ErrorCode::PipelineNeeded, e.to_string()),
            EngineError::NoSuchStage { .. } => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
            EngineError::Lab(_) => ApiError::new(ErrorCode::NoOutcomes, e.to_string()),
            EngineError::StagesInUse { .. } => ApiError::new(ErrorCode::PipelineStagesInUse, e.to_string()),
            EngineError::Sequence(p) => ApiError {
                problems: Some(ModelProblem::list(&p.problems)),
                ..ApiError::new(ErrorCode::SequenceInvalid, format!("the sequence has {} problem(s)", p.problems.len()))
            },
            EngineError::NoSuchSequenceVersion(_) | EngineError::NoSuchSequence(_) => {
                ApiError::new(ErrorCode::SequenceNotFound, e.to_string())
            }
            EngineError::AlreadyEnrolled { .. } => ApiError::new(ErrorCode::AlreadyEnrolled, e.to_string()),
            EngineError::NotReenrollable { .. } => ApiError::new(ErrorCode::NotReenrollable, e.to_string()),
            EngineError::NotEnrolled { .. } => ApiError::new(ErrorCode::NotEnrolled, e.to_string()),
            EngineError::OnDoNotContact { .. } => ApiError::new(ErrorCode::OnDoNotContact, e.to_string()),
            EngineError::BadAddress { .. } => ApiError::new(ErrorCode::InvalidRequest, e.to_string()),
            EngineError::SequenceStagesUnknown { .. } => ApiError::new(ErrorCode::SequenceStagesUnknown, e.to_string()),
            EngineError::SequenceTemplatesMissing { .. } => {
                ApiError::new(ErrorCode::SequenceTemplatesMissing, e.to_string())
            }
            EngineError::Template(p) => ApiError {
                problems: Some(ModelProblem::list(&p.problems)),
                ..ApiError::new(ErrorCode::TemplateInvalid, format!("the template has {} problem(s)", p.problems.len()))
            },
            EngineError::Render(_) => ApiError::new(ErrorCode::TemplateInvalid, e.to_string()),
            EngineError::NoSuchTemplateVersion(_) | EngineError::NoSuchTemplate(_) => {
                ApiError::new(ErrorCode::TemplateNotFound, e.to_string())
            }
            EngineError::TemplateInUse { .. } => ApiError::new(ErrorCode::TemplateInUse, e.to_string()),
            EngineError::NoPipelineFor(_) => ApiError::new(ErrorCode::NoPipeline, e.to_string()),
            EngineError::AssignmentRules(r) => ApiError {
                problems: Some(ModelProblem::list(&r.problems)),
                ..ApiError::new(ErrorCode::AssignmentInvalid, format!("the rules have {} problem(s)", r.problems.len()))
            },
            EngineError::User(_) => ApiError::new(ErrorCode::InvalidUser, e.to_string()),
            EngineError::NoSuchUser(_) => ApiError::new(ErrorCode::UserNotFound, e.to_string()),
            EngineError::UserInactive(_) => ApiError::new(ErrorCode::UserInactive, e.to_string()),
            EngineError::NoAssignmentRules => ApiError::new(ErrorCode::AssignmentNotFound, e.to_string()),
            EngineError::NobodyToAssign(_) => ApiError::new(ErrorCode::NobodyToAssign, e.to_string()),
            EngineError::NoSuchTask(_) => ApiError::new(ErrorCode::TaskNotFound, e.to_string()),
            EngineError::Task(leadflow_core::task::TaskError::Finished(..)) => {
                ApiError::new(ErrorCode::TaskClosed, e.to_string())
            }
            EngineError::Task(_) => ApiError::new(ErrorCode::InvalidTask, e.to_string()),
            EngineError::SlaPolicy(p) => ApiError {
                problems: Some(ModelProblem::list(&p.problems)),
                ..ApiError::new(ErrorCode::SlaInvalid, format!("the SLA policy has {} problem(s)", p.problems.len()))
            },
            EngineError::RejectReason { .. } | EngineError::NotHandedOver { .. } => {
                ApiError::new(ErrorCode::InvalidDecision, e.to_string())
            }
            EngineError::MoveRefused(refusal) => {
                ApiError { rule: Some(refusal.code()), ..ApiError::new(ErrorCode::MoveRefused, refusal.to_string()) }
            }
            EngineError::Store(leadflow_store::StoreError::InvalidQuery(why)) => {
                ApiError::new(ErrorCode::InvalidRequest, why)
            }
            EngineError::Store(leadflow_store::StoreError::Busy | leadflow_store::StoreError::Conflict) => ApiError {
                retry_after_seconds: Some(1),
                ..ApiError::new(
                    ErrorCode::Busy,
                    "the database is busy with another process's write (an import or a rescore); retry shortly",
                )
            },
            EngineError::Store(leadflow_store::StoreError::TimedOut) => ApiError::new(
                ErrorCode::Timeout,
                "a database statement took longer than server.statement_timeout_ms and was stopped",
            ),
            EngineError::Store(leadflow_store::StoreError::DuplicateEmail(email)) => {
                ApiError::new(ErrorCode::EmailTaken, format!("a lead with email {email} already exists"))
            }
            EngineError::Store(leadflow_store::StoreError::DuplicateExternalId(id)) => {
                ApiError::new(ErrorCode::ExternalIdTaken, format!("a lead with external id {id} already exists"))
            }
            EngineError::Store(e @ leadflow_store::StoreError::IdentityTaken { .. }) => {
                ApiError::new(ErrorCode::LeadIdentityTaken, e.to_string())
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl From<leadflow_store::StoreError> for ApiError {
    fn from(e: leadflow_store::StoreError) -> ApiError {
        ApiError::from(EngineError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_seconds;
        let error = ErrorObject {
            code: self.code,
            message: self.message,
            problems: self.problems,
            rule: self.rule,
            retry_after_seconds: self.retry_after_seconds,
        };
        let mut response = (self.code.status(), Json(ErrorResponse { error })).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
