//! What the server and the CLI need of a backend beyond the ports: to be opened from a database
//! URL, and more connections beside the writing one for reads. The binary is the one place that
//! names the backends: it picks one from the URL's scheme and runs generic code over it.

use std::time::Duration;

use crate::{DatabaseUrl, Store, StoreError};

pub trait Backend: Store + Send + Sized + 'static {
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
}
