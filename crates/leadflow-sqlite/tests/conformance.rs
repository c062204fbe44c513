//! The SQLite store passes the shared storage conformance suite, and keeps what it commits.

use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_sqlite::{SCHEMA_VERSION, SqliteStore};
use leadflow_store::{Store, StoreError, Transaction};

#[test]
fn conformance() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::cell::Cell::new(0);
    leadflow_store::conformance::run_all(|| {
        n.set(n.get() + 1);
        SqliteStore::open(&dir.path().join(format!("db{}.sqlite", n.get()))).unwrap()
    });
}

#[test]
fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leadflow.db");
    let now = Timestamp::parse("2026-07-01").unwrap();
    {
        let mut s = SqliteStore::open(&path).unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("kept@example.com").unwrap()), now, now).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("lost@example.com").unwrap()), now, now).unwrap();
        drop(tx);
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("kept@example.com").unwrap())).unwrap().is_some());
    assert!(s.lead(&LeadRef::Email(Email::parse("lost@example.com").unwrap())).unwrap().is_none());
}

#[test]
fn refuses_a_database_from_a_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leadflow.db");
    drop(SqliteStore::open(&path).unwrap());
    rusqlite_set_user_version(&path, 99);
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found: 99, known }) if known == SCHEMA_VERSION => {}
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

fn rusqlite_set_user_version(path: &std::path::Path, v: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "user_version", v).unwrap();
}

/// A database made by an earlier version (schema 1) is upgraded in place, keeping its data.
#[test]
fn upgrades_an_older_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_initial.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO leads (id, email, stage, created_at, updated_at) VALUES (7, 'old@example.com', 'lead', 0, 0)",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO scores (lead_id) VALUES (7)", []).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("old@example.com").unwrap())).unwrap().is_some());
    assert!(s.api_keys().unwrap().is_empty(), "the new table is there");
}
