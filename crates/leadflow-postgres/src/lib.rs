//! leadflow's PostgreSQL store: one database behind several `leadflow serve` processes.
//!
//! The same ports as the embedded store, on PostgreSQL's terms. A lead's events are rows whose
//! primary key, `(lead_id, ts, seq)` with the shape included, reads them in time order and covers
//! what scoring reads, so there is no per-lead blob to rewrite and nothing to defer: a bulk unit
//! of work is an ordinary one. Writers do not exclude each other as SQLite's one
//! writer does; what must not race (the migrations, the lead id sequence) is said where it is.
//! One `PgStore` is one connection: a server opens one to write and more to read.

mod changes;
mod do_not_contact;
mod enrollments;
mod events;
mod identities;
mod jobs;
mod keys;
mod leads;
mod migrations;
mod models;
mod outbox;
mod outcomes;
mod pipelines;
mod properties;
pub mod raw;
mod rescans;
mod rows;
mod rule_files;
mod scores;
mod sends;
mod sla;
mod sql;
mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
mod tls;
mod trained;
mod users;
mod visitors;

use std::cell::{RefCell, RefMut};
use std::mem::ManuallyDrop;
use std::time::Duration;

use leadflow_core::{EventShape, EventType, LeadId, LeadRef, Profile};
use leadflow_store::prelude::*;
use leadflow_store::{Backend, DatabaseUrl, LeadRecord, ModelVersion, ShapeId, StoreError, StoreStats};
use postgres::Client;
use postgres::error::SqlState;
use postgres::types::ToSql;
use rustc_hash::FxHashMap;

use properties::{Properties, PropertyChanges};
use rows::*;
use sql::{Cached, Sql, Statements};

pub use migrations::{MIGRATIONS, SCHEMA_VERSION};

/// A query parameter, as the driver takes them.
type Param<'a> = &'a (dyn ToSql + Sync);

pub struct PgStore {
    /// Reads take `&self` and the driver takes `&mut`: one connection, used by one thread.
    /// Dropped on a thread of its own (see `Drop`).
    client: ManuallyDrop<RefCell<Client>>,
    /// The connection's prepared statements.
    statements: Statements,
    url: String,
    /// Interned shapes, so that ingesting an event costs no shape lookup.
    shapes: FxHashMap<EventShape, ShapeId>,
    /// Which properties shapes keep (see `properties.rs`).
    properties: Properties,
}

pub struct PgTx<'a> {
    tx: Cached<'a, postgres::Transaction<'a>>,
    shapes: &'a mut FxHashMap<EventShape, ShapeId>,
    /// Shapes interned by this transaction: they join the cache only if it commits.
    new_shapes: FxHashMap<EventShape, ShapeId>,
    properties: &'a mut Properties,
    /// Property names kept or seen by this transaction: they join `properties` only if it commits.
    property_changes: PropertyChanges,
    /// In a bulk unit of work (an import), the leads whose events it inserted: they are marked
    /// stale at commit, once each (an ordinary one leaves that to the engine, which scores them).
    bulk: Option<rustc_hash::FxHashSet<i64>>,
}

/// How long a write waits for a lock another writer holds before it fails with `Busy`, unless
/// set: as long as the embedded store waits.
const WRITE_WAIT: Duration = Duration::from_secs(10);

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, libpq's forms) and
    /// brings its schema up to date; servers starting together migrate one after the other.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::connect(url)?;
        migrations::migrate(store.client.get_mut())?;
        store.load_caches()?;
        Ok(store)
    }

    /// Connects to a database whose schema is current (a server's read pool).
    pub fn open_reader(url: &str) -> Result<PgStore, StoreError> {
        let mut store = PgStore::connect(url)?;
        migrations::check(store.client.get_mut())?;
        store.load_caches()?;
        Ok(store)
    }

    fn connect(url: &str) -> Result<PgStore, StoreError> {
        let mut client = Client::connect(url, tls::connector()?).map_err(backend)?;
        client
            .batch_execute(&format!("SET lock_timeout = {}; SET TIME ZONE 'UTC'", WRITE_WAIT.as_millis()))
            .map_err(backend)?;
        Ok(PgStore {
            client: ManuallyDrop::new(RefCell::new(client)),
            statements: Statements::default(),
            url: url.to_string(),
            shapes: FxHashMap::default(),
            properties: Properties::default(),
        })
    }

    fn load_caches(&mut self) -> Result<(), StoreError> {
        self.shapes = self.shapes()?.into_iter().map(|(id, s)| (s, id)).collect();
        let properties = properties::load(&mut self.conn())?;
        self.properties = properties;
        Ok(())
    }

    /// The connection, for a read.
    fn conn(&self) -> Cached<'_, RefMut<'_, Client>> {
        Cached { conn: self.client.borrow_mut(), statements: &self.statements }
    }

    /// A transaction of its own (a batch of scores, a claim).
    fn own_transaction(&mut self) -> Result<Cached<'_, postgres::Transaction<'_>>, StoreError> {
        Ok(Cached { conn: self.client.get_mut().transaction().map_err(backend)?, statements: &self.statements })
    }

    /// Whether the connection to the server is encrypted (TLS).
    pub fn encrypted(&self) -> Result<bool, StoreError> {
        let row =
            self.conn().query_opt("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).map_err(backend)?;
        Ok(row.is_some_and(|r| r.get(0)))
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        migrations::version(&mut *self.client.borrow_mut())
    }

    fn transaction(&mut self, bulk: bool) -> Result<PgTx<'_>, StoreError> {
        let PgStore { client, statements, shapes, properties, .. } = self;
        let mut tx = Cached { conn: client.get_mut().transaction().map_err(backend)?, statements };
        properties::refresh(properties, &mut tx)?;
        Ok(PgTx {
            tx,
            shapes,
            new_shapes: FxHashMap::default(),
            properties,
            property_changes: PropertyChanges::default(),
            bulk: bulk.then(Default::default),
        })
    }
}

/// The driver's client blocks on a runtime of its own, even to close, and a thread that drives
/// async tasks may not block: a server drops its engines wherever its last handle goes. So the
/// connection is closed on a thread of its own, which may always block.
impl Drop for PgStore {
    fn drop(&mut self) {
        // SAFETY: the field is never used again: this is its owner's drop.
        let client = unsafe { ManuallyDrop::take(&mut self.client) };
        let _ = std::thread::spawn(move || drop(client)).join();
    }
}

impl Backend for PgStore {
    const CONCURRENT_WRITERS: bool = true;

    fn open(url: &DatabaseUrl) -> Result<PgStore, StoreError> {
        PgStore::open(postgres_url(url)?)
    }

    fn open_reader(url: &DatabaseUrl) -> Result<PgStore, StoreError> {
        PgStore::open_reader(postgres_url(url)?)
    }

    fn url(&self) -> DatabaseUrl {
        DatabaseUrl::Postgres(self.url.clone())
    }

    fn set_write_wait(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.client.get_mut().batch_execute(&format!("SET lock_timeout = {}", wait.as_millis().max(1))).map_err(backend)
    }

    fn set_statement_timeout(&mut self, timeout: Option<Duration>) -> Result<(), StoreError> {
        // 0 is PostgreSQL's "no timeout".
        let millis = timeout.map_or(0, |t| t.as_millis().max(1));
        self.client.get_mut().batch_execute(&format!("SET statement_timeout = {millis}")).map_err(backend)
    }
}

/// The connection string a `postgres://` URL is.
fn postgres_url(url: &DatabaseUrl) -> Result<&str, StoreError> {
    match url {
        DatabaseUrl::Postgres(url) => Ok(url),
        other => Err(StoreError::Backend(format!("{other} is not a PostgreSQL database"))),
    }
}

/// A driver error as the ports say it: a lock not had in time is `Busy` (the caller may retry);
/// anything else is the backend's.
pub(crate) fn backend(e: postgres::Error) -> StoreError {
    match e.code() {
        Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy,
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE => {
            StoreError::Conflict
        }
        Some(c) if *c == SqlState::QUERY_CANCELED => StoreError::TimedOut,
        _ => {
            // With its causes: "error performing TLS handshake" alone does not say it was the
            // certificate.
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!(": {s}"));
                source = s.source();
            }
            StoreError::Backend(message)
        }
    }
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn count(conn: &mut impl Sql, sql: &str) -> Result<u64, StoreError> {
    let n: i64 = conn.query_one(sql, &[]).map_err(backend)?.get(0);
    Ok(n as u64)
}

fn lead_by(conn: &mut impl Sql, where_sql: &str, params: &[Param<'_>]) -> Result<Option<LeadRecord>, StoreError> {
    let sql = format!("SELECT {LEAD_COLUMNS} FROM leads l JOIN scores s ON s.lead_id = l.id WHERE {where_sql}");
    conn.query_opt(&sql, params).map_err(backend)?.map(|r| read_lead(&r)).transpose()
}

/// The lead by its id, or through one of its identities.
fn lead_by_ref(conn: &mut impl Sql, lead: &LeadRef) -> Result<Option<LeadRecord>, StoreError> {
    match (lead, lead.identity()) {
        (LeadRef::Id(id), _) => lead_by(conn, "l.id = $1", &[&id.0]),
        (_, Some(identity)) => lead_by(
            conn,
            "l.id = (SELECT lead_id FROM lead_identities WHERE kind = $1 AND value = $2)",
            &[&identity.kind(), &identity.value()],
        ),
        (_, None) => Ok(None),
    }
}

impl Store for PgStore {
    type Tx<'a> = PgTx<'a>;

    fn begin(&mut self) -> Result<PgTx<'_>, StoreError> {
        self.transaction(false)
    }

    /// Nothing is deferred on PostgreSQL: events are in their leads' index as they commit. A
    /// bulk unit of work marks its leads stale at commit, for the rescore that follows.
    fn begin_bulk(&mut self) -> Result<PgTx<'_>, StoreError> {
        self.transaction(true)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut conn = self.conn();
        let buckets = conn
            .query(
                "SELECT bucket, count(*) FROM scores WHERE bucket IS NOT NULL GROUP BY bucket ORDER BY 2 DESC, 1",
                &[],
            )
            .map_err(backend)?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64))
            .collect();
        Ok(StoreStats {
            leads: count(&mut conn, "SELECT count(*) FROM leads")?,
            events: count(&mut conn, "SELECT count(*) FROM events")?,
            deferred_events: 0,
            stale_leads: count(&mut conn, "SELECT count(*) FROM scores WHERE stale")?,
            mqls: count(&mut conn, "SELECT count(*) FROM leads WHERE mql_at IS NOT NULL")?,
            buckets,
        })
    }

    fn verify(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn();
        let mut problems = Vec::new();
        for (sql, what) in [
            (
                "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)",
                "events of no lead",
            ),
            (
                "SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM scores s WHERE s.lead_id = l.id)",
                "leads without a score row",
            ),
            (
                "SELECT count(*) FROM scores s WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = s.lead_id)",
                "score rows of no lead",
            ),
            (
                "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_shapes sh WHERE sh.id = e.shape_id)",
                "events of no shape",
            ),
            (
                "SELECT count(*) FROM leads l WHERE (l.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead_identities i
                     WHERE i.kind = 'email' AND i.value = l.email AND i.lead_id = l.id))
                  OR (l.external_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lead_identities i
                     WHERE i.kind = 'external' AND i.value = l.external_id AND i.lead_id = l.id))",
                "leads not reached through their own email or external id",
            ),
            (
                "SELECT count(*) FROM lead_identities i WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = i.lead_id)",
                "identities of no lead",
            ),
            (
                "SELECT count(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM jobs j
                     WHERE j.kind = 'webhook-delivery' AND j.key = d.id::TEXT)",
                "webhook deliveries without their job",
            ),
            (
                "SELECT count(*) FROM jobs j WHERE j.kind = 'webhook-delivery'
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id::TEXT = j.key)",
                "delivery jobs of no delivery",
            ),
        ] {
            let n = count(&mut conn, sql)?;
            if n > 0 {
                problems.push(format!("{n} {what}"));
            }
        }
        Ok(problems)
    }
}

impl PgTx<'_> {
    /// The lead an event with this key was stored for, if any.
    fn event_lead(&mut self, key: &leadflow_core::EventKey) -> Result<Option<LeadId>, StoreError> {
        let row = self.tx.query_opt("SELECT lead_id FROM events WHERE key = $1", &[&key.as_str()]).map_err(backend)?;
        Ok(row.map(|r| LeadId(r.get(0))))
    }

    fn shape_id(&mut self, shape: &EventShape) -> Result<ShapeId, StoreError> {
        if let Some(id) = self.shapes.get(shape).or_else(|| self.new_shapes.get(shape)) {
            return Ok(*id);
        }
        let properties = encode_properties(shape);
        let t = shape.event_type.as_str();
        // Another server may intern the same shape at the same time: the unique key settles it.
        self.tx
            .execute(
                "INSERT INTO event_shapes (type, properties) VALUES ($1, $2) ON CONFLICT (type, properties) DO NOTHING",
                &[&t, &properties],
            )
            .map_err(backend)?;
        let row = self
            .tx
            .query_one("SELECT id FROM event_shapes WHERE type = $1 AND properties = $2", &[&t, &properties])
            .map_err(backend)?;
        let id = shape_number(row.get(0))?;
        self.new_shapes.insert(shape.clone(), id);
        Ok(id)
    }
}

impl Transaction for PgTx<'_> {
    fn commit(self) -> Result<(), StoreError> {
        let PgTx { mut tx, shapes, new_shapes, properties, property_changes, bulk } = self;
        if let Some(leads) = bulk.filter(|l| !l.is_empty()) {
            mark_leads_stale(&mut tx, &leads.into_iter().collect::<Vec<_>>())?;
        }
        tx.conn.commit().map_err(backend)?;
        shapes.extend(new_shapes);
        properties.extend(property_changes);
        Ok(())
    }

    /// Row locks on the leads and their scores, taken in id order (so two batches of the same
    /// leads queue rather than deadlock). Both rows are locked, not only the lead's: under READ
    /// COMMITTED a statement that waited for a lock re-reads only the locked rows that changed,
    /// and an event's unit of work changes the score, not the lead; a profile update changes the
    /// lead, so its profile is read current too.
    fn hold_for_scoring(
        &mut self,
        leads: &[LeadId],
        model: ModelVersion,
    ) -> Result<Vec<Option<leadflow_store::HeldLead>>, StoreError> {
        let ids: Vec<i64> = leads.iter().map(|l| l.0).collect();
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {LEAD_COLUMNS}, CASE WHEN s.model_version = $2 AND NOT s.stale THEN s.state END
                     FROM unnest($1::BIGINT[]) k (id) JOIN leads l ON l.id = k.id JOIN scores s ON s.lead_id = l.id
                     ORDER BY l.id FOR NO KEY UPDATE OF l, s"
                ),
                &[&ids, &model.0],
            )
            .map_err(backend)?;
        let mut held = rustc_hash::FxHashMap::default();
        for row in &rows {
            let lead = read_lead(row)?;
            held.insert(lead.id, (lead, row.get::<_, Option<Vec<u8>>>(LEAD_COLUMN_COUNT)));
        }
        Ok(leads.iter().map(|l| held.get(l).cloned()).collect())
    }
}

/// Marks these leads' scores as awaiting a rescore, in one statement.
fn mark_leads_stale(conn: &mut impl Sql, leads: &[i64]) -> Result<(), StoreError> {
    conn.execute("UPDATE scores SET stale = TRUE, revision = revision + 1 WHERE lead_id = ANY($1)", &[&leads])
        .map_err(backend)?;
    Ok(())
}

/// A shape's id as the ports number shapes.
fn shape_number(id: i64) -> Result<ShapeId, StoreError> {
    ShapeId::try_from(id).map_err(|_| corrupt(format!("shape id {id}")))
}

pub(crate) fn shape_by_id(conn: &mut impl Sql, id: ShapeId) -> Result<EventShape, StoreError> {
    let row = conn
        .query_one("SELECT type, properties FROM event_shapes WHERE id = $1", &[&i64::from(id)])
        .map_err(backend)?;
    decode_shape(row.get(0), row.get(1))
}

/// `EventType` is re-validated on the way out: a row we cannot read is corruption, not a panic.
fn decode_shape(event_type: &str, properties: &str) -> Result<EventShape, StoreError> {
    let t = EventType::parse(event_type).map_err(|e| corrupt(e.to_string()))?;
    let properties = serde_json::from_str(properties).map_err(|e| corrupt(format!("event properties: {e}")))?;
    Ok(EventShape { event_type: t, properties })
}

fn encode_properties(shape: &EventShape) -> String {
    serde_json::to_string(&shape.properties).expect("a map of strings always serializes")
}

fn encode_custom(p: &Profile) -> String {
    serde_json::to_string(&p.custom).expect("custom values always serialize")
}

fn active_version(conn: &mut impl Sql) -> Result<Option<ModelVersion>, StoreError> {
    let row = conn.query_opt("SELECT value FROM settings WHERE key = 'active_model'", &[]).map_err(backend)?;
    row.map(|r| {
        let v: String = r.get(0);
        v.parse().map(ModelVersion).map_err(|_| corrupt(format!("active_model = {v}")))
    })
    .transpose()
}
