//! A change's row in the change log, the same in every backend: the field by name
//! (`employees`, `custom.plan`), each value as the JSON of its typed value
//! (`{"type": "text", "value": "02134"}`), so that text stays text and a number a number.

use leadflow_core::Timestamp;
use leadflow_core::change::FieldChange;
use leadflow_core::lead::{CustomValue, Field, FieldRef};
use leadflow_core::report::{Name, Names, PlaceField};
use std::collections::HashMap;

use crate::{ChangeCause, ChangeOrigin, StoreError, StoredChange};

/// What a backend writes for one field's change.
pub struct ChangeRow {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl ChangeRow {
    pub fn of(change: &FieldChange) -> ChangeRow {
        ChangeRow {
            field: change.field.to_string(),
            old: change.old.as_ref().map(encode),
            new: change.new.as_ref().map(encode),
        }
    }
}

/// A row read back: `id`, `at` (milliseconds), the row's field and values, its cause, actor
/// and reason.
pub fn read_change(
    id: i64,
    at: i64,
    row: ChangeRow,
    cause: &str,
    actor: Option<String>,
    reason: Option<String>,
) -> Result<StoredChange, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("change {id}: {what}"));
    let field = FieldRef::parse(&row.field).ok_or_else(|| corrupt(format!("field `{}`", row.field)))?;
    let decode = |v: Option<String>| -> Result<Option<CustomValue>, StoreError> {
        v.map(|v| serde_json::from_str(&v).map_err(|e| corrupt(format!("value `{v}`: {e}")))).transpose()
    };
    let cause = ChangeCause::parse(cause).ok_or_else(|| corrupt(format!("cause `{cause}`")))?;
    Ok(StoredChange {
        id,
        at: Timestamp::from_millis(at),
        change: FieldChange { field, old: decode(row.old)?, new: decode(row.new)? },
        origin: ChangeOrigin { cause, actor, reason },
    })
}

fn encode(value: &CustomValue) -> String {
    serde_json::to_string(value).expect("a custom value always serializes")
}

/// Reads the change log's place changes for reports, decoding each distinct value once: a
/// report over a million leads meets a handful of values (a pipeline's stage ids) millions of
/// times.
#[derive(Debug, Default)]
pub struct PlaceDecoder {
    values: HashMap<Box<str>, Name>,
}

impl PlaceDecoder {
    /// Which place field the log's `field` is.
    pub fn field(field: &str) -> Result<PlaceField, StoreError> {
        match field {
            f if f == Field::Pipeline.name() => Ok(PlaceField::Pipeline),
            f if f == Field::PipelineStage.name() => Ok(PlaceField::Stage),
            other => Err(StoreError::Corrupt(format!("`{other}` is not a place field"))),
        }
    }

    /// A logged value (the JSON of a text value) as a name.
    pub fn value(&mut self, raw: Option<&str>, names: &mut Names) -> Result<Option<Name>, StoreError> {
        let Some(raw) = raw else { return Ok(None) };
        if let Some(&name) = self.values.get(raw) {
            return Ok(Some(name));
        }
        let name = names.intern(&decode_text(raw)?);
        self.values.insert(raw.into(), name);
        Ok(Some(name))
    }
}

/// A place change's logged value as the text it holds.
pub fn place_text(raw: Option<String>) -> Result<Option<String>, StoreError> {
    raw.as_deref().map(decode_text).transpose()
}

/// The text a logged value (the JSON of a typed value) holds.
fn decode_text(raw: &str) -> Result<String, StoreError> {
    match serde_json::from_str::<CustomValue>(raw) {
        Ok(CustomValue::Text(text)) => Ok(text),
        Ok(other) => Err(StoreError::Corrupt(format!("a place change's value {other:?} is not a text"))),
        Err(_) => Err(StoreError::Corrupt(format!("a place change's value `{raw}` is not JSON"))),
    }
}
