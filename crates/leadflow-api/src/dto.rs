//! The JSON the API speaks (and the CLI prints with `--json`): `leadflow-contract`'s types, rendered
//! for handlers, and the API's page cursors.

use leadflow_core::Timestamp;
use leadflow_engine::LeadView;
use leadflow_store::{Cursor, LeadOrder, LeadRecord, SortKey};
use serde_json::Value;

// The JSON of each thing is its `leadflow_contract` type; these render it for handlers.

pub fn json_of(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).expect("contract types always serialize")
}

pub fn lead(l: &LeadRecord) -> Value {
    json_of(leadflow_contract::Lead::from(l))
}

/// An accepted event, as `POST /v1/events` and `leadflow track --json` give it: the lead, whether
/// the event created it, and its new score (when the event's scoring answered with one).
pub fn accepted(lead: leadflow_core::LeadId, created_lead: bool, scored: Option<&leadflow_engine::Scored>) -> Value {
    json_of(leadflow_contract::EventOutcome::accepted(lead, created_lead, scored))
}

/// An event the lead had already: nothing changed.
pub fn duplicate(lead: leadflow_core::LeadId) -> Value {
    json_of(leadflow_contract::EventOutcome::duplicate(lead))
}

/// A model file's check, as `POST /v1/models/validate` and `leadflow model check --json` give it:
/// valid with its name and warnings, or its problems, each at its place.
pub fn model_check(
    checked: Result<(&leadflow_core::Model, &[leadflow_core::model::ModelWarning]), &leadflow_core::ModelError>,
) -> Value {
    json_of(match checked {
        Ok((model, warnings)) => leadflow_contract::ModelCheck::valid(model, warnings),
        Err(e) => leadflow_contract::ModelCheck::invalid(e),
    })
}

/// A model's problems: line, column, path and message each.
pub fn model_problems(e: &leadflow_core::ModelError) -> Value {
    json_of(leadflow_contract::ModelProblem::all(e))
}

pub fn view(v: &LeadView) -> Value {
    json_of(leadflow_contract::LeadView::from(v))
}

/// An opaque page cursor: where a page of leads in `order` ended.
pub fn cursor(order: LeadOrder, last: &LeadRecord) -> String {
    let key = match order.key_of(last) {
        SortKey::Total(Some(total)) => total.to_string(),
        SortKey::Total(None) => "-".to_string(),
        SortKey::Time(t) => t.millis().to_string(),
    };
    hex::encode(format!("{}:{key}:{}", order_tag(order), last.id.0))
}

fn order_tag(order: LeadOrder) -> &'static str {
    match order {
        LeadOrder::ScoreDesc => "sd",
        LeadOrder::ScoreAsc => "sa",
        LeadOrder::Newest => "cr",
        LeadOrder::RecentlyUpdated => "up",
    }
}

/// Reads a cursor back; `None` when it is not one, or was made for another order.
pub fn parse_cursor(cursor: &str, order: LeadOrder) -> Option<Cursor> {
    let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    let mut parts = text.splitn(3, ':');
    let (tag, key, id) = (parts.next()?, parts.next()?, parts.next()?);
    if tag != order_tag(order) {
        return None;
    }
    let key = match order {
        LeadOrder::ScoreDesc | LeadOrder::ScoreAsc if key == "-" => SortKey::Total(None),
        LeadOrder::ScoreDesc | LeadOrder::ScoreAsc => SortKey::Total(Some(key.parse().ok()?)),
        LeadOrder::Newest | LeadOrder::RecentlyUpdated => SortKey::Time(Timestamp::from_millis(key.parse().ok()?)),
    };
    Some(Cursor { key, id: leadflow_core::LeadId(id.parse().ok()?) })
}

pub use leadflow_contract::{BatchRequest, EventRequest, LeadRequest, ModelRequest};
