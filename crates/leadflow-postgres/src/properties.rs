//! Which event properties shapes keep, and the rest set aside per event (as in the embedded
//! store: `leadflow-sqlite/src/properties.rs` says why).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::sql::Sql;
use leadflow_core::EventShape;
use rustc_hash::FxHashMap;

pub use leadflow_store::{KeptProperties as Properties, PropertyChanges};

use crate::{StoreError, backend, corrupt};

/// The kept names, from `shape_keys`.
pub fn load(conn: &mut impl Sql) -> Result<Properties, StoreError> {
    let mut properties = Properties::default();
    reload(&mut properties, conn)?;
    Ok(properties)
}

/// Reads the kept names again if another server added some (they are only ever added, so a
/// count tells).
pub fn refresh(properties: &mut Properties, conn: &mut impl Sql) -> Result<(), StoreError> {
    let count: i64 = conn.query_one("SELECT count(*) FROM shape_keys", &[]).map_err(backend)?.get(0);
    if count as usize != properties.kept_count() { reload(properties, conn) } else { Ok(()) }
}

fn reload(properties: &mut Properties, conn: &mut impl Sql) -> Result<(), StoreError> {
    let rows = conn.query("SELECT name FROM shape_keys", &[]).map_err(backend)?;
    properties.reload(rows.iter().map(|r| r.get(0)));
    Ok(())
}

pub fn encode(aside: &Option<BTreeMap<String, String>>) -> Option<String> {
    aside.as_ref().map(|a| serde_json::to_string(a).expect("a map of strings always serializes"))
}

pub fn decode(extra: Option<&str>) -> Result<BTreeMap<String, String>, StoreError> {
    match extra {
        None => Ok(BTreeMap::new()),
        Some(json) => serde_json::from_str(json).map_err(|e| corrupt(format!("event properties: {e}"))),
    }
}

/// Records that events of `shape`'s type have had the set-aside names.
pub fn record_seen(
    conn: &mut impl Sql,
    shape: &EventShape,
    aside: &BTreeMap<String, String>,
    known: &Properties,
    changes: &mut PropertyChanges,
) -> Result<(), StoreError> {
    for pair in known.newly_seen(shape, aside, changes) {
        conn.execute(
            "INSERT INTO event_properties (type, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&pair.0, &pair.1],
        )
        .map_err(backend)?;
    }
    Ok(())
}

/// Every property name each event type has had, kept in shapes or set aside.
pub fn seen(conn: &mut impl Sql) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rows = conn
        .query(
            "SELECT type, name FROM event_properties
             UNION SELECT sh.type, k FROM event_shapes sh, jsonb_object_keys(sh.properties::jsonb) k",
            &[],
        )
        .map_err(backend)?;
    for r in rows {
        out.entry(r.get(0)).or_default().insert(r.get(1));
    }
    for r in conn.query("SELECT DISTINCT type FROM event_shapes", &[]).map_err(backend)? {
        out.entry(r.get(0)).or_default();
    }
    Ok(out)
}

/// Keeps `names` in shapes from now on. Returns the names that were not kept yet.
pub fn keep(
    conn: &mut impl Sql,
    names: &BTreeSet<String>,
    known: &Properties,
    changes: &mut PropertyChanges,
) -> Result<HashSet<String>, StoreError> {
    let new = known.newly_kept(names, changes);
    for name in &new {
        conn.execute("INSERT INTO shape_keys (name) VALUES ($1) ON CONFLICT DO NOTHING", &[name]).map_err(backend)?;
    }
    Ok(new)
}

/// One event whose shape changed: its row (`None` for an anonymous one) and what it was sent as.
pub struct Reshaped {
    pub row: Option<(i64, i64)>,
    pub sent: EventShape,
    pub key: String,
}

/// The events (of leads and of anonymous visitors) that set aside one of `new` names.
pub fn to_reshape(conn: &mut impl Sql, new: &HashSet<String>) -> Result<Vec<Reshaped>, StoreError> {
    let mut shapes: FxHashMap<i64, EventShape> = FxHashMap::default();
    let mut out = Vec::new();
    for (sql, anonymous) in [
        ("SELECT lead_id, seq, shape_id, extra, key FROM events WHERE extra IS NOT NULL", false),
        ("SELECT 0::BIGINT, 0::BIGINT, shape_id, extra, key FROM visitor_events WHERE extra IS NOT NULL", true),
    ] {
        for r in conn.query(sql, &[]).map_err(backend)? {
            let extra: String = r.get(3);
            let aside = decode(Some(&extra))?;
            if !aside.keys().any(|k| new.contains(k)) {
                continue;
            }
            let shape_id: i64 = r.get(2);
            let shape = match shapes.get(&shape_id) {
                Some(s) => s.clone(),
                None => {
                    let s = crate::shape_by_id(conn, crate::shape_number(shape_id)?)?;
                    shapes.insert(shape_id, s.clone());
                    s
                }
            };
            out.push(Reshaped {
                row: (!anonymous).then(|| (r.get(0), r.get(1))),
                sent: shape.joined(aside),
                key: r.get(4),
            });
        }
    }
    Ok(out)
}

/// Stores an event's new shape and what it still sets aside.
pub fn write_reshaped(
    conn: &mut impl Sql,
    event: &Reshaped,
    shape: i64,
    extra: Option<&str>,
) -> Result<(), StoreError> {
    match event.row {
        Some((lead, seq)) => conn.execute(
            "UPDATE events SET shape_id = $3, extra = $4 WHERE lead_id = $1 AND seq = $2",
            &[&lead, &seq, &shape, &extra],
        ),
        None => conn.execute(
            "UPDATE visitor_events SET shape_id = $2, extra = $3 WHERE key = $1",
            &[&event.key, &shape, &extra],
        ),
    }
    .map_err(backend)?;
    Ok(())
}
