//! Each SQL text prepared once per connection: the driver's `execute(&str, ..)` prepares it
//! anew every time, one round trip more per statement. A connection (or a transaction on it) is
//! used through [`Cached`], which keeps the connection's prepared statements by their text.

use std::cell::{RefCell, RefMut};

use postgres::types::ToSql;
use postgres::{Client, Row, Statement, Transaction};
use rustc_hash::FxHashMap;

/// A connection's prepared statements, by their text.
pub type Statements = RefCell<FxHashMap<String, Statement>>;

/// The most statements kept: listings with filters make a text per combination.
const MOST_KEPT: usize = 512;

/// A connection, or a transaction on it, with its prepared statements.
pub struct Cached<'s, C> {
    pub conn: C,
    pub statements: &'s Statements,
}

type Param<'a> = &'a (dyn ToSql + Sync);

/// What the store's SQL runs through: the driver's four calls, on prepared statements.
pub trait Sql {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, postgres::Error>;
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, postgres::Error>;
    fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, postgres::Error>;
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, postgres::Error>;
}

macro_rules! cached_sql {
    ($($conn:ty),*) => {$(
        impl Cached<'_, $conn> {
            fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
                if let Some(statement) = self.statements.borrow().get(sql) {
                    return Ok(statement.clone());
                }
                let statement = self.conn.prepare(sql)?;
                let mut kept = self.statements.borrow_mut();
                if kept.len() >= MOST_KEPT {
                    kept.clear();
                }
                kept.insert(sql.to_string(), statement.clone());
                Ok(statement)
            }
        }

        impl Sql for Cached<'_, $conn> {
            fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, postgres::Error> {
                let statement = self.statement(sql)?;
                self.conn.execute(&statement, params)
            }

            fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, postgres::Error> {
                let statement = self.statement(sql)?;
                self.conn.query(&statement, params)
            }

            fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, postgres::Error> {
                let statement = self.statement(sql)?;
                self.conn.query_one(&statement, params)
            }

            fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, postgres::Error> {
                let statement = self.statement(sql)?;
                self.conn.query_opt(&statement, params)
            }
        }
    )*};
}

cached_sql!(Transaction<'_>, RefMut<'_, Client>, &mut Client);
