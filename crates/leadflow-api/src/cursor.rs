//! The API's page cursors: opaque to clients, they say where a page of leads ended.

use leadflow_core::Timestamp;
use leadflow_store::{Cursor, LeadOrder, LeadRecord, SortKey};

/// An opaque page cursor: where a page of leads in `order` ended.
pub fn of(order: LeadOrder, last: &LeadRecord) -> String {
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
pub fn parse(cursor: &str, order: LeadOrder) -> Option<Cursor> {
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
