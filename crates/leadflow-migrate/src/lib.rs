//! Copies an embedded leadflow database (SQLite) into PostgreSQL, exactly: `leadflow migrate`.
//!
//! A storage crate, the one that knows both schemas. The copy is one PostgreSQL transaction
//! that empties the target's tables, streams every table of the source into them with binary
//! `COPY` (ids kept as they are), moves the id sequences past the copied ids, checks row counts
//! and checksums against the source, and only then records where the copy came from and commits.
//! So a failed copy leaves the target as it was, and running it again on the same source
//! replaces the earlier copy with a fresh one. The source is read in one read transaction: one
//! snapshot, whatever writes the file meanwhile.

mod cell;
mod tables;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use leadflow_sqlite::SqliteStore;
use leadflow_store::{DatabaseUrl, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use rusqlite::{Connection, OpenFlags};

use cell::{Cell, Kind};
use tables::{COPIED, ONLY_IN_SOURCE, ONLY_IN_TARGET, Table};

/// The `settings` key naming the source a target was copied from (its canonical path): what
/// lets a second copy of the same source replace the first without `replace`.
pub const MARKER: &str = "migrated_from";

/// Rows between two progress reports: often enough for a bar, rarely enough to cost nothing.
const REPORT_EVERY: u64 = 10_000;

/// How long opening the source waits for a lock another process holds (WAL recovery).
const SOURCE_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, Default)]
pub struct CopyOptions {
    /// Replace what the target holds even when it is not an earlier copy of this source.
    pub replace: bool,
}

/// Told how a copy goes, table by table.
pub trait Progress {
    /// A table's copy starts, with this many rows to copy.
    fn table(&mut self, table: &'static str, rows: u64);
    /// This many more rows of the current table are copied.
    fn copied(&mut self, rows: u64);
}

/// What the target held before the copy replaced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    Nothing,
    /// An earlier copy of the same source.
    EarlierCopy,
    /// Other data, replaced as `replace` asked.
    OtherData,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// The source, as its canonical path (what the marker records).
    pub source: PathBuf,
    pub replaced: Replaced,
    /// Every table the copy knows, in the order it copied them.
    pub tables: Vec<TableCopy>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCopy {
    pub table: &'static str,
    pub fate: Fate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Copied, and the target's row count and checksums equal the source's.
    Copied { rows: u64 },
    /// The source has no such table (it predates it): the target's is left empty.
    NotInSource,
    /// The target has no such table, and the source's holds no rows.
    NotInTarget,
    /// Neither has such a table (a build that lists it ahead of the migrations adding it).
    InNeither,
}

/// Which side of the copy a problem is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Source => "the SQLite source",
            Side::Target => "the PostgreSQL target",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0} is not a PostgreSQL database: the target is named postgres://USER@HOST/DB")]
    NotPostgres(DatabaseUrl),
    #[error("no SQLite database at {0}")]
    NoSource(PathBuf),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("opening the SQLite source: {0}")]
    OpenSource(StoreError),
    #[error("opening the PostgreSQL target: {0}")]
    OpenTarget(StoreError),
    // Kept as a value, not a source: its message already carries its cause, which a chain
    // would print twice.
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
    /// The driver's error with its causes.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error("an import into the source is still running ({0} events not yet indexed): copy once it has finished")]
    ImportRunning(u64),
    #[error("{side} has a table `{table}` this build does not know how to copy: nothing was changed")]
    UnknownTable { side: Side, table: String },
    #[error("the source's table `{table}` holds {rows} rows, and the target has no such table: nothing was changed")]
    NoTargetTable { table: &'static str, rows: u64 },
    #[error("column `{table}.{column}` of {side} has no column of that name on the other side: nothing was changed")]
    Unmapped { side: Side, table: &'static str, column: String },
    #[error("column `{table}.{column}` of the target is of type {pg_type}, which the copy cannot fill")]
    UnsupportedType { table: &'static str, column: String, pg_type: Type },
    #[error("`{table}.{column}`, row {row} of the source: {reason}; nothing was changed")]
    Value { table: &'static str, column: String, row: u64, reason: String },
    #[error(
        "the target already holds leadflow data (in {tables}) that is not a copy of {copying}{}: nothing was changed; \
         `--replace` replaces it",
        copy_of(.migrated_from)
    )]
    TargetHoldsData { tables: String, copying: String, migrated_from: Option<String> },
    #[error(
        "the copy does not check out, so nothing was changed: in `{table}`, {check} is {in_source} in the source and {in_target} in the target"
    )]
    Mismatch { table: &'static str, check: String, in_source: i64, in_target: i64 },
}

fn copy_of(migrated_from: &Option<String>) -> String {
    migrated_from.as_ref().map(|from| format!(" (it is a copy of {from})")).unwrap_or_default()
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> MigrateError {
        MigrateError::Sqlite(e)
    }
}

impl From<postgres::Error> for MigrateError {
    /// The driver's message only names the kind of failure ("db error"); the server's own words
    /// are its cause.
    fn from(e: postgres::Error) -> MigrateError {
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            message.push_str(&format!(": {c}"));
            cause = c.source();
        }
        MigrateError::Postgres(message)
    }
}

/// Copies the SQLite database `source` into the PostgreSQL database `target` (whose schema is
/// created or brought up to date first), replacing what the target held: nothing, an earlier
/// copy of the same source, or, with `options.replace`, anything. All or nothing.
pub fn copy_sqlite_to_postgres(
    source: &Path,
    target: &DatabaseUrl,
    options: CopyOptions,
    progress: &mut dyn Progress,
) -> Result<CopyReport, MigrateError> {
    let DatabaseUrl::Postgres(url) = target else { return Err(MigrateError::NotPostgres(target.clone())) };
    // Opening it as a store would create a missing file: a mistyped path must fail, not copy an
    // empty database over the target.
    if !source.is_file() {
        return Err(MigrateError::NoSource(source.to_path_buf()));
    }
    let source = std::fs::canonicalize(source).map_err(|error| MigrateError::Io { path: source.into(), error })?;
    // Its store brings the schema up to date and finishes an import that crashed; then it is
    // only read.
    drop(SqliteStore::open(&source).map_err(MigrateError::OpenSource)?);
    let mut sqlite =
        Connection::open_with_flags(&source, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    sqlite.busy_timeout(SOURCE_WAIT)?;
    let snapshot = sqlite.transaction()?;
    let from = Source::read(&snapshot)?;

    let mut client = leadflow_postgres::raw::connect_migrated(url).map_err(MigrateError::OpenTarget)?;
    let mut tx = client.transaction()?;
    let target_tables = target_tables(&mut tx)?;
    if let Some(t) = target_tables.iter().find(|t| tables::copied(t).is_none() && !tables::only_in(ONLY_IN_TARGET, t)) {
        return Err(MigrateError::UnknownTable { side: Side::Target, table: t.clone() });
    }
    let present: Vec<&'static Table> = COPIED.iter().filter(|t| target_tables.contains(t.name)).collect();
    for table in COPIED.iter().filter(|t| !target_tables.contains(t.name) && from.tables.contains(t.name)) {
        let rows = count(&snapshot, table.name)?;
        if rows > 0 {
            return Err(MigrateError::NoTargetTable { table: table.name, rows });
        }
    }

    // Nobody writes the target while it is replaced, and two copies do not both find it empty.
    let names = present.iter().map(|t| quoted(t.name)).collect::<Vec<_>>().join(", ");
    tx.batch_execute(&format!("LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))?;
    let canonical = source.to_string_lossy().into_owned();
    let replaced = what_is_replaced(&mut tx, &present, &canonical, options)?;
    tx.batch_execute(&format!("TRUNCATE {names} RESTART IDENTITY"))?;

    let mut report = CopyReport { source: source.clone(), replaced, tables: Vec::new() };
    for table in COPIED {
        let fate = match (target_tables.contains(table.name), from.tables.contains(table.name)) {
            (true, true) => {
                copy_table(&snapshot, &mut tx, table, progress)?;
                Fate::Copied { rows: verify(&snapshot, &mut tx, table)? }
            }
            (true, false) => Fate::NotInSource,
            (false, true) => Fate::NotInTarget,
            (false, false) => Fate::InNeither,
        };
        report.tables.push(TableCopy { table: table.name, fate });
    }
    move_sequences(&mut tx, &present, &from.sequences)?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&MARKER, &canonical],
    )?;
    tx.commit()?;
    Ok(report)
}

/// What the copy needs to know of the source before it starts.
struct Source {
    /// leadflow's tables (not SQLite's own `sqlite_*`).
    tables: HashSet<String>,
    /// `sqlite_sequence`: the highest id an AUTOINCREMENT table ever gave, per table, which
    /// stays used after its row is deleted (a deleted lead's id is never given again).
    sequences: HashMap<String, i64>,
}

impl Source {
    fn read(snapshot: &Connection) -> Result<Source, MigrateError> {
        let mut stmt = snapshot.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let all: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let tables: HashSet<String> = all.iter().filter(|t| !t.starts_with("sqlite_")).cloned().collect();
        if let Some(t) = tables.iter().find(|t| tables::copied(t).is_none() && !tables::only_in(ONLY_IN_SOURCE, t)) {
            return Err(MigrateError::UnknownTable { side: Side::Source, table: t.clone() });
        }
        // Events an import stored but has not folded into their leads' blobs have not marked
        // those leads stale yet: a copy of that moment would keep their old scores as current.
        let deferred: i64 = snapshot.query_row(
            "SELECT count(*) FROM events e JOIN activity_tail t ON e.seq BETWEEN t.first_seq AND t.last_seq",
            [],
            |r| r.get(0),
        )?;
        if deferred > 0 {
            return Err(MigrateError::ImportRunning(deferred as u64));
        }
        let mut sequences = HashMap::new();
        if all.iter().any(|t| t == "sqlite_sequence") {
            let mut stmt = snapshot.prepare("SELECT name, seq FROM sqlite_sequence")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (table, seq) = row?;
                sequences.insert(table, seq);
            }
        }
        Ok(Source { tables, sequences })
    }
}

/// The target's tables: those of the schema its connection works in (the first on its search
/// path, as the store's own queries resolve them).
fn target_tables(tx: &mut postgres::Transaction<'_>) -> Result<HashSet<String>, MigrateError> {
    let rows = tx.query(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        &[],
    )?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether the copy may replace what the target holds, and what that is.
fn what_is_replaced(
    tx: &mut postgres::Transaction<'_>,
    present: &[&'static Table],
    source: &str,
    options: CopyOptions,
) -> Result<Replaced, MigrateError> {
    let mut held = Vec::new();
    for table in present {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quoted(table.name));
        if tx.query_one(&sql, &[])?.get::<_, bool>(0) {
            held.push(table.name);
        }
    }
    if held.is_empty() {
        return Ok(Replaced::Nothing);
    }
    let marker: Option<String> =
        tx.query_opt("SELECT value FROM settings WHERE key = $1", &[&MARKER])?.map(|r| r.get(0));
    if marker.as_deref() == Some(source) {
        Ok(Replaced::EarlierCopy)
    } else if options.replace {
        Ok(Replaced::OtherData)
    } else {
        Err(MigrateError::TargetHoldsData { tables: held.join(", "), copying: source.into(), migrated_from: marker })
    }
}

/// Streams one table: rows are read one at a time and the driver sends them as its buffer
/// fills, so no table is ever held in memory whole.
fn copy_table(
    source: &Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &'static Table,
    progress: &mut dyn Progress,
) -> Result<(), MigrateError> {
    let columns = mapped_columns(source, tx, table.name)?;
    let list = columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", ");
    let select = format!("SELECT {list} FROM {}", quoted(table.name));
    // The target's types, which each value is converted to (the same SELECT names the same
    // columns, in the same order, on both sides).
    let types: Vec<Type> = tx.prepare(&select)?.columns().iter().map(|c| c.type_().clone()).collect();
    let kinds = columns
        .iter()
        .zip(&types)
        .map(|(column, ty)| {
            Kind::of(ty).ok_or_else(|| MigrateError::UnsupportedType {
                table: table.name,
                column: column.clone(),
                pg_type: ty.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    progress.table(table.name, count(source, table.name)?);
    let mut read = source.prepare(&select)?;
    let mut rows = read.query([])?;
    let copy = tx.copy_in(&format!("COPY {} ({list}) FROM STDIN (FORMAT binary)", quoted(table.name)))?;
    let mut writer = BinaryCopyInWriter::new(copy, &types);
    let mut n = 0u64;
    while let Some(row) = rows.next()? {
        n += 1;
        let cells = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                kind.cell(row.get_ref(i)?).map_err(|reason| MigrateError::Value {
                    table: table.name,
                    column: columns[i].clone(),
                    row: n,
                    reason,
                })
            })
            .collect::<Result<Vec<Cell<'_>>, _>>()?;
        writer.write_raw(cells.iter().map(Cell::as_sql))?;
        if n.is_multiple_of(REPORT_EVERY) {
            progress.copied(REPORT_EVERY);
        }
    }
    progress.copied(n % REPORT_EVERY);
    writer.finish()?;
    Ok(())
}

/// The target's columns of a table, in its order, each matched by name to one of the source's:
/// the two schemas order them differently (`events` leads with `lead_id` on PostgreSQL, with
/// `seq` on SQLite), and a column either side lacks is a schema change the copy must not paper
/// over.
fn mapped_columns(
    source: &Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &'static str,
) -> Result<Vec<String>, MigrateError> {
    let target: Vec<String> = tx
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut stmt = source.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let source: Vec<String> = stmt.query_map([table], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let unmapped = |side, theirs: &[String], ours: &[String]| {
        theirs.iter().find(|c| !ours.contains(c)).map(|c| MigrateError::Unmapped { side, table, column: c.clone() })
    };
    match unmapped(Side::Target, &target, &source).or_else(|| unmapped(Side::Source, &source, &target)) {
        Some(e) => Err(e),
        None => Ok(target),
    }
}

/// Compares the copied table with the source: its row count, then each checksum. Returns the
/// rows.
fn verify(source: &Connection, tx: &mut postgres::Transaction<'_>, table: &'static Table) -> Result<u64, MigrateError> {
    let rows = same(source, tx, table, "count(*)")?;
    for check in table.checks {
        same(source, tx, table, check)?;
    }
    Ok(rows as u64)
}

/// An aggregate of the table, equal on both sides, or the mismatch.
fn same(
    source: &Connection,
    tx: &mut postgres::Transaction<'_>,
    table: &'static Table,
    check: &str,
) -> Result<i64, MigrateError> {
    let sql = format!("SELECT CAST(coalesce({check}, 0) AS BIGINT) FROM {}", quoted(table.name));
    let theirs: i64 = source.query_row(&sql, [], |r| r.get(0))?;
    let ours: i64 = tx.query_one(&sql, &[])?.get(0);
    if theirs != ours {
        return Err(MigrateError::Mismatch {
            table: table.name,
            check: check.into(),
            in_source: theirs,
            in_target: ours,
        });
    }
    Ok(theirs)
}

/// Moves every identity sequence of the copied tables past the highest id the source used, so
/// that ids generated from now on never collide with copied ones, nor reuse a deleted lead's.
fn move_sequences(
    tx: &mut postgres::Transaction<'_>,
    present: &[&'static Table],
    kept: &HashMap<String, i64>,
) -> Result<(), MigrateError> {
    let identities = tx.query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
        &[],
    )?;
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        if !present.iter().any(|t| t.name == table) {
            continue;
        }
        let sql = format!("SELECT coalesce(max({}), 0) FROM {}", quoted(&column), quoted(&table));
        let highest: i64 = tx.query_one(&sql, &[])?.get(0);
        let last = highest.max(kept.get(&table).copied().unwrap_or(0));
        // An empty table's sequence stays where TRUNCATE ... RESTART IDENTITY put it: at its start.
        if last > 0 {
            // The table's name is parsed as SQL (quoted); the column's is taken as it is.
            tx.execute("SELECT setval(pg_get_serial_sequence($1, $2), $3)", &[&quoted(&table), &column, &last])?;
        }
    }
    Ok(())
}

fn count(source: &Connection, table: &str) -> Result<u64, MigrateError> {
    let n: i64 = source.query_row(&format!("SELECT count(*) FROM {}", quoted(table)), [], |r| r.get(0))?;
    Ok(n as u64)
}

/// An identifier as both dialects read it, whatever it is (`key`, `type` and `at` are words).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
