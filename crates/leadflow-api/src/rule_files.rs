//! What the handlers of stored rule files (pipelines, sequences, templates) share: the version
//! a path names, and a stored version found among its kind's.

use leadflow_engine::EngineError;
use leadflow_store::{RuleFileRecord, RuleFileVersion};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{ApiError, ErrorCode};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct VersionPath {
    /// A stored version (pipelines, sequences and templates are numbered together).
    #[param(value_type = i64, minimum = 1)]
    version: String,
}

impl VersionPath {
    /// The version it names; `invalid_request` saying it is no `kind` version otherwise.
    pub(crate) fn parse(&self, kind: &str) -> Result<RuleFileVersion, ApiError> {
        let number = self.version.parse().map_err(|_| {
            ApiError::new(ErrorCode::InvalidRequest, format!("`{}` is not a {kind} version", self.version))
        })?;
        Ok(RuleFileVersion(number))
    }
}

/// The record of `version` among `records`, or `missing`.
pub(crate) fn find_version(
    records: Vec<RuleFileRecord>,
    version: RuleFileVersion,
    missing: impl FnOnce(i64) -> EngineError,
) -> Result<RuleFileRecord, ApiError> {
    Ok(records.into_iter().find(|r| r.version == version).ok_or_else(|| missing(version.0))?)
}
