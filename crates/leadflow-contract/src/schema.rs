//! What JSON Schema can say of the values leadflow parses: the patterns of its keys, and the
//! schema of a lead upsert (a map serde reads whole, so it is described here, from the core's
//! own lists of fields and stages). Kept as tight as the parsers, so that a client generated
//! from the document sends what the server takes (schemathesis checks both directions).

use leadflow_core::{Field, LifecycleStage};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// Characters no email leadflow takes may hold (`Email::parse`): whitespace and control
/// characters, those that reorder text, and the specials of quoted local parts.
macro_rules! not_in_email {
    () => {
        r#"\x00-\x20\x7f-\xa0<>()\[\]\\,;:"@\u1680\u2000-\u200f\u2028-\u202f\u205f-\u2069\u3000\ufeff\u061c"#
    };
}

/// Characters no external id may hold (`ExternalId::parse`): control characters and those that
/// reorder or hide text.
macro_rules! not_in_external_id {
    () => {
        r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u061c"
    };
}

/// Whitespace, which parsers trim: an id does not start or end with it.
macro_rules! space {
    () => {
        r"\s\x85\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// An email, unanchored: a local part, `@`, and a domain with a dot inside.
macro_rules! email {
    () => {
        concat!("[^", not_in_email!(), "]+@[^", not_in_email!(), ".]+(\\.[^", not_in_email!(), ".]+)+")
    };
}

/// An external id, unanchored, without the characters `$not` also lists: printable, not blank at
/// its ends.
macro_rules! external_id {
    ($not:literal) => {
        concat!(
            "[^",
            $not,
            space!(),
            not_in_external_id!(),
            "]",
            "([^",
            $not,
            not_in_external_id!(),
            "]*[^",
            $not,
            space!(),
            not_in_external_id!(),
            "])?"
        )
    };
}

/// An email as `Email::parse` takes it.
pub const EMAIL_PATTERN: &str = concat!("^", email!(), "$");

/// An external id as `ExternalId::parse` takes it.
pub const EXTERNAL_ID_PATTERN: &str = concat!("^", external_id!(""), "$");

/// A property's or custom field's name (`is_identifier`): letters and digits of any script,
/// `_`, `.` and `-`.
pub const FIELD_NAME_PATTERN: &str = r"^[\w.-]{1,64}$";

/// A lead as a path names it (`LeadRef::parse`): its id, `external:` and an external id, an
/// email, or an external id without `@`.
pub const LEAD_REF_PATTERN: &str =
    concat!("^(-?[0-9]+|external:", external_id!(""), "|", email!(), "|", external_id!("@"), ")$");

pub(crate) fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(types: &[Type]) -> ObjectBuilder {
    let mut all = types.to_vec();
    all.push(Type::Null);
    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter(all))
}

/// No `format: email`: the pattern is what leadflow takes, and it takes addresses that format's
/// checkers do not (non-ASCII ones among them).
pub(crate) fn email() -> ObjectBuilder {
    string().max_length(Some(254)).pattern(Some(EMAIL_PATTERN))
}

/// The events of a batch: any JSON values, each read on its own (one that is not an event is
/// rejected in its result, not with the batch).
pub(crate) fn any_values() -> utoipa::openapi::schema::ArrayBuilder {
    let item = ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::AnyValue)
        .description(Some("An event as `POST /v1/events` takes it (`EventRequest`)."));
    utoipa::openapi::schema::ArrayBuilder::new().items(item)
}

/// A webhook's URL as the API takes it (`parse_url` in the API's `webhooks.rs`): `http://` or
/// `https://`, a host of letters, digits, `.` and `-`, a port from 0 to 65535, then a path and
/// query of URL characters.
pub(crate) fn webhook_url() -> ObjectBuilder {
    const PORT: &str = "0*(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})";
    string()
        .max_length(Some(2048))
        .pattern(Some(format!(r"^https?://[A-Za-z0-9.-]+(:{PORT})?([/?][A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$")))
}

/// A lead as a path names it.
pub fn lead_ref_schema() -> ObjectBuilder {
    string().min_length(Some(1)).max_length(Some(264)).pattern(Some(LEAD_REF_PATTERN))
}

pub(crate) fn external_id() -> ObjectBuilder {
    string().max_length(Some(255)).pattern(Some(EXTERNAL_ID_PATTERN))
}

fn or_null(schema: ObjectBuilder) -> ObjectBuilder {
    schema.schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
}

pub(crate) fn optional_email() -> ObjectBuilder {
    or_null(email()).description(Some("Names the lead (created if new). Give this, `external_id` or `lead_id`."))
}

pub(crate) fn required_email() -> ObjectBuilder {
    email().description(Some("The person's email: their lead, or the one the token creates when it is used."))
}

pub(crate) fn optional_external_id() -> ObjectBuilder {
    or_null(external_id()).description(Some("Names the lead by its id in a CRM (created if new)."))
}

fn date_time() -> ObjectBuilder {
    string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
}

/// `PUT /v1/leads`: the fields of `leadflow_engine::lead_input`.
pub(crate) fn lead_request() -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .description(Some("Fields left out keep their values; `null` empties one."));
    for field in Field::ALL.into_iter().filter(|f| !f.is_managed()) {
        let schema = match field {
            Field::Email => {
                email().schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
            }
            Field::ExternalId => external_id()
                .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
                .description(Some("The lead's id in a CRM, kept as written (case matters).")),
            Field::Employees | Field::AnnualRevenue => nullable(&[Type::Number]).minimum(Some(0.0)),
            Field::Stage => string().enum_values(Some(LifecycleStage::ALL.iter().map(|s| s.name()))),
            _ => nullable(&[Type::String]),
        };
        object = object.property(field.name(), schema);
    }
    let custom_value = nullable(&[Type::String, Type::Number, Type::Boolean])
        .description(Some("Text stays text; `null` empties the field."));
    object = object
        .property(
            "custom",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(custom_value))
                .property_names(Some(string().pattern(Some(FIELD_NAME_PATTERN))))
                .description(Some("Custom fields by name.")),
        )
        .property("created_at", date_time().description(Some("When the lead was created, if not now.")))
        .property(
            "outcome",
            string().enum_values(Some(["won", "lost"])).description(Some("For backtests and training.")),
        )
        .property("outcome_at", date_time().description(Some("When the outcome happened (with `outcome`).")));
    // `outcome_at` means nothing without `outcome`: the upsert refuses it alone. utoipa has no
    // builder for JSON Schema's `dependentRequired`; its extensions are serialized in place.
    let mut dependent = utoipa::openapi::extensions::Extensions::default();
    dependent.insert("dependentRequired".into(), serde_json::json!({"outcome_at": ["outcome"]}));
    object = object.extensions(Some(dependent));
    let named_by = |key: &str, schema: ObjectBuilder| {
        ObjectBuilder::new().schema_type(Type::Object).property(key, schema).required(key)
    };
    let schema = utoipa::openapi::schema::AllOfBuilder::new()
        .item(object)
        .item(
            utoipa::openapi::schema::AnyOfBuilder::new()
                .item(named_by("email", email()))
                .item(named_by("external_id", external_id())),
        )
        .examples([serde_json::json!({
            "email": "ana@acme.example", "job_title": "CTO", "employees": 2500, "country": "DE", "custom": {"plan": "pro"}
        })]);
    RefOr::T(schema.into())
}

/// A schema that is one of `values`: the types below name the core's closed lists in the
/// document, so a client knows every value there is (and a new one shows in the snapshot).
fn one_of(values: impl IntoIterator<Item = &'static str>, description: &str) -> RefOr<Schema> {
    RefOr::T(string().enum_values(Some(values)).description(Some(description)).into())
}

macro_rules! closed_list {
    ($($name:ident = ($values:expr, $description:literal);)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                one_of($values, $description)
            }
        }

        impl utoipa::ToSchema for $name {}
    )*};
}

closed_list! {
    Topic = (leadflow_core::Topic::ALL.iter().map(|t| t.as_str()), "What a webhook is told of.");
    Stage = (LifecycleStage::ALL.iter().map(|s| s.name()), "A lead's lifecycle stage.");
    Grade = (leadflow_core::Grade::ALL.iter().map(|g| g.letter()), "A score's grade, A (best) to F.");
    DeliveryStatus = (leadflow_store::DeliveryStatus::ALL.iter().map(|s| s.as_str()), "Where a webhook delivery stands.");
    ChangeCause = (
        leadflow_store::ChangeCause::ALL.iter().map(|c| c.as_str()),
        "What made a change: a request to the API, a leadflow command, an import, the website tracking endpoint, or a rule of leadflow's own (the MQL tipping point)."
    );
}
