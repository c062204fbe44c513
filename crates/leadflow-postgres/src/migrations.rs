//! Versioned migrations, applied in order and recorded in `schema_migrations`. Servers that
//! start together take turns: each migrates under one advisory lock, in a transaction, and finds
//! the work done when it gets the lock after another.

use leadflow_store::StoreError;
use postgres::Client;

use crate::backend;

/// The migrations, oldest first. Shipped ones are never edited: a change is a new file.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_schema.sql"),
    include_str!("../migrations/0002_events_one_index_per_lead.sql"),
    include_str!("../migrations/0003_schedule.sql"),
    include_str!("../migrations/0004_score_revisions.sql"),
    include_str!("../migrations/0005_lead_changes.sql"),
    include_str!("../migrations/0006_jobs.sql"),
    include_str!("../migrations/0007_rule_files_and_pipelines.sql"),
    include_str!("../migrations/0008_users_and_assignment.sql"),
    include_str!("../migrations/0009_tasks.sql"),
    include_str!("../migrations/0010_sla_clocks.sql"),
    include_str!("../migrations/0011_tracking_notifications.sql"),
    include_str!("../migrations/0012_leads_by_mql_time.sql"),
    include_str!("../migrations/0013_lead_identities.sql"),
    include_str!("../migrations/0014_deliveries_on_the_job_queue.sql"),
    include_str!("../migrations/0015_lead_changes_by_place.sql"),
    include_str!("../migrations/0016_sequence_enrollments.sql"),
    include_str!("../migrations/0017_nurture_sends_and_do_not_contact.sql"),
    include_str!("../migrations/0018_what_came_back_of_each_send.sql"),
    include_str!("../migrations/0019_user_signatures.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock migrations take: any number, the same in every leadflow ("lf" "mg").
const MIGRATION_LOCK: i64 = 0x6c66_6d67;

pub fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(backend)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        .map_err(backend)?;
    let current = version(&mut tx)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found: current, known: SCHEMA_VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&(i as i64 + 1)]).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

/// A reader needs the schema this build writes: it never migrates.
pub fn check(client: &mut Client) -> Result<(), StoreError> {
    let found = version(client)?;
    if found != SCHEMA_VERSION {
        return Err(StoreError::Backend(format!("a reader needs schema {SCHEMA_VERSION}; the database is at {found}")));
    }
    Ok(())
}

pub fn version(conn: &mut impl postgres::GenericClient) -> Result<i64, StoreError> {
    let exists: bool =
        conn.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).map_err(backend)?.get(0);
    if !exists {
        return Ok(0);
    }
    Ok(conn.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).map_err(backend)?.get(0))
}
