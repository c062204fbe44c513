//! Learning from outcomes, with no IO: tables in, models and metrics out.
//!
//! - [`Table`]: named columns, numeric (missing as NaN) or categorical (missing as `None`).
//! - [`gbdt`]: histogram gradient-boosted trees for binary outcomes (log loss), with native
//!   categorical splits and missing values sent to whichever side fits them best.
//! - [`metrics`]: ROC AUC and friends.

pub mod bins;
pub mod evaluate;
pub mod gbdt;
pub mod leakage;
pub mod linear;
pub mod metrics;
mod table;

pub use table::{Column, Table, TableError};
