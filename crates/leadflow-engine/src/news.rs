//! What lead tracking tells webhooks: a lead assigned, moved, recycled, an SLA breached, a task
//! due or overdue. Each is queued in the transaction of what happened, as a score's news is, with
//! the lead's score as it stood then (none for a lead not scored yet) and what happened.

use leadflow_core::{Timestamp, Topic};
use leadflow_store::prelude::*;
use leadflow_store::{LeadRecord, Notification, NotificationDetail};

use crate::EngineError;

/// Queues `topic`'s news of the lead, in `tx`, for the webhooks subscribed to it.
pub(crate) fn tell<T: Transaction>(
    tx: &mut T,
    lead: &LeadRecord,
    topic: Topic,
    detail: NotificationDetail,
    at: Timestamp,
) -> Result<(), EngineError> {
    tx.notify(&Notification {
        topic,
        lead: lead.id,
        email: lead.profile.email.clone(),
        external_id: lead.profile.external_id.clone(),
        at,
        score: lead.score.as_ref().map(|s| s.values.clone()),
        previous_bucket: None,
        detail: Some(detail),
    })?;
    Ok(())
}

/// Tells the webhooks subscribed to `sequence.step` that the lead reached a sequence's webhook
/// step.
pub(crate) fn sequence_step<T: Transaction>(
    tx: &mut T,
    lead: &LeadRecord,
    enrollment: &leadflow_store::EnrollmentRecord,
    step: &str,
    at: Timestamp,
) -> Result<(), EngineError> {
    let detail = NotificationDetail::SequenceStep {
        sequence: enrollment.sequence.clone(),
        step: step.to_string(),
        enrollment: enrollment.id,
    };
    tell(tx, lead, Topic::SequenceStep, detail, at)
}
