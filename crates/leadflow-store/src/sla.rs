//! SLA clocks as stored: one row per rule of the SLA policy a lead's clock runs for, from its
//! start until it is met or stopped, with the breach and the escalation steps the sweep ran.
//!
//! A clock counts in one owner's working time, so it belongs to that owner: when the lead
//! changes hands the engine stops it and starts one for the new owner. Its deadline is computed
//! once, as it starts, and stored, so that what is due, what is late and how a team complies
//! are questions for the database.

use leadflow_core::team::UserName;
use leadflow_core::{LeadId, Timestamp};

use crate::{RuleFileVersion, StoreError};

/// How a clock was met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlaMet {
    /// The owner accepted the lead.
    Accepted,
    /// The owner rejected it with a reason.
    Rejected,
    /// The owner called, emailed or met it.
    Touched,
    /// It left the stage whose entering started the clock.
    StageLeft,
}

impl SlaMet {
    pub const ALL: [SlaMet; 4] = [SlaMet::Accepted, SlaMet::Rejected, SlaMet::Touched, SlaMet::StageLeft];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaMet::Accepted => "accepted",
            SlaMet::Rejected => "rejected",
            SlaMet::Touched => "touched",
            SlaMet::StageLeft => "stage_left",
        }
    }

    pub fn parse(s: &str) -> Option<SlaMet> {
        SlaMet::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SlaClockRecord {
    pub id: i64,
    pub lead: LeadId,
    /// The SLA policy version the rule is read from: a clock keeps the rule it started under.
    pub policy: RuleFileVersion,
    pub rule: String,
    /// Whose working time it counts; `None` while the lead waits for an owner (the clock has
    /// not started).
    pub owner: Option<UserName>,
    pub started_at: Option<Timestamp>,
    /// `None` until it starts, or when the owner's calendar has no working time to count.
    pub due_at: Option<Timestamp>,
    pub met: Option<(Timestamp, SlaMet)>,
    /// When the sweep recorded that it was past due.
    pub breached_at: Option<Timestamp>,
    /// The escalation steps run, as indices into the rule's steps, in the order they ran.
    pub escalations_done: Vec<usize>,
    /// When the sweep is to look at it next; `None`: nothing left to do.
    pub check_at: Option<Timestamp>,
    /// Stopped without being met, and why (the lead closed, changed hands, was rejected).
    pub stopped: Option<(Timestamp, String)>,
    pub created_at: Timestamp,
}

impl SlaClockRecord {
    /// Neither met nor stopped.
    pub fn is_running(&self) -> bool {
        self.met.is_none() && self.stopped.is_none()
    }
}

/// A clock to start.
#[derive(Clone, Copy, Debug)]
pub struct NewSlaClock<'a> {
    pub lead: LeadId,
    pub policy: RuleFileVersion,
    pub rule: &'a str,
    pub owner: Option<&'a UserName>,
    pub started_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub check_at: Option<Timestamp>,
}

/// Which clocks to list: newest first, or soonest due first.
#[derive(Clone, Debug, Default)]
pub struct SlaClockQuery {
    /// Soonest deadline first (clocks without one last), rather than newest first: what is
    /// most urgent, for a queue.
    pub soonest_due_first: bool,
    pub lead: Option<LeadId>,
    pub owner: Option<UserName>,
    /// Only clocks neither met nor stopped.
    pub running: bool,
    /// Only clocks past due as of this instant and not met (stopped ones too, when they stopped
    /// after their deadline).
    pub breached_as_of: Option<Timestamp>,
    pub limit: usize,
}

/// Clocks that started in `[from, to)`, counted as of `now`.
#[derive(Clone, Copy, Debug)]
pub struct ComplianceQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub now: Timestamp,
}

/// One owner's clocks of one rule, counted as `core::sla::Compliance` counts them: met on time
/// (by the deadline, inclusive), met late, breached (not met, and past due now or when it
/// stopped), pending (running and not yet due). A clock stopped unmet before its deadline, or
/// without one, counts in none: the lead was gone before anyone was late.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplianceRow {
    pub owner: UserName,
    pub rule: String,
    pub met_on_time: u64,
    pub met_late: u64,
    pub breached: u64,
    pub pending: u64,
}

/// A clock as the reps' report reads it: whose, of which rule, when it started, and when it was
/// met or whether it was stopped, as of the query's `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaResponse {
    pub owner: UserName,
    pub rule: String,
    pub started_at: Timestamp,
    pub met_at: Option<Timestamp>,
    pub stopped: bool,
}

pub trait SlaReads {
    fn sla_clocks(&self, query: &SlaClockQuery) -> Result<Vec<SlaClockRecord>, StoreError>;
    /// Running clocks whose `check_at` is at or before `now`, soonest first, after the clock
    /// `after` (by `(check_at, id)`, for paging), at most `limit`.
    fn sla_clocks_to_check(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<SlaClockRecord>, StoreError>;
    /// Counts per owner and rule, by owner then rule.
    fn sla_compliance(&self, query: &ComplianceQuery) -> Result<Vec<ComplianceRow>, StoreError>;
    /// Every clock with an owner started in `[from, to)`, by owner, start and id; met and stopped
    /// only if by `now`.
    fn sla_responses(&self, query: &ComplianceQuery) -> Result<Vec<SlaResponse>, StoreError>;
    /// Leads marketing-qualified at or after `since` with no clock of `rules` (rule ids of policy
    /// version `policy`) started since they qualified: those a rescore or an import qualified, by
    /// id after `after`, at most `limit`.
    fn mqls_without_clock(
        &self,
        policy: RuleFileVersion,
        rules: &[String],
        since: Timestamp,
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError>;
}

pub trait SlaWrites {
    fn start_sla_clock(&mut self, clock: &NewSlaClock<'_>, now: Timestamp) -> Result<i64, StoreError>;
    /// The lead's running clocks as this unit of work sees them, oldest first.
    fn running_sla_clocks(&mut self, lead: LeadId) -> Result<Vec<SlaClockRecord>, StoreError>;
    /// The clock as this unit of work sees it.
    fn sla_clock_now(&mut self, id: i64) -> Result<Option<SlaClockRecord>, StoreError>;
    /// Writes what changes in a clock's life: its owner and start (a waiting clock starting),
    /// deadline, meeting, breach, escalations, next check and stop. The lead, policy, rule and
    /// creation never change.
    fn update_sla_clock(&mut self, clock: &SlaClockRecord) -> Result<(), StoreError>;
}

/// A clock's row, as both backends read it back.
pub struct SlaClockRow {
    pub id: i64,
    pub lead: i64,
    pub policy: i64,
    pub rule: String,
    pub owner: Option<String>,
    pub started_at: Option<i64>,
    pub due_at: Option<i64>,
    pub met_at: Option<i64>,
    pub met_how: Option<String>,
    pub breached_at: Option<i64>,
    pub escalations_done: String,
    pub check_at: Option<i64>,
    pub stopped_at: Option<i64>,
    pub stopped_why: Option<String>,
    pub created_at: i64,
}

/// The columns [`SlaClockRow`] reads, in its order.
pub const SLA_CLOCK_COLUMNS: &str = "id, lead_id, policy_version, rule_id, owner, started_at, due_at, met_at, met_how, \
                                     breached_at, escalations_done, check_at, stopped_at, stopped_why, created_at";

/// How a clock's escalation steps are stored: their indices, comma-separated.
pub fn escalations_text(done: &[usize]) -> String {
    done.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

impl SlaClockRow {
    pub fn into_record(self) -> Result<SlaClockRecord, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("SLA clock {}: {what}", self.id));
        let millis = |t: Option<i64>| t.map(Timestamp::from_millis);
        let met = match (self.met_at, &self.met_how) {
            (Some(at), Some(how)) => Some((
                Timestamp::from_millis(at),
                SlaMet::parse(how).ok_or_else(|| corrupt(format!("met by `{how}`")))?,
            )),
            (None, None) => None,
            _ => return Err(corrupt("a meeting time without how, or how without a time".into())),
        };
        let escalations_done = self
            .escalations_done
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<usize>().map_err(|_| corrupt(format!("escalation step `{s}`"))))
            .collect::<Result<_, _>>()?;
        Ok(SlaClockRecord {
            id: self.id,
            lead: LeadId(self.lead),
            policy: RuleFileVersion(self.policy),
            owner: self.owner.as_deref().map(UserName::parse).transpose().map_err(|e| corrupt(e.to_string()))?,
            started_at: millis(self.started_at),
            due_at: millis(self.due_at),
            met,
            breached_at: millis(self.breached_at),
            escalations_done,
            check_at: millis(self.check_at),
            stopped: self.stopped_at.map(|at| (Timestamp::from_millis(at), self.stopped_why.unwrap_or_default())),
            created_at: Timestamp::from_millis(self.created_at),
            rule: self.rule,
        })
    }
}
