//! What clients send, as types: a request is read into these by serde, then parsed into the
//! engine's inputs (`parse`), saying what is wrong with it, field by field.

use std::collections::BTreeMap;

use leadflow_core::{Email, EventKey, EventShape, EventType, ExternalId, Identity, LeadRef, Timestamp};
use leadflow_engine::{EventInput, LeadInput, PatchValue};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A property or custom value as JSON may send it.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// One event, as clients send it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "evt-1001", "email": "ana@acme.example", "type": "page_view", "properties": {"url": "/pricing"}}))]
pub struct EventRequest {
    /// The idempotency key; derived from the event's contents if left out.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub id: Option<String>,
    /// Names the lead (created if new). Give this, `external_id` or `lead_id`.
    #[schema(schema_with = crate::schema::optional_email)]
    pub email: Option<String>,
    /// Names the lead by its id in a CRM (created if new).
    #[schema(schema_with = crate::schema::optional_external_id)]
    pub external_id: Option<String>,
    /// Names an existing lead.
    #[serde(default, deserialize_with = "integral")]
    pub lead_id: Option<i64>,
    /// Names the lead by any of its identities, `kind:value` (`phone:+14155552671`,
    /// `salesforce:00Q5g000004XyZ1`, `email:ana@home.example`): a phone number or another
    /// system's id names a lead that has it, an unknown `email:` or `external:` creates one as
    /// `email` and `external_id` do. Keys that may read leads only.
    #[schema(min_length = 3, max_length = 300, pattern = ":")]
    pub identity: Option<String>,
    #[serde(rename = "type")]
    #[schema(pattern = "^[a-z0-9_.-]{1,64}$", example = "page_view")]
    pub event_type: String,
    /// When it happened (RFC 3339); now if left out. Without `id` and `ts`, the event's key comes
    /// from the lead, type and properties alone, so a retry is a duplicate.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ts: Option<String>,
    /// Another name for `ts`, as Segment and others send it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

impl EventRequest {
    /// The keys that name the event's lead, strongest first (`lead_id`, `identity`,
    /// `external_id`, `email`); one that does not parse is left out ([`EventRequest::parse`] says
    /// what is wrong with it).
    pub fn keys(&self) -> Vec<LeadRef> {
        let id = self.lead_id.map(|id| LeadRef::Id(leadflow_core::LeadId(id)));
        let identity = self.identity.as_deref().and_then(|i| Identity::parse(i).ok()).map(LeadRef::from);
        let external = self.external_id.as_deref().and_then(|x| ExternalId::parse(x).ok()).map(LeadRef::External);
        let email = self.email.as_deref().and_then(|e| Email::parse(e).ok()).map(LeadRef::Email);
        [id, identity, external, email].into_iter().flatten().collect()
    }

    /// Parses into an engine input, or says what is wrong.
    pub fn parse(self, now: Timestamp) -> Result<EventInput, String> {
        let lead = match (self.lead_id, self.identity, self.external_id, self.email) {
            (Some(id), ..) => LeadRef::Id(leadflow_core::LeadId(id)),
            (None, Some(i), ..) => LeadRef::from(Identity::parse(&i).map_err(|e| format!("identity: {e}"))?),
            (None, None, Some(x), _) => {
                LeadRef::External(ExternalId::parse(&x).map_err(|e| format!("external_id: {e}"))?)
            }
            (None, None, None, Some(email)) => LeadRef::Email(Email::parse(&email).map_err(|e| format!("email: {e}"))?),
            (None, None, None, None) => {
                return Err("name the lead with `email`, `external_id`, `identity` or `lead_id`".into());
            }
        };
        let mut shape = EventShape::new(EventType::parse(&self.event_type).map_err(|e| e.to_string())?);
        for (name, value) in &self.properties {
            shape.set_property(name, &value.text()).map_err(|e| e.to_string())?;
        }
        let (ts, field) = match (self.ts, self.timestamp) {
            (Some(_), Some(_)) => return Err("give `ts` or `timestamp`, not both".into()),
            (Some(ts), None) => (Some(ts), "ts"),
            (None, timestamp) => (timestamp, "timestamp"),
        };
        let ts = ts.as_deref().map(Timestamp::parse).transpose().map_err(|e| format!("{field}: {e}"))?;
        let key = match (&self.id, ts) {
            (Some(id), _) => Some(EventKey::parse(id).map_err(|e| e.to_string())?),
            // Neither id nor time: the key must not depend on when it arrived, or a retry
            // would count twice.
            (None, None) => Some(EventKey::derive_untimed(&lead.to_string(), &shape)),
            (None, Some(_)) => None,
        };
        Ok(EventInput { key, lead, ts: ts.unwrap_or(now), shape })
    }
}

/// A lead, as clients upsert it: its `external_id`, else its `email` names it; fields left out
/// keep their values. Unknown fields are refused by [`LeadRequest::parse`] (serde cannot deny
/// them beside a flattened map).
#[derive(Deserialize)]
pub struct LeadRequest {
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
}

impl utoipa::PartialSchema for LeadRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::schema::lead_request()
    }
}

impl ToSchema for LeadRequest {}

impl LeadRequest {
    /// The upsert, or what is wrong with it (the engine's one parser of profile changes). A field
    /// set to `null` is emptied; one left out keeps its value; `custom` is an object of fields.
    pub fn parse(self) -> Result<LeadInput, String> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for (name, value) in self.fields {
            match (name.as_str(), value) {
                ("custom", Value::Object(custom)) => {
                    fields.extend(custom.into_iter().map(|(k, v)| (format!("custom.{k}"), patch_value(v))))
                }
                ("custom", _) => return Err("custom: expected an object of fields".into()),
                (_, value) => fields.push((name, patch_value(value))),
            }
        }
        leadflow_engine::lead_input(fields)
    }
}

fn patch_value(v: Value) -> PatchValue {
    match v {
        Value::Null => PatchValue::Null,
        Value::String(s) => PatchValue::Text(s),
        Value::Number(n) => n.as_f64().map_or(PatchValue::Number(f64::INFINITY), PatchValue::Number),
        Value::Bool(b) => PatchValue::Bool(b),
        Value::Array(_) => PatchValue::Other("array"),
        Value::Object(_) => PatchValue::Other("object"),
    }
}

/// Up to `max_batch` events, recorded in one transaction.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Events as `POST /v1/events` takes them, each read on its own: one that is malformed is
    /// rejected alone, in its result, and the others go in.
    #[schema(schema_with = crate::schema::any_values)]
    pub events: Vec<Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"source": leadflow_core::model::DEFAULT_MODEL_SOURCE}))]
pub struct ModelRequest {
    /// The model file's text (TOML).
    pub source: String,
}

/// A webhook to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.yourco.example/leadflow", "topics": ["lead.mql", "lead.bucket_changed"]}))]
pub struct WebhookRequest {
    /// An `http://` or `https://` URL with a host.
    #[schema(schema_with = crate::schema::webhook_url)]
    pub url: String,
    /// At least one of `lead.created`, `lead.mql`, `lead.bucket_changed`.
    #[schema(value_type = Vec<crate::schema::Topic>, min_items = 1)]
    pub topics: Vec<String>,
}

/// Who a visitor is, for an identity token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "ana@acme.example", "visitor": "0123456789abcdef0123456789abcdef", "ttl_secs": 3600}))]
pub struct IdentityTokenRequest {
    /// The person's email: their lead, or the one the token creates when it is used.
    #[schema(schema_with = crate::schema::required_email)]
    pub email: String,
    /// The visitor id the token proves (8 to 64 of A-Z a-z 0-9 - _; the site reads it from the
    /// `leadflow_visitor` cookie); a token without one proves whichever visitor hands it over.
    #[schema(pattern = "^[A-Za-z0-9_-]{8,64}$")]
    pub visitor: Option<String>,
    /// How long the token is good for, in seconds: a day if not given, at most 30 days.
    #[schema(minimum = 1, maximum = 2592000)]
    #[serde(default, deserialize_with = "integral")]
    pub ttl_secs: Option<u32>,
}

/// What the tracking snippet sends from a page.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"visitor": "0123456789abcdef0123456789abcdef", "type": "page_view", "url": "/pricing"}))]
pub struct TrackingHit {
    /// The visitor id from the `leadflow_visitor` cookie (8 to 64 of A-Z a-z 0-9 - _).
    #[schema(pattern = "^[A-Za-z0-9_-]{8,64}$")]
    pub visitor: String,
    /// `page_view` or `form_submitted`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(page_view|form_submitted)$")]
    pub kind: String,
    /// The page, as `location.pathname` (an origin, query and fragment are dropped).
    pub url: String,
    /// Only with `form_submitted`: who filled the form in.
    pub email: Option<String>,
    /// An identity token from `POST /v1/tracking/identity-tokens`: proof of who the visitor is.
    /// Without one, a form naming a lead that exists is kept as the visitor's claim and changes
    /// nothing about the lead.
    pub identity: Option<String>,
    /// The campaign parameters of the page's address (`?utm_source=...`), which `url` leaves
    /// out: kept as the event's properties of those names (1 to 100 characters, no control
    /// characters), so that reports attribute the lead to the campaign that brought it.
    #[schema(min_length = 1, max_length = 100)]
    pub utm_source: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub utm_medium: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub utm_campaign: Option<String>,
}

/// An integer as JSON Schema has it: `3600.0` is one too (any number with no fraction).
fn integral<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(deserializer)? else { return Ok(None) };
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i,
        (None, Some(f)) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => f as i64,
        _ => return Err(D::Error::custom(format!("{n} is not an integer in range"))),
    };
    T::try_from(whole).map(Some).map_err(|_| D::Error::custom(format!("{n} is out of range")))
}
