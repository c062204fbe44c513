//! What the use cases on stored rule files (pipelines, SLA policies, sequences, templates) share:
//! what saving one did, and reading a stored version back.

use std::fmt::Display;

use leadflow_store::{RuleFileRecord, RuleFileVersion, StoreError};

use crate::EngineError;

/// What saving (or activating) a rule file did.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedRuleFile {
    pub version: RuleFileVersion,
    pub name: String,
    /// Whether it is now its name's active version.
    pub activated: bool,
}

/// A stored version parsed again. It parsed when it was saved, so one that no longer does is
/// a corrupt store, not the caller's mistake.
pub(crate) fn parse_stored<T, E: Display>(
    record: &RuleFileRecord,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, EngineError> {
    parse(&record.source).map_err(|error| {
        let (kind, name, version) = (record.kind.as_str(), &record.name, record.version);
        StoreError::Corrupt(format!("the stored {kind} file {name} {version} no longer parses: {error}")).into()
    })
}
