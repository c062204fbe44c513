//! The PostgreSQL store passes the shared storage conformance suite, each check in a schema of
//! its own on the server `LEADFLOW_TEST_PG_URL` names (`scripts/test` starts a throwaway one).

use leadflow_core::{Email, LeadRef, Profile, Timestamp};
use leadflow_postgres::testing::Schema;
use leadflow_postgres::{PgStore, SCHEMA_VERSION};
use leadflow_store::prelude::*;

/// The shared suite, one test per check.
mod conformance {
    use leadflow_postgres::PgStore;
    use leadflow_postgres::testing::Schema;

    fn fresh() -> (PgStore, Schema) {
        let schema = Schema::create();
        (PgStore::open(&schema.url()).unwrap(), schema)
    }

    leadflow_store::conformance_tests!(fresh);
}

#[test]
fn committed_data_survives_reconnecting_and_a_dropped_transaction_leaves_nothing() {
    let schema = Schema::create();
    let now = Timestamp::parse("2026-07-01").unwrap();
    {
        let mut s = PgStore::open(&schema.url()).unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("kept@example.com").unwrap()), now, now).unwrap();
        tx.commit().unwrap();
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &Profile::new(Email::parse("lost@example.com").unwrap()), now, now).unwrap();
        drop(tx);
    }
    let s = PgStore::open_reader(&schema.url()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(s.lead(&LeadRef::Email(Email::parse("kept@example.com").unwrap())).unwrap().is_some());
    assert!(s.lead(&LeadRef::Email(Email::parse("lost@example.com").unwrap())).unwrap().is_none());
}

/// Servers that start together on a new database migrate it once between them.
#[test]
fn servers_starting_together_migrate_once() {
    let schema = Schema::create();
    let url = schema.url();
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for handle in opened {
        assert_eq!(handle.join().unwrap().unwrap(), SCHEMA_VERSION);
    }
}
