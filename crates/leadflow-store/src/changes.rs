//! A change's row in the change log, the same in every backend: the field by name
//! (`employees`, `custom.plan`), each value as the JSON of its typed value
//! (`{"type": "text", "value": "02134"}`), so that text stays text and a number a number.

use leadflow_core::Timestamp;
use leadflow_core::change::FieldChange;
use leadflow_core::lead::{CustomValue, FieldRef};

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
