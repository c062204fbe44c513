//! A lead's change log as people read it: what changed, when, by whom; and the profile as it
//! was at an instant, rebuilt from today's by undoing what came after.

use leadflow_core::change::{FieldChange, profile_at};
use leadflow_core::{LeadRef, Profile, Timestamp};
use leadflow_store::{Store, StoreError, StoredChange};

use crate::{Engine, EngineError};

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
        let Some(record) = self.store.lead(lead)? else {
            return Ok(None);
        };
        // Oldest first, as `profile_at` undoes them from the newest.
        let log = self.store.changes_of(record.id, usize::MAX)?;
        let steps: Vec<(Timestamp, Vec<FieldChange>)> = log.into_iter().rev().map(|c| (c.at, vec![c.change])).collect();
        let profile = profile_at(&record.profile, &steps, at)
            .map_err(|e| StoreError::Corrupt(format!("the change log of lead {}: {e}", record.id)))?;
        Ok(Some(profile))
    }
}
