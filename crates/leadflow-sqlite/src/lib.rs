//! leadflow's embedded store: one SQLite file, bundled, zero set-up.
//!
//! Durability: WAL with `synchronous = FULL`, so a committed transaction survives a crash or a
//! power cut; a crash mid-transaction leaves nothing of it.

mod activity;
mod changes;
mod do_not_contact;
mod enrollments;
mod events;
mod identities;
mod jobs;
mod keys;
mod leads;
mod models;
mod outbox;
mod outcomes;
mod pipelines;
mod properties;
mod rescans;
mod rows;
mod rule_files;
mod scores;
mod sends;
mod sla;
mod tasks;
mod trained;
mod users;
mod visitors;
mod webhooks;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rustc_hash::FxHashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use leadflow_core::change::FieldChange;
use leadflow_core::{
    EventShape, EventType, Identity, LeadId, LeadRef, LifecycleStage, Outcome, OutcomeKind, Profile, Role, Timestamp,
    Topic, VisitorId,
};
use leadflow_store::prelude::*;
use leadflow_store::{
    AnonymousEvent, ApiKeyRecord, AttemptOutcome, ChangeOrigin, ChangeRow, ClaimedDelivery, DatabaseUrl, DeliveryClaim,
    DeliveryRecord, HistoryEntry, Inserted, JobTicket, LeadOrder, LeadQuery, LeadRecord, ModelRecord, ModelVersion,
    NewEvent, Notification, RescoreItem, RescoreVisitor, ScanRequest, ScanScope, ScanWrite, ScoreRevision, ScoreWrite,
    ShapeId, SortKey, StateWrite, StoreError, StoreStats, StoredChange, StoredEvent, StoredPrediction, StoredScore,
    TrainedRecord, WebhookRecord, read_change,
};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use properties::{Properties, PropertyChanges};
use rows::*;

/// The schema version this build creates and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How many events bulk transactions may leave unfolded before one folds them all.
const FOLD_EVERY: i64 = 5_000_000;

/// How long a write waits for another process's write lock by default.
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// Each shipped migration's SQL, in order: migration N is `MIGRATIONS[N - 1]` (tests build the
/// databases older versions made from them).
pub const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_api_keys.sql"),
    include_str!("../migrations/0003_webhooks_and_visitors.sql"),
    include_str!("../migrations/0004_outcomes.sql"),
    include_str!("../migrations/0005_predictions.sql"),
    include_str!("../migrations/0006_public_quota.sql"),
    include_str!("../migrations/0007_lead_ids_never_reused.sql"),
    include_str!("../migrations/0008_leads_without_email.sql"),
    include_str!("../migrations/0009_properties_set_aside.sql"),
    include_str!("../migrations/0010_delivery_claims.sql"),
    include_str!("../migrations/0011_schedule.sql"),
    include_str!("../migrations/0012_score_revisions.sql"),
    include_str!("../migrations/0013_lead_changes.sql"),
    include_str!("../migrations/0014_jobs.sql"),
    include_str!("../migrations/0015_rule_files_and_pipelines.sql"),
    include_str!("../migrations/0016_users_and_assignment.sql"),
    include_str!("../migrations/0017_tasks.sql"),
    include_str!("../migrations/0018_sla_clocks.sql"),
    include_str!("../migrations/0019_tracking_notifications.sql"),
    include_str!("../migrations/0020_leads_by_mql_time.sql"),
    include_str!("../migrations/0021_lead_identities.sql"),
    include_str!("../migrations/0022_deliveries_on_the_job_queue.sql"),
    include_str!("../migrations/0023_lead_changes_by_place.sql"),
    include_str!("../migrations/0024_sequence_enrollments.sql"),
    include_str!("../migrations/0025_nurture_sends_and_do_not_contact.sql"),
    include_str!("../migrations/0026_what_came_back_of_each_send.sql"),
    include_str!("../migrations/0027_user_signatures.sql"),
];

pub struct SqliteStore {
    conn: Connection,
    /// Interned shapes, so that ingesting an event costs no shape lookup.
    shapes: FxHashMap<EventShape, ShapeId>,
    /// Which properties shapes keep (see `properties.rs`).
    properties: Properties,
    path: std::path::PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let mut store = SqliteStore {
            conn: open_connection(path, false)?,
            shapes: FxHashMap::default(),
            properties: Properties::default(),
            path: path.to_path_buf(),
        };
        store.migrate()?;
        store.shapes = store.shapes()?.into_iter().map(|(id, s)| (s, id)).collect();
        store.properties = properties::load(&store.conn)?;
        store.finish_interrupted_bulk()?;
        Ok(store)
    }

    /// Opens a database for reading only, beside a process (or connection) that writes it: a
    /// server's read pool. It takes no lock beyond a reader's, and any write through it fails.
    /// The schema must be current (open it with [`SqliteStore::open`] first).
    pub fn open_reader(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = open_connection(path, true)?;
        // Each reader keeps a smaller cache than the writer: there are several, and the OS's
        // page cache is shared among them.
        conn.execute_batch("PRAGMA cache_size = -65536;").map_err(backend)?;
        let mut store = SqliteStore {
            conn,
            shapes: FxHashMap::default(),
            properties: Properties::default(),
            path: path.to_path_buf(),
        };
        let version: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        let known = MIGRATIONS.len() as i64;
        if version != known {
            return Err(StoreError::Backend(format!("a reader needs schema {known}; the database is at {version}")));
        }
        store.shapes = store.shapes()?.into_iter().map(|(id, s)| (s, id)).collect();
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(StoreError::SchemaTooNew { found: current, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = self.conn.transaction().map_err(backend)?;
            tx.execute_batch(sql).map_err(backend)?;
            tx.pragma_update(None, "user_version", i as i64 + 1).map_err(backend)?;
            tx.commit().map_err(backend)?;
        }
        Ok(())
    }

    /// Finishes a bulk import that stopped before it could (a crash), unless another process is
    /// writing: that is likely the import itself, still running, and it finishes its own.
    fn finish_interrupted_bulk(&mut self) -> Result<(), StoreError> {
        let pending: bool =
            self.conn.query_row("SELECT EXISTS (SELECT 1 FROM activity_tail)", [], |r| r.get(0)).map_err(backend)?;
        if !pending {
            return Ok(());
        }
        self.conn.busy_timeout(Duration::ZERO).map_err(backend)?;
        let result = self.finish_bulk();
        self.conn.busy_timeout(WRITE_WAIT).map_err(backend)?;
        match result {
            Ok(_) | Err(StoreError::Busy) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Finishes what bulk transactions deferred: their events join the per-lead blobs and their
    /// leads are marked stale. Reads the deferred events in seq order (sequential), then rewrites
    /// each touched lead's blob in lead order (sequential too): one pass, however many batches
    /// deferred them. Idempotent; returns how many events it folded in. Scans run it first, a
    /// bulk transaction runs it once a few million events wait, and opening the store runs it
    /// after a crash.
    pub fn finish_bulk(&mut self) -> Result<u64, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        let folded = fold_tail(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(folded)
    }

    /// How long a write waits for another process's write lock (an import, a rescore) before
    /// it fails with [`StoreError::Busy`]; 10 s unless set.
    pub fn set_write_wait(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.conn.busy_timeout(wait).map_err(backend)
    }

    /// A unit of work holding the write lock. An ordinary one first folds in what bulk
    /// transactions of other processes deferred (we hold the lock, so none is half done): it sees
    /// every committed event. A bulk one defers its own events' indexing.
    fn transaction(&mut self, bulk: bool) -> Result<SqliteTx<'_>, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        if !bulk {
            fold_tail(&tx)?;
        }
        properties::refresh(&mut self.properties, &tx)?;
        Ok(SqliteTx {
            tx,
            shapes: &mut self.shapes,
            new_shapes: FxHashMap::default(),
            properties: &mut self.properties,
            property_changes: PropertyChanges::default(),
            pending: FxHashMap::default(),
            bulk: bulk.then_some(None),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)
    }
}

impl leadflow_store::Backend for SqliteStore {
    const CONCURRENT_WRITERS: bool = false;

    fn open(url: &DatabaseUrl) -> Result<SqliteStore, StoreError> {
        SqliteStore::open(sqlite_file(url)?)
    }

    fn open_reader(url: &DatabaseUrl) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_reader(sqlite_file(url)?)
    }

    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::sqlite(&self.path)
    }

    /// Statements run in the caller's thread, in-process: the request's own timeout answers the
    /// caller, and SQLite has no server-side timeout to set.
    fn set_statement_timeout(&mut self, _timeout: Option<Duration>) -> Result<(), StoreError> {
        Ok(())
    }

    fn set_write_wait(&mut self, wait: Duration) -> Result<(), StoreError> {
        SqliteStore::set_write_wait(self, wait)
    }
}

/// The file a `sqlite://` URL names.
fn sqlite_file(url: &DatabaseUrl) -> Result<&Path, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(path),
        other => Err(StoreError::Backend(format!("{other} is not an SQLite database"))),
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let conn = if read_only {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(path, flags)
    } else {
        Connection::open(path)
    }
    .map_err(backend)?;
    conn.busy_timeout(WRITE_WAIT).map_err(backend)?;
    let journal = if read_only { "" } else { "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;" };
    conn.execute_batch(&format!(
        "{journal}
         PRAGMA foreign_keys = OFF;
         PRAGMA cache_size = -1048576;
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn lead_by(
    conn: &Connection,
    where_sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Option<LeadRecord>, StoreError> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads l JOIN scores s ON s.lead_id = l.id WHERE {where_sql}");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    stmt.query_row(params, read_lead).optional().map_err(backend)?.transpose()
}

/// The lead by its id, or through one of its identities.
fn lead_by_ref(conn: &Connection, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
    match lead.identity() {
        None => lead_by(conn, "l.id = ?1", &[&lead_id_of(lead)]),
        Some(identity) => lead_by(
            conn,
            "l.id = (SELECT lead_id FROM lead_identities WHERE kind = ?1 AND value = ?2)",
            &[&identity.kind(), &identity.value()],
        ),
    }
}

/// The id a [`LeadRef::Id`] gives (0, which no lead has, for the others).
fn lead_id_of(lead: &LeadRef) -> i64 {
    if let LeadRef::Id(id) = lead { id.0 } else { 0 }
}

impl Store for SqliteStore {
    type Tx<'a> = SqliteTx<'a>;

    fn begin(&mut self) -> Result<SqliteTx<'_>, StoreError> {
        self.transaction(false)
    }

    fn begin_bulk(&mut self) -> Result<SqliteTx<'_>, StoreError> {
        self.transaction(true)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let one = |sql: &str| -> Result<u64, StoreError> {
            self.conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(backend)
        };
        let mut stmt = self
            .conn
            .prepare("SELECT bucket, count(*) FROM scores WHERE bucket IS NOT NULL GROUP BY bucket ORDER BY 2 DESC, 1")
            .map_err(backend)?;
        let buckets = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        Ok(StoreStats {
            leads: one("SELECT count(*) FROM leads")?,
            events: one("SELECT count(*) FROM events")?,
            deferred_events: one(
                "SELECT count(*) FROM events e JOIN activity_tail t ON e.seq BETWEEN t.first_seq AND t.last_seq",
            )?,
            stale_leads: one("SELECT count(*) FROM scores WHERE stale = 1")?,
            mqls: one("SELECT count(*) FROM leads WHERE mql_at IS NOT NULL")?,
            buckets,
        })
    }

    fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut problems: Vec<String> = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA quick_check").map_err(backend)?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0)).map_err(backend)? {
            match row.map_err(backend)? {
                ok if ok == "ok" => {}
                problem => problems.push(format!("SQLite: {problem}")),
            }
        }
        let count =
            |sql: &str| -> Result<i64, StoreError> { self.conn.query_row(sql, [], |r| r.get(0)).map_err(backend) };
        for (sql, what) in [
            ("SELECT count(*) FROM events WHERE lead_id NOT IN (SELECT id FROM leads)", "events of no lead"),
            ("SELECT count(*) FROM leads WHERE id NOT IN (SELECT lead_id FROM scores)", "leads without a score row"),
            ("SELECT count(*) FROM scores WHERE lead_id NOT IN (SELECT id FROM leads)", "score rows of no lead"),
            ("SELECT count(*) FROM events WHERE shape_id NOT IN (SELECT id FROM event_shapes)", "events of no shape"),
            (
                "SELECT count(*) FROM leads l WHERE (l.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead_identities i
                     WHERE i.kind = 'email' AND i.value = l.email AND i.lead_id = l.id))
                  OR (l.external_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead_identities i
                     WHERE i.kind = 'external' AND i.value = l.external_id AND i.lead_id = l.id))",
                "leads not reached through their own email or external id",
            ),
            ("SELECT count(*) FROM lead_identities WHERE lead_id NOT IN (SELECT id FROM leads)", "identities of no lead"),
            (
                "SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM jobs j
                     WHERE j.kind = 'webhook-delivery' AND j.key = CAST(d.id AS TEXT))",
                "webhook deliveries without their job",
            ),
            (
                "SELECT count(*) FROM jobs j WHERE j.kind = 'webhook-delivery'
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = CAST(j.key AS INTEGER))",
                "delivery jobs of no delivery",
            ),
        ] {
            let n = count(sql)?;
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        // Every event is in its lead's blob, or deferred: the blobs hold exactly the rest.
        let mut indexed = 0i64;
        let mut blobs = self.conn.prepare("SELECT packed FROM activity").map_err(backend)?;
        let mut rows = blobs.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let bytes = row.get_ref(0).map_err(backend)?.as_blob().map_err(|e| backend(e.into()))?;
            indexed += activity::decode_all(bytes)?.len() as i64;
        }
        let stats = self.stats()?;
        let expected = (stats.events - stats.deferred_events) as i64;
        if indexed != expected {
            problems.push(format!("the per-lead index holds {indexed} events, not {expected}"));
        }
        Ok(problems)
    }
}

/// The next batch of a scan: leads after `after`, with their activity where no state stands in.
fn read_batch(conn: &Connection, request: &ScanRequest, after: i64) -> Result<Vec<RescoreItem>, StoreError> {
    let filter = match request.scope {
        ScanScope::All => "",
        ScanScope::NeedingRescore(_) => "AND (s.stale = 1 OR s.total IS NULL OR s.model_version IS NOT ?3)",
    };
    // A state is worth reading only if it may be used.
    let state = if request.states_of.is_some() { "s.state" } else { "NULL" };
    let sql = format!(
        "SELECT {LEAD_COLUMNS}, {state}, s.revision FROM leads l JOIN scores s ON s.lead_id = l.id
         WHERE l.id > ?1 {filter} ORDER BY l.id LIMIT ?2"
    );
    let batch = request.batch.max(1);
    let mut items = Vec::with_capacity(batch);
    {
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let mut rows = match request.scope {
            ScanScope::All => stmt.query(params![after, batch as i64]),
            ScanScope::NeedingRescore(model) => stmt.query(params![after, batch as i64, model.0]),
        }
        .map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let lead = read_lead(row).map_err(backend)??;
            let state = row.get(LEAD_COLUMN_COUNT).map_err(backend)?;
            let revision = ScoreRevision(row.get(LEAD_COLUMN_COUNT + 1).map_err(backend)?);
            items.push(RescoreItem::of(lead, state, request.states_of, revision));
        }
    }
    load_activity(conn, &mut items)?;
    Ok(items)
}

/// One range scan over the batch's leads, unpacking the activity of those without a state.
fn load_activity(conn: &Connection, items: &mut [RescoreItem]) -> Result<(), StoreError> {
    let need: Vec<usize> = (0..items.len()).filter(|&i| items[i].state.is_none()).collect();
    let (Some(&first), Some(&last)) = (need.first(), need.last()) else {
        return Ok(());
    };
    let index: HashMap<i64, usize> = need.iter().map(|&i| (items[i].id.0, i)).collect();
    let mut stmt =
        conn.prepare_cached("SELECT lead_id, packed FROM activity WHERE lead_id BETWEEN ?1 AND ?2").map_err(backend)?;
    let mut rows = stmt.query(params![items[first].id.0, items[last].id.0]).map_err(backend)?;
    for &i in &need {
        items[i].activity.clear();
    }
    while let Some(row) = rows.next().map_err(backend)? {
        let lead: i64 = row.get(0).map_err(backend)?;
        let Some(&slot) = index.get(&lead) else {
            continue;
        };
        let packed = row.get_ref(1).map_err(backend)?.as_blob().map_err(|e| backend(e.into()))?;
        let activity = &mut items[slot].activity;
        activity::decode(packed, |it| activity.push((it.ts, it.shape)))?;
    }
    Ok(())
}

fn read_api_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ApiKeyRecord, StoreError>> {
    let role: String = r.get(2)?;
    let record = ApiKeyRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::Admin,
        prefix: r.get(3)?,
        created_at: Timestamp::from_millis(r.get(4)?),
        revoked_at: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_millis),
    };
    Ok(Role::parse(&role)
        .map(|role| ApiKeyRecord { role, ..record })
        .ok_or_else(|| StoreError::Corrupt(format!("api key role `{role}`"))))
}

/// A lead's packed activity, oldest first (empty for a lead without events).
/// A lead's events as (time, shape), oldest first.
/// The ranges of events bulk transactions stored without folding them into `activity`.
fn tail_ranges(conn: &Connection) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT first_seq, last_seq FROM activity_tail").map_err(backend)?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)
}

/// Folds every deferred event into its lead's blob and marks those leads stale, in the caller's
/// transaction; returns how many events it folded.
fn fold_tail(tx: &Connection) -> Result<u64, StoreError> {
    let ranges = tail_ranges(tx)?;
    if ranges.is_empty() {
        return Ok(0);
    }
    let mut tail: Vec<(i64, activity::Item)> = Vec::new();
    {
        let mut stmt =
            tx.prepare("SELECT seq, lead_id, ts, shape_id FROM events WHERE seq BETWEEN ?1 AND ?2").map_err(backend)?;
        for (first, last) in ranges {
            let mut rows = stmt.query([first, last]).map_err(backend)?;
            while let Some(r) = rows.next().map_err(backend)? {
                let shape: i64 = r.get(3).map_err(backend)?;
                let item = activity::Item {
                    seq: r.get(0).map_err(backend)?,
                    ts: Timestamp::from_millis(r.get(2).map_err(backend)?),
                    shape: shape as ShapeId,
                };
                tail.push((r.get(1).map_err(backend)?, item));
            }
        }
    }
    tail.sort_unstable_by_key(|(lead, item)| (*lead, *item));
    for group in tail.chunk_by(|a, b| a.0 == b.0) {
        let lead = group[0].0;
        let new: Vec<activity::Item> = group.iter().map(|(_, item)| *item).collect();
        let mut items = packed_activity(tx, lead)?;
        activity::merge(&mut items, &new);
        tx.prepare_cached("INSERT OR REPLACE INTO activity (lead_id, packed) VALUES (?1, ?2)")
            .map_err(backend)?
            .execute(params![lead, activity::encode(&items)])
            .map_err(backend)?;
        tx.prepare_cached("UPDATE scores SET stale = 1, revision = revision + 1 WHERE lead_id = ?1")
            .map_err(backend)?
            .execute([lead])
            .map_err(backend)?;
    }
    tx.execute("DELETE FROM activity_tail", []).map_err(backend)?;
    Ok(tail.len() as u64)
}

/// A lead's events as `activity` packs them, with those a bulk transaction (an import running
/// in another process, or one that crashed) committed and nobody has folded in yet: a read sees
/// every committed event. The deferred ones are found by scanning their seq ranges, which is
/// slower, and lasts only until the next write folds them.
fn lead_items(conn: &Connection, lead: i64) -> Result<Vec<activity::Item>, StoreError> {
    // Nothing deferred (nearly always): the blob is all there is, read without a transaction.
    // Events deferred after this check committed after it, and the read may leave them out.
    if tail_ranges(conn)?.is_empty() {
        return packed_activity(conn, lead);
    }
    // One snapshot for the blob and the tail: a fold by another process between the two reads
    // would otherwise hide the folded events from this one.
    if conn.is_autocommit() {
        let snapshot = conn.unchecked_transaction().map_err(backend)?;
        return deferred_and_packed(&snapshot, lead);
    }
    deferred_and_packed(conn, lead)
}

fn deferred_and_packed(conn: &Connection, lead: i64) -> Result<Vec<activity::Item>, StoreError> {
    let mut items = packed_activity(conn, lead)?;
    let ranges = tail_ranges(conn)?;
    let mut deferred = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT seq, ts, shape_id FROM events WHERE seq BETWEEN ?1 AND ?2 AND lead_id = ?3")
        .map_err(backend)?;
    for (first, last) in ranges {
        let mut rows = stmt.query([first, last, lead]).map_err(backend)?;
        while let Some(r) = rows.next().map_err(backend)? {
            let shape: i64 = r.get(2).map_err(backend)?;
            deferred.push(activity::Item {
                seq: r.get(0).map_err(backend)?,
                ts: Timestamp::from_millis(r.get(1).map_err(backend)?),
                shape: shape as ShapeId,
            });
        }
    }
    deferred.sort_unstable();
    activity::merge(&mut items, &deferred);
    Ok(items)
}

fn activity_with_shapes(conn: &Connection, lead: LeadId) -> Result<Vec<(Timestamp, EventShape)>, StoreError> {
    let items = lead_items(conn, lead.0)?;
    let mut shapes: FxHashMap<ShapeId, EventShape> = FxHashMap::default();
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let shape = match shapes.entry(it.shape) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(shape_by_id(conn, it.shape)?),
        };
        out.push((it.ts, shape.clone()));
    }
    Ok(out)
}

fn packed_activity(conn: &Connection, lead: i64) -> Result<Vec<activity::Item>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT packed FROM activity WHERE lead_id = ?1").map_err(backend)?;
    let mut rows = stmt.query([lead]).map_err(backend)?;
    match rows.next().map_err(backend)? {
        None => Ok(Vec::new()),
        Some(row) => activity::decode_all(row.get_ref(0).map_err(backend)?.as_blob().map_err(|e| backend(e.into()))?),
    }
}

fn active_version(conn: &Connection) -> Result<Option<ModelVersion>, StoreError> {
    conn.prepare_cached("SELECT value FROM settings WHERE key = 'active_model'")
        .and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, String>(0)))
        .optional()
        .map_err(backend)?
        .map(|v| v.parse().map(ModelVersion).map_err(|_| StoreError::Corrupt(format!("active_model = {v}"))))
        .transpose()
}

/// Writes `w`; with `read`, only over that revision of the lead's score (a scan's write), and
/// says whether it did.
fn write_score(conn: &Connection, w: &ScoreWrite, read: Option<ScoreRevision>) -> Result<bool, StoreError> {
    let v = &w.score.values;
    let recorded = w.history.as_ref().map(|h| h.after.total);
    // ?11 says what to do with the state: 0 keep, 1 clear, 2 set to ?12.
    let (state_action, state): (i64, Option<&[u8]>) = match &w.state {
        StateWrite::Keep => (0, None),
        StateWrite::Clear => (1, None),
        StateWrite::Set(bytes) => (2, Some(bytes)),
    };
    let mut stmt = conn
        .prepare_cached(
            "UPDATE scores SET model_version = ?2, as_of = ?3, fit = ?4, engagement = ?5, total = ?6, bucket = ?7,
                    grade = ?8, stale = ?9, recorded_total = coalesce(?10, recorded_total),
                    state = CASE ?11 WHEN 0 THEN state ELSE ?12 END, revision = revision + 1
             WHERE lead_id = ?1 AND (?13 IS NULL OR revision = ?13)",
        )
        .map_err(backend)?;
    let changed = stmt
        .execute(params![
            w.lead.0,
            w.score.model_version.0,
            w.score.as_of.millis(),
            v.fit,
            v.engagement,
            v.total,
            v.bucket,
            v.grade.letter(),
            w.score.stale,
            recorded,
            state_action,
            state,
            read.map(|r| r.0),
        ])
        .map_err(backend)?;
    if changed == 0 {
        // A scan's lead may have been rescored, or merged away, since: left alone either way.
        return if read.is_some() { Ok(false) } else { Err(StoreError::NoSuchLead(w.lead)) };
    }
    if let Some(h) = &w.history {
        insert_history(conn, w.lead, h)?;
    }
    for n in &w.notifications {
        outbox::notify(conn, n)?;
    }
    if !w.changes.is_empty() {
        changes::record(conn, w.lead, w.score.as_of, &ChangeOrigin::mql_rule(), &w.changes)?;
    }
    // The stages are `LifecycleStage::moves_to_mql_on_qualifying`'s, whose move the log records.
    if let Some(at) = w.mql_at {
        conn.prepare_cached(
            "UPDATE leads SET mql_at = ?2,
                 stage = CASE WHEN stage IN ('subscriber', 'lead', 'recycled') THEN 'mql' ELSE stage END
             WHERE id = ?1 AND mql_at IS NULL",
        )
        .map_err(backend)?
        .execute(params![w.lead.0, at.millis()])
        .map_err(backend)?;
    }
    Ok(true)
}

fn insert_history(conn: &Connection, lead: LeadId, h: &HistoryEntry) -> Result<(), StoreError> {
    let before = h.before.as_ref();
    conn.prepare_cached(
        "INSERT INTO score_history (lead_id, at, cause, detail, model_version, old_fit, old_engagement, old_total,
             old_bucket, old_grade, new_fit, new_engagement, new_total, new_bucket, new_grade, became_mql)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .map_err(backend)?
    .execute(params![
        lead.0,
        h.at.millis(),
        h.cause.kind(),
        h.cause.detail(),
        h.model_version.0,
        before.map(|b| b.fit),
        before.map(|b| b.engagement),
        before.map(|b| b.total),
        before.map(|b| b.bucket.as_str()),
        before.map(|b| b.grade.letter()),
        h.after.fit,
        h.after.engagement,
        h.after.total,
        h.after.bucket,
        h.after.grade.letter(),
        h.became_mql,
    ])
    .map_err(backend)?;
    Ok(())
}

pub struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    shapes: &'a mut FxHashMap<EventShape, ShapeId>,
    /// Shapes interned by this transaction: they join the cache only if it commits.
    new_shapes: FxHashMap<EventShape, ShapeId>,
    properties: &'a mut Properties,
    /// Property names kept or seen by this transaction: they join `properties` only if it commits.
    property_changes: PropertyChanges,
    /// Events inserted by this transaction, by lead, not yet merged into `activity`: each lead's
    /// blob is rewritten once per transaction, not once per event.
    pending: FxHashMap<i64, Vec<activity::Item>>,
    /// In a bulk transaction, the range of seqs it inserted, left for `finish_bulk` to fold.
    bulk: Option<Option<(i64, i64)>>,
}

impl SqliteTx<'_> {
    /// Merges the pending events into their leads' activity blobs.
    fn flush_activity(&mut self) -> Result<(), StoreError> {
        let mut leads: Vec<i64> = self.pending.keys().copied().collect();
        leads.sort_unstable();
        for lead in leads {
            let new = self.pending.remove(&lead).expect("listed above");
            let mut items = packed_activity(&self.tx, lead)?;
            activity::merge(&mut items, &new);
            self.tx
                .prepare_cached("INSERT OR REPLACE INTO activity (lead_id, packed) VALUES (?1, ?2)")
                .map_err(backend)?
                .execute(params![lead, activity::encode(&items)])
                .map_err(backend)?;
        }
        Ok(())
    }

    fn event_exists(&self, key: &leadflow_core::EventKey) -> Result<bool, StoreError> {
        Ok(self.event_lead(key)?.is_some())
    }

    /// The lead an event with this key was stored for, if any.
    fn event_lead(&self, key: &leadflow_core::EventKey) -> Result<Option<LeadId>, StoreError> {
        self.tx
            .prepare_cached("SELECT lead_id FROM events WHERE key = ?1")
            .map_err(backend)?
            .query_row([key.as_str()], |r| r.get(0))
            .optional()
            .map(|id| id.map(LeadId))
            .map_err(backend)
    }

    /// What a key already taken means for an event of `lead`.
    fn taken(&self, key: &leadflow_core::EventKey, lead: LeadId) -> Result<Inserted, StoreError> {
        Ok(match self.event_lead(key)? {
            Some(other) if other != lead => Inserted::OtherLead(other),
            _ => Inserted::Duplicate,
        })
    }

    fn shape_id(&mut self, shape: &EventShape) -> Result<ShapeId, StoreError> {
        if let Some(id) = self.shapes.get(shape) {
            return Ok(*id);
        }
        if let Some(id) = self.new_shapes.get(shape) {
            return Ok(*id);
        }
        let properties = encode_properties(shape);
        let t = shape.event_type.as_str();
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO event_shapes (type, properties) VALUES (?1, ?2)")
            .map_err(backend)?
            .execute(params![t, properties])
            .map_err(backend)?;
        let id: i64 = self
            .tx
            .prepare_cached("SELECT id FROM event_shapes WHERE type = ?1 AND properties = ?2")
            .map_err(backend)?
            .query_row(params![t, properties], |r| r.get(0))
            .map_err(backend)?;
        let id = id as ShapeId;
        self.new_shapes.insert(shape.clone(), id);
        Ok(id)
    }
}

impl Transaction for SqliteTx<'_> {
    fn commit(mut self) -> Result<(), StoreError> {
        self.flush_activity()?;
        if let Some(Some((first, last))) = self.bulk {
            self.tx
                .execute("INSERT INTO activity_tail (first_seq, last_seq) VALUES (?1, ?2)", params![first, last])
                .map_err(backend)?;
            // Folded every few million events: enough to make each pass over the leads worth
            // it, few enough to bound the memory a pass takes.
            let deferred: i64 = self
                .tx
                .query_row("SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM activity_tail", [], |r| r.get(0))
                .map_err(backend)?;
            if deferred >= FOLD_EVERY {
                fold_tail(&self.tx)?;
            }
        }
        let SqliteTx { tx, shapes, new_shapes, properties, property_changes, .. } = self;
        tx.commit().map_err(backend)?;
        shapes.extend(new_shapes);
        properties.extend(property_changes);
        Ok(())
    }
}

pub(crate) fn shape_by_id(conn: &Connection, id: ShapeId) -> Result<EventShape, StoreError> {
    let (t, p): (String, String) = conn
        .prepare_cached("SELECT type, properties FROM event_shapes WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(backend)?;
    decode_shape(&t, &p)
}

/// `EventType` is re-validated on the way out: a row we cannot read is corruption, not a panic.
fn decode_shape(event_type: &str, properties: &str) -> Result<EventShape, StoreError> {
    let t = EventType::parse(event_type).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let properties =
        serde_json::from_str(properties).map_err(|e| StoreError::Corrupt(format!("event properties: {e}")))?;
    Ok(EventShape { event_type: t, properties })
}

fn encode_properties(shape: &EventShape) -> String {
    serde_json::to_string(&shape.properties).expect("a map of strings always serializes")
}

/// The profile's columns, in the order [`profile_values`] gives their values.
const PROFILE_COLUMNS: [&str; 19] = [
    "email",
    "external_id",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "department",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "city",
    "company_type",
    "source",
    "owner",
    "stage",
    "custom",
    "pipeline",
    "pipeline_stage",
];

fn profile_values<'a>(p: &'a Profile, custom: &'a str) -> [ToSqlOutput<'a>; 19] {
    let text = |s: &'a str| ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()));
    let null = ToSqlOutput::Borrowed(ValueRef::Null);
    let opt_text = |s: &'a Option<String>| s.as_deref().map_or(null.clone(), text);
    let opt_number = |x: Option<f64>| x.map_or(null.clone(), |x| ToSqlOutput::Borrowed(ValueRef::Real(x)));
    [
        p.email.as_ref().map_or(null.clone(), |e| text(e.as_str())),
        p.external_id.as_ref().map_or(null.clone(), |x| text(x.as_str())),
        opt_text(&p.first_name),
        opt_text(&p.last_name),
        opt_text(&p.company),
        opt_text(&p.job_title),
        opt_text(&p.department),
        opt_text(&p.industry),
        opt_number(p.employees),
        opt_number(p.annual_revenue),
        opt_text(&p.country),
        opt_text(&p.city),
        opt_text(&p.company_type),
        opt_text(&p.source),
        opt_text(&p.owner),
        text(p.stage.name()),
        text(custom),
        opt_text(&p.pipeline),
        opt_text(&p.pipeline_stage),
    ]
}

fn encode_custom(p: &Profile) -> String {
    serde_json::to_string(&p.custom).expect("custom values always serialize")
}

/// The error for a write that gave a lead an email or external id another lead has.
fn constraint_column(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            msg.rsplit(": ").next()
        }
        _ => None,
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Busy
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DatabaseCorrupt => {
            StoreError::Corrupt(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
