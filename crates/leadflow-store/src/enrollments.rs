//! Leads in nurture sequences as stored: one row per enrollment, with the step it runs next and
//! when; an exited enrollment is kept, with when and why.

use leadflow_core::{LeadId, Timestamp};

use crate::{RuleFileVersion, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct EnrollmentRecord {
    pub id: i64,
    pub lead: LeadId,
    /// The sequence's name: its active version runs the enrollment.
    pub sequence: String,
    /// The version it was enrolled under.
    pub version: RuleFileVersion,
    /// The step it runs next, and when; `None` once it has exited.
    pub step: Option<String>,
    pub due_at: Option<Timestamp>,
    /// Steps run so far: with the id, what keys the work of the step it is at (a send), so that
    /// a step run twice (a claim lost, two servers) does its work once.
    pub runs: u32,
    /// Who enrolled it: `rule`, `cli`, an API key's name, `import`, or a sequence's name.
    pub enrolled_by: String,
    pub enrolled_at: Timestamp,
    pub exited_at: Option<Timestamp>,
    pub exit_reason: Option<String>,
}

impl EnrollmentRecord {
    pub fn is_active(&self) -> bool {
        self.exited_at.is_none()
    }
}

/// An enrollment to add, at its first step.
#[derive(Clone, Copy, Debug)]
pub struct NewEnrollment<'a> {
    pub lead: LeadId,
    pub sequence: &'a str,
    pub version: RuleFileVersion,
    pub step: &'a str,
    pub due_at: Timestamp,
    pub enrolled_by: &'a str,
}

/// Which enrollments to list: of a lead, of a sequence, only active ones; newest first.
#[derive(Clone, Debug, Default)]
pub struct EnrollmentQuery {
    pub lead: Option<LeadId>,
    pub sequence: Option<String>,
    pub active: bool,
    pub limit: usize,
}

pub trait EnrollmentReads {
    fn enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, StoreError>;
    /// Active enrollments whose step is due by `now`, soonest first (then by id), after the
    /// enrollment `after` (`(due, id)`, to page), at most `limit`.
    fn due_enrollments(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<EnrollmentRecord>, StoreError>;
}

pub trait EnrollmentWrites {
    /// Enrolls a lead; `None` (and nothing written) when it is in the sequence already: never
    /// twice at once, even from two servers at the same instant.
    fn enroll(&mut self, new: &NewEnrollment<'_>, now: Timestamp) -> Result<Option<i64>, StoreError>;
    /// The lead's enrollments, in one sequence or in all, as this unit of work sees them, newest
    /// first.
    fn enrollments_now(&mut self, lead: LeadId, sequence: Option<&str>) -> Result<Vec<EnrollmentRecord>, StoreError>;
    /// Moves an active enrollment that has run `runs` steps on to `step`, due at `due_at`, one
    /// run further; false, and nothing changed, when it is no longer at that run (another
    /// claim moved it, or it exited).
    fn advance_enrollment(&mut self, id: i64, runs: u32, step: &str, due_at: Timestamp) -> Result<bool, StoreError>;
    /// Ends an active enrollment, saying why; whether it was active.
    fn exit_enrollment(&mut self, id: i64, reason: &str, now: Timestamp) -> Result<bool, StoreError>;
}

/// An enrollment's row, as both backends read it back.
pub struct EnrollmentRow {
    pub id: i64,
    pub lead: i64,
    pub sequence: String,
    pub version: i64,
    pub step: Option<String>,
    pub due_at: Option<i64>,
    pub runs: i64,
    pub enrolled_by: String,
    pub enrolled_at: i64,
    pub exited_at: Option<i64>,
    pub exit_reason: Option<String>,
}

/// The columns [`EnrollmentRow`] reads, in its order.
pub const ENROLLMENT_COLUMNS: &str =
    "id, lead_id, sequence, version, step, due_at, runs, enrolled_by, enrolled_at, exited_at, exit_reason";

impl From<EnrollmentRow> for EnrollmentRecord {
    fn from(r: EnrollmentRow) -> EnrollmentRecord {
        EnrollmentRecord {
            id: r.id,
            lead: LeadId(r.lead),
            sequence: r.sequence,
            version: RuleFileVersion(r.version),
            step: r.step,
            due_at: r.due_at.map(Timestamp::from_millis),
            runs: u32::try_from(r.runs).unwrap_or(u32::MAX),
            enrolled_by: r.enrolled_by,
            enrolled_at: Timestamp::from_millis(r.enrolled_at),
            exited_at: r.exited_at.map(Timestamp::from_millis),
            exit_reason: r.exit_reason,
        }
    }
}
