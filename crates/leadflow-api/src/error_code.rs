//! Every error code the API answers with: one enum, whose code, HTTP status and meaning are
//! written once, here. The error table in `error.rs`'s documentation and the OpenAPI document's
//! enum of codes are checked against it (tests in `tests/it/openapi.rs`).

use axum::http::StatusCode;

macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $status:literal, $meaning:literal),)*) => {
        /// A stable, machine-readable error code: clients branch on it, so a code never changes
        /// meaning; new ones may be added.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                let status: u16 = match self {
                    $(ErrorCode::$variant => $status,)*
                };
                StatusCode::from_u16(status).expect("every status listed is valid")
            }

            /// What the code means, for people (the documentation's table and the OpenAPI
            /// document's description of the code).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    MissingApiKey = ("missing_api_key", 401, "no `Authorization: Bearer <key>` header"),
    InvalidApiKey = ("invalid_api_key", 401, "the key is unknown or revoked"),
    Forbidden = ("forbidden", 403, "the key's role may not do this"),
    InvalidJson = ("invalid_json", 400, "the body is not valid JSON"),
    InvalidRequest = ("invalid_request", 400, "the JSON does not fit the request (types, unknown or missing fields)"),
    UnsupportedMediaType = ("unsupported_media_type", 415, "the body is not `application/json`"),
    PayloadTooLarge = ("payload_too_large", 413, "the body is over the size limit"),
    BatchTooLarge = ("batch_too_large", 400, "more events in one batch than allowed"),
    InvalidEvent = ("invalid_event", 400, "an event's fields are wrong (type, email, timestamp, property)"),
    InvalidLead = ("invalid_lead", 400, "a lead's fields are wrong"),
    InvalidWebhook = ("invalid_webhook", 400, "a webhook's URL or topics are wrong"),
    LeadNotFound = ("lead_not_found", 404, "no such lead"),
    WebhookNotFound = ("webhook_not_found", 404, "no such webhook"),
    ModelNotFound = ("model_not_found", 404, "no such model version"),
    EmailTaken = ("email_taken", 409, "the email belongs to another lead"),
    ExternalIdTaken = ("external_id_taken", 409, "the external id belongs to another lead"),
    LeadIdentityTaken = ("lead_identity_taken", 409, "the identity (a phone number, another system's id) belongs to another lead"),
    InvalidLeadIdentity = ("invalid_lead_identity", 400, "a lead's identity is not `kind:value` of a known kind (`email`, `external`, `phone`, or a system's name), or its value is wrong"),
    OwnLeadIdentity = ("own_lead_identity", 409, "the identity is the lead's own email or external id: change the lead's field instead"),
    LeadIdentityNotFound = ("lead_identity_not_found", 404, "the lead has no such identity"),
    KeysDisagree = ("keys_disagree", 409, "the keys given (lead_id, external_id, email) name different leads, or the lead has another external id"),
    EventIdTaken = ("event_id_taken", 409, "an event with this id is another lead's already"),
    ModelInvalid = ("model_invalid", 422, "the model file has problems (listed in `problems`)"),
    PipelineInvalid = ("pipeline_invalid", 422, "the pipeline file has problems (listed in `problems`)"),
    PipelineNotFound = ("pipeline_not_found", 404, "no such pipeline version, or no active pipeline of that name"),
    PipelineStagesInUse = ("pipeline_stages_in_use", 409, "leads are in stages the pipeline version lacks: move them first"),
    SequenceInvalid = ("sequence_invalid", 422, "the sequence file has problems (listed in `problems`)"),
    SequenceNotFound = ("sequence_not_found", 404, "no such sequence version, or no active sequence of that name"),
    SequenceStagesUnknown = ("sequence_stages_unknown", 409, "the sequence names stages no active pipeline has"),
    AlreadyEnrolled = ("already_enrolled", 409, "the lead is in the sequence already"),
    NotReenrollable = ("not_reenrollable", 409, "the lead was in the sequence, and its `reenroll` does not take it back (yet)"),
    NotEnrolled = ("not_enrolled", 404, "the lead is not in the sequence"),
    MailOff = ("mail_off", 409, "this server sends no email: set `mail.smtp_host` and the link settings"),
    OnDoNotContact = ("do_not_contact", 409, "the lead's address is on the do-not-contact list: a sequence that sends does not take it"),
    SequenceTemplatesMissing = ("sequence_templates_missing", 409, "the sequence sends templates that are not active: apply them first"),
    TemplateInvalid = ("template_invalid", 422, "the template file has problems (listed in `problems`), or renders too long"),
    TemplateNotFound = ("template_not_found", 404, "no such template version, or no active template of that name"),
    TemplateInUse = ("template_in_use", 409, "active sequences send the template: pause them first"),
    NoPipeline = ("no_pipeline", 409, "no active pipeline takes the lead: name one"),
    PipelineNeeded = ("pipeline_needed", 409, "several pipelines are active: name the one to report on"),
    NoOutcomes = ("no_outcomes", 409, "no lead has an outcome (or none is left at the cutoff): record some first"),
    InvalidUser = ("invalid_user", 400, "a user's fields are wrong (name, zone, hours, holidays, capacity)"),
    UserNotFound = ("user_not_found", 404, "no such user"),
    UserInactive = ("user_inactive", 409, "the user is inactive and takes no leads"),
    AssignmentInvalid = ("assignment_invalid", 422, "the assignment rules file has problems (listed in `problems`)"),
    AssignmentNotFound = ("assignment_not_found", 404, "no assignment rules are in use"),
    NobodyToAssign = ("nobody_to_assign", 409, "the assignment rules found nobody who can take the lead (the message says why)"),
    InvalidTask = ("invalid_task", 400, "a task's fields are wrong (kind, title, due time, priority, snooze time)"),
    TaskNotFound = ("task_not_found", 404, "no such task"),
    TaskClosed = ("task_closed", 409, "the task is done or cancelled already"),
    SlaInvalid = ("sla_invalid", 422, "the SLA policy file has problems (listed in `problems`)"),
    SlaNotFound = ("sla_not_found", 404, "no SLA policy is in use"),
    InvalidDecision = ("invalid_decision", 400, "a decision on a lead is wrong: accept or reject; a rejection is of an open lead and needs a reason (one of the SLA policy's `reject_reasons` when it lists some)"),
    MoveRefused = ("move_refused", 409, "the pipeline's rules refuse the move; `rule` names the rule (`move_not_allowed`, `missing_fields`, `reason_required`, `unknown_reason`, `unknown_stage`, `same_stage`)"),
    NoActiveModel = ("no_active_model", 503, "no model is active yet"),
    RateLimited = ("rate_limited", 429, "over the key's rate limit; `Retry-After` says when to come back"),
    Busy = ("busy", 503, "another process holds the database's write lock (an import, a rescore); `Retry-After` says when to retry"),
    InvalidIdentity = ("invalid_identity", 400, "an identity token is malformed, forged or expired, or the server issues none"),
    IdentityTokensOff = ("identity_tokens_off", 409, "identity tokens need `tracking.identity_secret`"),
    Timeout = ("timeout", 503, "the request took longer than the server's time limit"),
    ShuttingDown = ("shutting_down", 503, "the server is stopping; retry against a running one"),
    NotFound = ("not_found", 404, "no such endpoint"),
    MethodNotAllowed = ("method_not_allowed", 405, "the endpoint does not take that method"),
    Internal = ("internal", 500, "a fault on our side (logged)"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorCode {
    /// The documentation's table of codes (Markdown), as `error.rs` shows it.
    pub fn table() -> String {
        let mut out = String::from("| code | status | meaning |\n|---|---|---|\n");
        for code in ErrorCode::ALL {
            out.push_str(&format!("| `{}` | {} | {} |\n", code.as_str(), code.status().as_u16(), code.meaning()));
        }
        out
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In the OpenAPI document: a string, one of the codes, with what each means.
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let meanings: Vec<String> =
            ErrorCode::ALL.iter().map(|c| format!("- `{}` ({}): {}", c, c.status().as_u16(), c.meaning())).collect();
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some(format!("Stable and machine-readable: branch on this.\n\n{}", meanings.join("\n"))))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}
