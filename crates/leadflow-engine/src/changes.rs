//! A lead's change log as people read it: what changed, when, by whom; the profile as it was at
//! an instant, rebuilt from today's by undoing what came after; and the stages it went through.

use leadflow_core::change::{FieldChange, profile_at};
use leadflow_core::stages::{StageSpan, stage_history};
use leadflow_core::{LeadRef, Profile, Timestamp};
use leadflow_store::{LeadRecord, Store, StoreError, StoredChange};

use crate::{Engine, EngineError};

/// A lead's changes with their times, oldest first: what the core's replays read.
type Log = Vec<(Timestamp, FieldChange)>;

impl<S: Store> Engine<S> {
    /// The lead's changes, newest first, at most `limit`; `None` when no lead is named so.
    pub fn changes(&self, lead: &LeadRef, limit: usize) -> Result<Option<Vec<StoredChange>>, EngineError> {
        let Some(record) = self.store.lead(lead)? else {
            return Ok(None);
        };
        Ok(Some(self.store.changes_of(record.id, limit)?))
    }

    /// The lead's profile as it was at `at` (as it is now, for an instant after its last
    /// change); `None` when no lead is named so.
    pub fn profile_at(&self, lead: &LeadRef, at: Timestamp) -> Result<Option<Profile>, EngineError> {
        let Some((record, log)) = self.whole_log(lead)? else {
            return Ok(None);
        };
        let profile = profile_at(&record.profile, &log, at)
            .map_err(|e| StoreError::Corrupt(format!("the change log of lead {}: {e}", record.id)))?;
        Ok(Some(profile))
    }

    /// The stages the lead went through since it was created, oldest first, the last one open;
    /// `None` when no lead is named so.
    pub fn stage_history(&self, lead: &LeadRef) -> Result<Option<Vec<StageSpan>>, EngineError> {
        let Some((record, log)) = self.whole_log(lead)? else {
            return Ok(None);
        };
        Ok(Some(stage_history(record.created_at, record.profile.stage, &log)))
    }

    /// The lead as it is, and every change of it with its time, oldest first.
    fn whole_log(&self, lead: &LeadRef) -> Result<Option<(LeadRecord, Log)>, EngineError> {
        let Some(record) = self.store.lead(lead)? else {
            return Ok(None);
        };
        let log = self.store.changes_of(record.id, usize::MAX)?;
        let mut log: Log = log.into_iter().rev().map(|c| (c.at, c.change)).collect();
        // In time order, as logged within an instant: an imported history is appended after
        // what leadflow recorded since (see `history_import`).
        log.sort_by_key(|(at, _)| *at);
        Ok(Some((record, log)))
    }
}
