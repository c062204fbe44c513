//! What the server and the CLI need of a backend beyond the ports: to be opened from a database
//! URL, and more connections beside the writing one for reads. The binary is the one place that
//! names the backends: it picks one from the URL's scheme and runs generic code over it.

use std::time::Duration;

use crate::{DatabaseUrl, Store, StoreError};

pub trait Backend: Store + Send + Sized + 'static {
    /// Whether units of work that write may run at once on several connections (each holding
    /// the leads it scores: `Transaction::hold_for_scoring`). An embedded database that writes
    /// one transaction at a time gains nothing from more writers, only waits.
    const CONCURRENT_WRITERS: bool;

    /// Opens the database `url` names, creating it where the backend can, and brings its schema
    /// up to date.
    fn open(url: &DatabaseUrl) -> Result<Self, StoreError>;

    /// Opens a connection that only reads, beside one that writes: a server's read pool, or a
    /// command that must change nothing (`leadflow verify`). The schema must be current.
    fn open_reader(url: &DatabaseUrl) -> Result<Self, StoreError>;

    /// The database this store was opened on.
    fn url(&self) -> DatabaseUrl;

    /// How long a write waits for another writer's lock before it fails with
    /// [`StoreError::Busy`].
    fn set_write_wait(&mut self, wait: Duration) -> Result<(), StoreError>;

    /// The longest one statement may run before the database stops it and the unit of work fails
    /// with [`StoreError::TimedOut`]; `None` lets statements run. A database server stops a
    /// statement whose caller has given up, which would otherwise hold a connection and its locks;
    /// an embedded store runs statements in the calling thread, where the caller's own timeout
    /// already answers, so it may ignore this.
    fn set_statement_timeout(&mut self, timeout: Option<Duration>) -> Result<(), StoreError>;
}
