//! Which event properties shapes keep, and the rest set aside per event.
//!
//! A shape holds an event's type and the properties some model's rules look at (`shape_keys`);
//! every other property (a session id, a request id, a URL no rule reads) goes into the event's
//! own `extra` column. Shapes so stay as few as the values rules can tell apart, however many
//! distinct values the set-aside properties have. The names only grow: a model that looks at a
//! new property adds it, and [`reshape`] moves it from `extra` into the shapes of the events that
//! have it. The bookkeeping is the store crate's (`KeptProperties`); the SQL is here.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use leadflow_core::EventShape;
use rusqlite::{Connection, params};
use rustc_hash::FxHashMap;

pub use leadflow_store::{KeptProperties as Properties, PropertyChanges};

use crate::{StoreError, backend};

/// The kept names, from `shape_keys`.
pub fn load(conn: &Connection) -> Result<Properties, StoreError> {
    let mut properties = Properties::default();
    reload(&mut properties, conn)?;
    Ok(properties)
}

/// Reads the kept names again if another process added some (they are only ever added, so a
/// count tells).
pub fn refresh(properties: &mut Properties, conn: &Connection) -> Result<(), StoreError> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM shape_keys")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)?;
    if count as usize != properties.kept_count() { reload(properties, conn) } else { Ok(()) }
}

fn reload(properties: &mut Properties, conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT name FROM shape_keys").map_err(backend)?;
    let names: Vec<String> =
        stmt.query_map([], |r| r.get(0)).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)?;
    properties.reload(names);
    Ok(())
}

pub fn encode(aside: &Option<BTreeMap<String, String>>) -> Option<String> {
    aside.as_ref().map(|a| serde_json::to_string(a).expect("a map of strings always serializes"))
}

pub fn decode(extra: Option<&str>) -> Result<BTreeMap<String, String>, StoreError> {
    match extra {
        None => Ok(BTreeMap::new()),
        Some(json) => serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("event properties: {e}"))),
    }
}

/// Records that events of `shape`'s type have had the set-aside names (the kept ones are in the
/// shapes already).
pub fn record_seen(
    conn: &Connection,
    shape: &EventShape,
    aside: &BTreeMap<String, String>,
    known: &Properties,
    changes: &mut PropertyChanges,
) -> Result<(), StoreError> {
    for pair in known.newly_seen(shape, aside, changes) {
        conn.prepare_cached("INSERT OR IGNORE INTO event_properties (type, name) VALUES (?1, ?2)")
            .map_err(backend)?
            .execute(params![pair.0, pair.1])
            .map_err(backend)?;
    }
    Ok(())
}

/// Every property name each event type has had, kept in shapes or set aside.
pub fn seen(conn: &Connection) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT type, name FROM event_properties
             UNION SELECT sh.type, j.key FROM event_shapes sh, json_each(sh.properties) j",
        )
        .map_err(backend)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(backend)?;
    for row in rows {
        let (t, name) = row.map_err(backend)?;
        out.entry(t).or_default().insert(name);
    }
    let mut types = conn.prepare("SELECT DISTINCT type FROM event_shapes").map_err(backend)?;
    for t in types.query_map([], |r| r.get::<_, String>(0)).map_err(backend)? {
        out.entry(t.map_err(backend)?).or_default();
    }
    Ok(out)
}

/// Keeps `names` in shapes from now on. Returns the names that were not kept yet (already
/// recorded in `changes`), for [`reshape`].
pub fn keep(
    conn: &Connection,
    names: &BTreeSet<String>,
    known: &Properties,
    changes: &mut PropertyChanges,
) -> Result<HashSet<String>, StoreError> {
    let new = known.newly_kept(names, changes);
    for name in &new {
        conn.prepare_cached("INSERT OR IGNORE INTO shape_keys (name) VALUES (?1)")
            .map_err(backend)?
            .execute([name])
            .map_err(backend)?;
    }
    Ok(new)
}

/// One event whose shape changed: its row, lead (`None` for an anonymous one) and new shape.
pub struct Reshaped {
    pub seq: Option<i64>,
    pub lead: Option<i64>,
    pub sent: EventShape,
    pub key: String,
}

/// The events (of leads and of anonymous visitors) that set aside one of `new` names, with what
/// they were sent as; their shapes must be made again.
pub fn to_reshape(conn: &Connection, new: &HashSet<String>) -> Result<Vec<Reshaped>, StoreError> {
    let mut shapes: FxHashMap<u32, EventShape> = FxHashMap::default();
    let mut out = Vec::new();
    for (sql, anonymous) in [
        ("SELECT seq, lead_id, shape_id, extra, key FROM events WHERE extra IS NOT NULL", false),
        ("SELECT NULL, NULL, shape_id, extra, key FROM visitor_events WHERE extra IS NOT NULL", true),
    ] {
        let mut stmt = conn.prepare(sql).map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let extra: String = r.get(3).map_err(backend)?;
            let aside = decode(Some(&extra))?;
            if !aside.keys().any(|k| new.contains(k)) {
                continue;
            }
            let shape_id: u32 = r.get(2).map_err(backend)?;
            let shape = match shapes.get(&shape_id) {
                Some(s) => s.clone(),
                None => {
                    let s = crate::shape_by_id(conn, shape_id)?;
                    shapes.insert(shape_id, s.clone());
                    s
                }
            };
            out.push(Reshaped {
                seq: if anonymous { None } else { r.get(0).map_err(backend)? },
                lead: if anonymous { None } else { r.get(1).map_err(backend)? },
                sent: shape.joined(aside),
                key: r.get(4).map_err(backend)?,
            });
        }
    }
    Ok(out)
}

/// Stores an event's new shape and what it still sets aside.
pub fn write_reshaped(conn: &Connection, event: &Reshaped, shape: u32, extra: Option<&str>) -> Result<(), StoreError> {
    match event.seq {
        Some(seq) => conn
            .prepare_cached("UPDATE events SET shape_id = ?2, extra = ?3 WHERE seq = ?1")
            .map_err(backend)?
            .execute(params![seq, shape, extra]),
        None => conn
            .prepare_cached("UPDATE visitor_events SET shape_id = ?2, extra = ?3 WHERE key = ?1")
            .map_err(backend)?
            .execute(params![event.key, shape, extra]),
    }
    .map_err(backend)?;
    Ok(())
}
