//! Enrolling leads in nurture sequences by hand (CLI, API, import), and taking them out.
//!
//! A lead is in a sequence once at a time (the store refuses a second, even from another server
//! at the same instant), and again after it left only as the sequence's `reenroll` says. An
//! enrollment starts at the sequence's first step, due at once: the scheduler runs it.

use leadflow_core::contact::Channel;
use leadflow_core::sequence::{ExitCause, Reenroll, Sequence};
use leadflow_core::{LeadId, LeadRef, Timestamp};
use leadflow_store::prelude::*;
use leadflow_store::{EnrollmentQuery, EnrollmentRecord, NewEnrollment, RuleFileVersion};

use crate::nurture::ActiveSequences;
use crate::{Engine, EngineError};

impl<S: Store> Engine<S> {
    /// Enrolls a lead in an active sequence, saying who did (`cli`, an API key's name,
    /// `import`).
    pub fn enroll(&mut self, lead: &LeadRef, sequence: &str, by: &str) -> Result<EnrollmentRecord, EngineError> {
        let sequences = self.active_sequences_by_name()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.resolve_lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        let (parsed, version) =
            sequences.get(sequence).ok_or_else(|| EngineError::NoSuchSequence(sequence.to_string()))?;
        let record = enroll_in(&mut tx, id, parsed, *version, &sequences, by, now)?;
        tx.commit()?;
        Ok(record)
    }

    /// Enrolls each of many leads (an import's), in order, each in a unit of work of its own:
    /// what became of each, a refusal (in the sequence already, not again yet, on the
    /// do-not-contact list, no such lead) beside the others' enrollments.
    pub fn enroll_many(
        &mut self,
        leads: &[LeadRef],
        sequence: &str,
        by: &str,
    ) -> Result<Vec<Result<EnrollmentRecord, EngineError>>, EngineError> {
        let sequences = self.active_sequences_by_name()?;
        if !sequences.contains_key(sequence) {
            return Err(EngineError::NoSuchSequence(sequence.to_string()));
        }
        let mut out = Vec::with_capacity(leads.len());
        for lead in leads {
            let id = match self.store.lead(lead)? {
                Some(record) => record.id,
                None => {
                    out.push(Err(EngineError::NoSuchLead(lead.clone())));
                    continue;
                }
            };
            match self.enroll_lead(id, sequence, &sequences, by) {
                Err(e @ EngineError::Store(_)) => return Err(e),
                done => out.push(done),
            }
        }
        Ok(out)
    }

    /// [`Engine::enroll`] of a lead by id in one of `sequences`.
    pub(crate) fn enroll_lead(
        &mut self,
        lead: LeadId,
        sequence: &str,
        sequences: &ActiveSequences,
        by: &str,
    ) -> Result<EnrollmentRecord, EngineError> {
        let (parsed, version) =
            sequences.get(sequence).ok_or_else(|| EngineError::NoSuchSequence(sequence.to_string()))?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = enroll_in(&mut tx, lead, parsed, *version, sequences, by, now)?;
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
        crate::nurture::end_enrollment(&mut tx, &active, reason, now)?;
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

/// Enrolls the lead in `sequence` (at version `version`) in this unit of work: refused while it
/// is in it, before its re-enrollment policy lets it back, and (for a sequence that sends) while
/// its address is on the do-not-contact list. Its enrollments in sequences of lower priority end.
pub(crate) fn enroll_in<T: Transaction>(
    tx: &mut T,
    lead: LeadId,
    sequence: &Sequence,
    version: RuleFileVersion,
    sequences: &ActiveSequences,
    by: &str,
    now: Timestamp,
) -> Result<EnrollmentRecord, EngineError> {
    let name = sequence.name();
    let before = tx.enrollments_now(lead, Some(name))?;
    if before.iter().any(EnrollmentRecord::is_active) {
        return Err(EngineError::AlreadyEnrolled { lead, sequence: name.to_string() });
    }
    let last_exit = before.iter().filter_map(|e| e.exited_at).max();
    if let Some(left) = last_exit {
        let again = match sequence.reenroll() {
            Reenroll::Never => None,
            Reenroll::AfterExit { days } => Some(left.plus_days(days)),
        };
        if again.is_none_or(|again| now < again) {
            return Err(EngineError::NotReenrollable { lead, sequence: name.to_string(), from: again });
        }
    }
    if sequence.sends() {
        let record = tx.lead(&LeadRef::Id(lead))?.ok_or(EngineError::NoSuchLead(LeadRef::Id(lead)))?;
        if let Some(email) = &record.profile.email
            && let Some(listed) = tx.do_not_contact_now(email.as_str(), Channel::Email)?
        {
            return Err(EngineError::OnDoNotContact { lead, reason: listed.reason });
        }
    }
    let first = sequence.steps().first().expect("a sequence has a step").id();
    let new = NewEnrollment { lead, sequence: name, version, step: first, due_at: now, enrolled_by: by };
    // Between the read above and here another server may have enrolled it: the store says.
    if tx.enroll(&new, now)?.is_none() {
        return Err(EngineError::AlreadyEnrolled { lead, sequence: name.to_string() });
    }
    // A sequence of higher priority takes the lead from those of lower.
    let reason = ExitCause::HigherPriority.reason();
    for other in tx.enrollments_now(lead, None)? {
        let lower = sequences.get(&other.sequence).is_some_and(|(s, _)| s.priority() < sequence.priority());
        if other.is_active() && other.sequence != name && lower {
            crate::nurture::end_enrollment(tx, &other, &reason, now)?;
        }
    }
    Ok(tx.enrollments_now(lead, Some(name))?.into_iter().next().expect("just enrolled"))
}
