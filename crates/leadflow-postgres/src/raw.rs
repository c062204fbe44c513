//! The database beneath the ports, for storage code that must speak SQL to it directly (copying
//! an embedded database in, `leadflow-migrate`): a connection made the way a store's is (TLS as
//! the URL's `sslmode` says, the same lock wait, UTC), on a schema brought up to date first.

use leadflow_store::StoreError;
use postgres::Client;

use crate::{WRITE_WAIT, backend, migrations, tls};

/// Connects to the database at `url` and migrates its schema to this build's, as
/// [`crate::PgStore::open`] does. The driver blocks on a runtime of its own, even to close: use
/// and drop the client on a thread that may block, never on an async runtime's.
pub fn connect_migrated(url: &str) -> Result<Client, StoreError> {
    let mut client = Client::connect(url, tls::connector()?).map_err(backend)?;
    client
        .batch_execute(&format!("SET lock_timeout = {}; SET TIME ZONE 'UTC'", WRITE_WAIT.as_millis()))
        .map_err(backend)?;
    migrations::migrate(&mut client)?;
    Ok(client)
}
