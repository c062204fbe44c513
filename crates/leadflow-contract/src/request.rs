//! What clients send, as types: a request is read into these by serde, then parsed into the
//! engine's inputs (`parse`), saying what is wrong with it, field by field.

use std::collections::BTreeMap;

use leadflow_core::{Email, EventKey, EventShape, EventType, ExternalId, LeadRef, Timestamp};
use leadflow_engine::{EventInput, LeadInput, PatchValue};
use serde::Deserialize;
use serde_json::Value;

/// A property or custom value as JSON may send it.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// The idempotency key; derived from the event if not given.
    pub id: Option<String>,
    pub email: Option<String>,
    /// The lead's id in a CRM.
    pub external_id: Option<String>,
    pub lead_id: Option<i64>,
    #[serde(rename = "type")]
    pub event_type: String,
    /// RFC 3339; now if not given. Also taken as `timestamp` (as Segment and others send it).
    #[serde(alias = "timestamp")]
    pub ts: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Scalar>,
}

impl EventRequest {
    /// The keys that name the event's lead, strongest first (`lead_id`, `external_id`, `email`);
    /// one that does not parse is left out ([`EventRequest::parse`] says what is wrong with it).
    pub fn keys(&self) -> Vec<LeadRef> {
        let id = self.lead_id.map(|id| LeadRef::Id(leadflow_core::LeadId(id)));
        let external = self.external_id.as_deref().and_then(|x| ExternalId::parse(x).ok()).map(LeadRef::External);
        let email = self.email.as_deref().and_then(|e| Email::parse(e).ok()).map(LeadRef::Email);
        [id, external, email].into_iter().flatten().collect()
    }

    /// Parses into an engine input, or says what is wrong.
    pub fn parse(self, now: Timestamp) -> Result<EventInput, String> {
        let lead = match (self.lead_id, self.external_id, self.email) {
            (Some(id), _, _) => LeadRef::Id(leadflow_core::LeadId(id)),
            (None, Some(x), _) => LeadRef::External(ExternalId::parse(&x).map_err(|e| format!("external_id: {e}"))?),
            (None, None, Some(email)) => LeadRef::Email(Email::parse(&email).map_err(|e| format!("email: {e}"))?),
            (None, None, None) => return Err("name the lead with `email`, `external_id` or `lead_id`".into()),
        };
        let mut shape = EventShape::new(EventType::parse(&self.event_type).map_err(|e| e.to_string())?);
        for (name, value) in &self.properties {
            shape.set_property(name, &value.text()).map_err(|e| e.to_string())?;
        }
        let ts = self.ts.as_deref().map(Timestamp::parse).transpose().map_err(|e| format!("ts: {e}"))?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Each parsed on its own, so that one malformed event is rejected alone.
    pub events: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRequest {
    /// The model file's text (TOML).
    pub source: String,
}
