//! For tests (feature `testing`): a fresh schema on the test server `LEADFLOW_TEST_PG_URL` names,
//! dropped with its guard, so that each test has a database of its own on one server.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The test server. Tests never skip: without one they fail and say how to get one.
pub fn server() -> String {
    std::env::var("LEADFLOW_TEST_PG_URL").expect(
        "set LEADFLOW_TEST_PG_URL to a PostgreSQL server the tests may create schemas on \
         (scripts/test starts a throwaway one)",
    )
}

/// A schema of its own on the test server, dropped (with everything in it) when this is.
pub struct Schema {
    name: String,
}

impl Schema {
    pub fn create() -> Schema {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("lf_test_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut admin = postgres::Client::connect(&server(), postgres::NoTls).expect("the test server answers");
        admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")).unwrap();
        Schema { name }
    }

    /// The server's URL with this schema first on the search path: a database of its own.
    pub fn url(&self) -> String {
        let base = server();
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}options=-csearch_path%3D{}", self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&server(), postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
