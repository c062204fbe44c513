//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! contract's types; `openapi.json` beside this crate's `Cargo.toml` is its reviewed snapshot
//! (a test fails when the two differ, so every change to the API shows in a diff).
//!
//! A handler lists the errors it returns itself, as `(status = 404, description = "Error:
//! `lead_not_found`")`; [`Errors`] adds those that the edges of every request can give (the key
//! and its rate limit, the JSON body, the database and the time limit), and gives every error
//! response the error body.

use std::sync::LazyLock;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::ErrorCode;
use crate::error::ErrorResponse;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "leadflow",
        description = "Lead scoring and lead tracking. Authenticate with `Authorization: Bearer <key>` (create keys \
                       with `leadflow keys create`). Every error is `{\"error\": {\"code\", \"message\"}}` with a \
                       stable code.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/")),
    security(("apiKey" = [])),
    tags(
        (name = "Events"),
        (name = "Leads"),
        (name = "Models"),
        (name = "Pipelines"),
        (name = "Sequences"),
        (name = "Team"),
        (name = "Tasks"),
        (name = "SLA"),
        (name = "Reports"),
        (name = "Webhooks"),
        (name = "Website tracking"),
        (name = "Operations"),
    ),
    paths(
        crate::events::ingest_one,
        crate::events::ingest_batch,
        crate::leads::list,
        crate::leads::upsert,
        crate::leads::get,
        crate::leads::delete,
        crate::leads::changes,
        crate::leads::stages,
        crate::identities::list,
        crate::identities::add,
        crate::identities::remove,
        crate::pipelines::move_lead,
        crate::team::give,
        crate::models::list,
        crate::models::apply,
        crate::models::active,
        crate::models::validate,
        crate::models::reactivate,
        crate::pipelines::list,
        crate::pipelines::get,
        crate::pipelines::validate,
        crate::pipelines::apply,
        crate::pipelines::activate,
        crate::pipelines::deactivate,
        crate::sequences::list,
        crate::sequences::get,
        crate::sequences::validate,
        crate::sequences::apply,
        crate::sequences::activate,
        crate::sequences::pause,
        crate::enrollments::enroll,
        crate::enrollments::exit,
        crate::enrollments::of_sequence,
        crate::enrollments::of_lead,
        crate::templates::list,
        crate::templates::validate,
        crate::templates::apply,
        crate::templates::activate,
        crate::templates::retire,
        crate::templates::preview,
        crate::team::list,
        crate::team::put,
        crate::team::active,
        crate::team::validate,
        crate::team::apply,
        crate::tasks::add,
        crate::tasks::list,
        crate::tasks::change,
        crate::tasks::missing,
        crate::tasks::queue,
        crate::sla::active,
        crate::sla::validate,
        crate::sla::apply,
        crate::sla::clocks,
        crate::sla::compliance,
        crate::reports::pipeline,
        crate::reports::funnel,
        crate::reports::chart,
        crate::reports::reps,
        crate::reports::model,
        crate::reports::touchpoints,
        crate::reports::digest,
        crate::sla::decide,
        crate::webhooks::list,
        crate::webhooks::create,
        crate::webhooks::delete,
        crate::webhooks::deliveries,
        crate::tracking::identity_token,
        crate::tracking::snippet,
        crate::tracking::collect,
        crate::tracking::preflight,
        crate::do_not_contact::list,
        crate::do_not_contact::add,
        crate::do_not_contact::remove,
        crate::do_not_contact::metrics,
        crate::do_not_contact::all_metrics,
        crate::email_links::page,
        crate::email_links::confirm,
        crate::email_links::open,
        crate::email_links::click,
        crate::email_links::inbound,
        crate::jobs::list,
        crate::health,
        crate::ready,
        crate::metrics_text,
        crate::openapi,
        crate::docs,
    ),
    components(schemas(ErrorResponse, crate::reports::PipelineChart, crate::reports::FunnelBy)),
    modifiers(&ApiKey, &Errors, &EventRules),
)]
struct ApiDoc;

/// The document, as the server serves it and the snapshot holds it.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let mut json = ApiDoc::openapi().to_pretty_json().expect("the document always serializes");
        json.push('\n');
        json
    });
    &DOCUMENT
}

/// What an event must name and may not give twice, which utoipa's derive cannot say (its
/// extensions are serialized in place): a lead, by one key at least (not null), its time as
/// `ts` or as `timestamp`, not both, and properties by their names' pattern.
struct EventRules;

impl Modify for EventRules {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
        if let Some(RefOr::T(Schema::Object(event))) = schemas.get_mut("EventRequest") {
            let rules = event.extensions.get_or_insert_with(Default::default);
            let named_by =
                |key: &str, kind: &str| serde_json::json!({"required": [key], "properties": {key: {"type": kind}}});
            let keys = [named_by("email", "string"), named_by("external_id", "string"), named_by("lead_id", "number")];
            // One key: extensions are a hash map, and the document must come out the same each time.
            let not_both_times = serde_json::json!({"not": {"required": ["ts", "timestamp"]}});
            rules.insert("allOf".into(), serde_json::json!([{"anyOf": keys}, not_both_times]));
            if let Some(RefOr::T(Schema::Object(properties))) = event.properties.get_mut("properties") {
                let names = serde_json::json!({"pattern": leadflow_contract::FIELD_NAME_PATTERN});
                properties.extensions.get_or_insert_with(Default::default).insert("propertyNames".into(), names);
            }
        }
    }
}

struct ApiKey;

impl Modify for ApiKey {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description)).build(),
            )
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("apiKey", bearer("An API key from `leadflow keys create`."));
        components.add_security_scheme("metricsToken", bearer("The server's `metrics_token`, when it sets one."));
    }
}

/// Adds to every operation the errors of the edges it passes, and the error body to every
/// error response.
struct Errors;

impl Errors {
    /// What any request may meet: the database, the time limit, a stopping server, a fault.
    const ANY: &[ErrorCode] = &[ErrorCode::Busy, ErrorCode::Timeout, ErrorCode::ShuttingDown, ErrorCode::Internal];
    /// What a request that needs a key may meet.
    const KEYED: &[ErrorCode] =
        &[ErrorCode::MissingApiKey, ErrorCode::InvalidApiKey, ErrorCode::Forbidden, ErrorCode::RateLimited];
    /// What a request with a JSON body may meet.
    const JSON_BODY: &[ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
    ];

    fn add(operation: &mut Operation, codes: &[ErrorCode]) {
        for code in codes {
            let status = code.status().as_u16().to_string();
            let responses = &mut operation.responses.responses;
            let description = match responses.get(&status) {
                Some(RefOr::T(r)) if r.description.starts_with("Error: ") => r.description.clone(),
                Some(_) => continue,
                None => "Error:".to_string(),
            };
            let named = format!("`{code}`");
            if description.split([' ', ',']).any(|c| c == named) {
                continue;
            }
            let description =
                if description == "Error:" { format!("Error: {named}") } else { format!("{description}, {named}") };
            responses.insert(status, RefOr::T(ResponseBuilder::new().description(description).build()));
        }
    }

    fn with_body(response: &mut Response) {
        if response.description.starts_with("Error: ") && response.content.is_empty() {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build();
            response.content.insert("application/json".to_string(), content);
        }
    }
}

impl Modify for Errors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                // An operation without its own `security` takes the document's: it needs a key.
                let keyed = operation.security.is_none();
                let json_body =
                    operation.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
                Errors::add(operation, Errors::ANY);
                if keyed {
                    Errors::add(operation, Errors::KEYED);
                }
                if json_body {
                    Errors::add(operation, Errors::JSON_BODY);
                }
                for response in operation.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        Errors::with_body(response);
                    }
                }
            }
        }
    }
}
