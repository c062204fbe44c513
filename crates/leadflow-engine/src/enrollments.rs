//! Enrolling leads in nurture sequences by hand (CLI, API, import), and taking them out.
//!
//! A lead is in a sequence once at a time (the store refuses a second, even from another server
//! at the same instant), and again after it left only as the sequence's `reenroll` says. An
//! enrollment starts at the sequence's first step, due at once: the scheduler runs it.

use leadflow_core::sequence::{Reenroll, Sequence};
use leadflow_core::{LeadId, LeadRef, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{EnrollmentQuery, EnrollmentRecord, NewEnrollment, RuleFileKind};

use crate::rule_files::parse_stored;
use crate::{Engine, EngineError};

impl<S: Store> Engine<S> {
    /// Enrolls a lead in an active sequence, saying who did (`cli`, an API key's name,
    /// `import`).
    pub fn enroll(&mut self, lead: &LeadRef, sequence: &str, by: &str) -> Result<EnrollmentRecord, EngineError> {
        // The active version of this name, read and parsed alone.
        let record = self
            .store
            .active_rule_files(RuleFileKind::Sequence)?
            .into_iter()
            .find(|r| r.name == sequence)
            .ok_or_else(|| EngineError::NoSuchSequence(sequence.to_string()))?;
        let (parsed, version) = (parse_stored(&record, Sequence::parse)?, record.version);
        let first = parsed.steps().first().expect("a sequence has a step").id();
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.resolve_lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        let before = tx.enrollments_now(id, Some(sequence))?;
        if before.iter().any(EnrollmentRecord::is_active) {
            return Err(EngineError::AlreadyEnrolled { lead: id, sequence: sequence.to_string() });
        }
        let last_exit = before.iter().filter_map(|e| e.exited_at).max();
        if let Some(left) = last_exit {
            let again = match parsed.reenroll() {
                Reenroll::Never => None,
                Reenroll::AfterExit { days } => Some(left.plus_days(days)),
            };
            if again.is_none_or(|again| now < again) {
                return Err(EngineError::NotReenrollable { lead: id, sequence: sequence.to_string(), from: again });
            }
        }
        let new = NewEnrollment { lead: id, sequence, version, step: first, due_at: now, enrolled_by: by };
        // Between the read above and here another server may have enrolled it: the store says.
        if tx.enroll(&new, now)?.is_none() {
            return Err(EngineError::AlreadyEnrolled { lead: id, sequence: sequence.to_string() });
        }
        let record = tx.enrollments_now(id, Some(sequence))?.into_iter().next().expect("just enrolled");
        tx.commit()?;
        Ok(record)
    }

    /// Takes a lead out of a sequence, saying why; the enrollment it ended.
    pub fn exit_enrollment(
        &mut self,
        lead: &LeadRef,
        sequence: &str,
        reason: &str,
    ) -> Result<EnrollmentRecord, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.resolve_lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        let active = tx.enrollments_now(id, Some(sequence))?.into_iter().find(EnrollmentRecord::is_active);
        let Some(active) = active else {
            return Err(EngineError::NotEnrolled { lead: id, sequence: sequence.to_string() });
        };
        tx.exit_enrollment(active.id, reason, now)?;
        let ended = tx.enrollments_now(id, Some(sequence))?.into_iter().find(|e| e.id == active.id).expect("kept");
        tx.commit()?;
        Ok(ended)
    }

    /// Enrollments of a lead, of a sequence, or both; newest first.
    pub fn enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, EngineError> {
        Ok(self.store.enrollments(query)?)
    }

    /// The lead a reference names, for listing its enrollments.
    pub fn lead_id(&self, lead: &LeadRef) -> Result<LeadId, EngineError> {
        Ok(self.store.lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?.id)
    }
}

/// When a lead may be enrolled again, for messages.
pub(crate) fn describe_again(from: &Option<Timestamp>) -> String {
    match from {
        Some(at) => format!("it may be enrolled again from {at}"),
        None => "it enrolls a lead once".into(),
    }
}
