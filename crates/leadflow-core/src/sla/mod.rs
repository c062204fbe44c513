//! Hand-off SLAs: what sales promises marketing to do with the leads it hands over, and how
//! fast, written as a file.
//!
//! The hand-off is where leads go cold: an MQL waits in a queue over the weekend, a rep never
//! calls, nobody follows up after the first email. An SLA policy writes the agreement between
//! the two teams down as rules ("an MQL is accepted or rejected within 4 working hours", "first
//! touch within 1 working day", "a follow-up every 7 days while the lead is open"), so that every
//! lead's clock is measured the same way, a breach is noticed when it happens rather than at the
//! quarterly review, and compliance per rep and team is a count rather than an argument.
//!
//! Time is counted in the lead owner's working time, their zone, hours and holidays (their
//! [`crate::calendar::WorkingCalendar`]): a lead that arrives on Friday at 16:00 in Berlin is not
//! late on Saturday, and a rep in New York is not held to Berlin's morning. A rule may count
//! wall-clock time instead (`clock = "calendar"`), for promises such as a weekly follow-up that
//! weekends do not pause.
//!
//! A policy is a file for the reasons a model and a pipeline are: it is reviewed like code,
//! diffed, and checked before it runs. [`SlaPolicy::parse`] checks everything evaluation relies
//! on (ids unique, a stage for the rules that need one, clocks that can stop, durations that
//! mean one thing) and reports every problem with its line.
//!
//! Everything here is pure. The deadline of a rule's clock ([`SlaRule::deadline`]), its status at
//! an instant ([`SlaRule::status`]), the escalation steps a sweep is to run
//! ([`SlaRule::due_escalations`]) and compliance over many clocks ([`Compliance`]) are functions
//! of the rule, the owner's calendar and the instants given. The engine knows when each clock
//! started and stopped (from the lead's history), which calendar is the owner's and which steps
//! it already ran; it records breaches, sends their webhooks and runs the escalations.
//!
//! # The file
//!
//! `examples/sla-handoff.toml` shows every key.
//!
//! - Top level: `name` (an identifier), `description`, `reject_reasons` (the reasons a rep may
//!   give for rejecting an MQL, unique ignoring case; any reason goes without it), and
//!   `[[rules]]`, at least one.
//! - `[[rules]]`: `id` (an identifier, unique), `name` (the id by default), `starts`, `stage`,
//!   `met_by`, `within`, `clock`, `[[rules.escalate]]` and `[rules.applies_to]`.
//! - `starts`, when the clock starts: `"assigned"` (the lead got an owner, or a new one), `"mql"`
//!   (it became marketing-qualified), `"stage_entered"` (it entered the pipeline stage named by
//!   `stage`, a stage id, required with this start and refused with the others; the policy is
//!   read on its own, so the id is not checked against the pipelines) or
//!   `"last_touch"` (its owner touched it: a follow-up rule, whose clock starts again at every
//!   touch).
//! - `met_by`, what stops it: `"accepted"` (the owner accepted the lead), `"accepted_or_rejected"`
//!   (the owner accepted it, or rejected it with a reason), `"touched"` (the owner called,
//!   emailed or met the lead) or `"stage_left"` (it left `stage`; `stage_entered` rules only).
//!   Required, except on `last_touch` rules: the next touch is what meets a follow-up, so
//!   `touched` is their default and the only value they take.
//! - `within`: how long the owner has, a duration (see below), more than zero. `clock`: what
//!   counts, `"working"` (the owner's working time; the default) or `"calendar"` (the wall clock).
//! - `[[rules.escalate]]`: what happens once the deadline has passed and the clock is still
//!   running, one step each: `after`, a duration counted on the rule's clock from the deadline
//!   (`"0m"` is at the breach), and `action`: `"notify_owner"`, `"notify_manager"` or
//!   `"reassign"` (the lead is assigned anew). Steps run in the order their times come, and the
//!   same step twice is an error.
//! - `[rules.applies_to]`: which leads the rule holds for. `pipelines`, the names of pipelines,
//!   one of which the lead must be in; `when`, conditions on the lead's profile written as a
//!   model's fit rules (`field`, `op`, `value`/`values` or `min`/`max`, `not`), as a pipeline's
//!   routing is, all of which must hold. A rule without it holds for every lead.
//!
//! # Durations
//!
//! `within` and `after` are whole numbers of days, hours and minutes, each unit at most once and
//! in that order: `"90m"`, `"4h"`, `"1h30m"`, `"2d"`, `"1d12h"`; at most a year (366 days).
//!
//! On a working clock, hours and minutes are the owner's working time: `"4h"` ends at the
//! earliest instant by which 4 hours of it have passed since the clock started (the calendar's
//! `add_working`). Days are working days: `"Nd"` ends where the owner's working time ends on the
//! Nth working day after the day the clock started on, a working day being a local date of the
//! owner's zone with working time (a holiday or a day without hours is none). So `"1d"` is "by
//! the end of the next working day", whatever the hour the clock started: a lead assigned on
//! Monday at 08:00 or at 16:59 is due when Tuesday's hours end, one assigned on Saturday when
//! Monday's do. Days and hours do not mix on a working clock: a working day is as long as the
//! owner's hours make it, so `"1d4h"` would have no one meaning.
//!
//! On a calendar clock, a day is 24 hours, as a pipeline's `rotting_days` is, and the units add
//! up: `"1d12h"` is 36 hours.
//!
//! # Evaluation
//!
//! A clock runs from its start until it is met. It is due at its deadline; met exactly then is on
//! time, and unmet it is breached from the next millisecond on (as a stage rots). A recurring
//! (`last_touch`) rule is a chain of such clocks: each touch starts one, which the next touch
//! meets, so the next follow-up is due at [`SlaRule::deadline`] from the last touch.
//!
//! A calendar without working time for [`crate::calendar::SEARCH_HORIZON_DAYS`] days in a row
//! (no hours, or a leave longer than that) gives a working clock no deadline: `deadline` and
//! `status` answer `None`, which the engine reports as the owner's calendar to fix rather than as
//! the rep's breach, and no escalation is ever due.

mod evaluate;
mod parse;

use std::fmt;

use crate::lead::Profile;
use crate::pipeline::RoutingCondition;

pub use evaluate::{Compliance, DueEscalation, SlaStatus};
pub(crate) use parse::read_clocked_duration;
pub use parse::{SlaError, SlaProblem};

const MILLIS_PER_MINUTE: i64 = 60_000;
const MINUTES_PER_HOUR: i64 = 60;
const MINUTES_PER_DAY: i64 = 24 * MINUTES_PER_HOUR;

/// A validated SLA policy: built only by [`SlaPolicy::parse`], read through its accessors.
#[derive(Clone, Debug, PartialEq)]
pub struct SlaPolicy {
    name: String,
    description: Option<String>,
    reject_reasons: Vec<String>,
    rules: Vec<SlaRule>,
}

impl SlaPolicy {
    /// The policy's name, an identifier.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The rules in file order. Never empty.
    pub fn rules(&self) -> &[SlaRule] {
        &self.rules
    }

    /// The rule with this id (ids are case-sensitive).
    pub fn rule(&self, id: &str) -> Option<&SlaRule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The rules that hold for a lead in pipeline `pipeline` (by name; `None` when it is in
    /// none) with this profile, in file order.
    pub fn rules_for<'a>(
        &'a self,
        pipeline: Option<&'a str>,
        profile: &'a Profile,
    ) -> impl Iterator<Item = &'a SlaRule> + 'a {
        self.rules.iter().filter(move |r| r.applies_to.admits(pipeline, profile))
    }

    /// The reasons a rep may give for rejecting an MQL; empty when any reason goes.
    pub fn reject_reasons(&self) -> &[String] {
        &self.reject_reasons
    }

    /// The reason of `reject_reasons` that `given` means, ignoring case and surrounding space:
    /// the spelling to store.
    pub fn reject_reason(&self, given: &str) -> Option<&str> {
        let given = given.trim().to_lowercase();
        self.reject_reasons.iter().find(|r| r.to_lowercase() == given).map(String::as_str)
    }
}

/// One rule of a policy: when a clock starts, what stops it, and how long it may run.
#[derive(Clone, Debug, PartialEq)]
pub struct SlaRule {
    id: String,
    name: String,
    starts: ClockStart,
    met_by: MetBy,
    within: SlaDuration,
    escalate: Vec<EscalationStep>,
    applies_to: AppliesTo,
}

impl SlaRule {
    /// The rule's id, unique in its policy: what breaches, escalations and reports name it by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The name people see; the id unless the file gives one.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn starts(&self) -> &ClockStart {
        &self.starts
    }

    pub fn met_by(&self) -> MetBy {
        self.met_by
    }

    /// How long the clock may run, on [`Self::clock`].
    pub fn within(&self) -> SlaDuration {
        self.within
    }

    /// What the rule counts: the owner's working time or the wall clock's.
    pub fn clock(&self) -> Clock {
        self.within.clock()
    }

    /// Whether the clock starts again at every touch (`starts = "last_touch"`).
    pub fn is_recurring(&self) -> bool {
        self.starts == ClockStart::LastTouch
    }

    /// The escalation steps in file order; [`DueEscalation::step`] is an index into this.
    pub fn escalation(&self) -> &[EscalationStep] {
        &self.escalate
    }

    /// Which leads the rule holds for.
    pub fn applies_to(&self) -> &AppliesTo {
        &self.applies_to
    }
}

/// When a rule's clock starts. Every clock counts in the calendar of the lead's owner, so one
/// whose event happens while the lead has no owner starts when it gets one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClockStart {
    /// `"assigned"`: the lead got an owner, or a new one.
    Assigned,
    /// `"mql"`: the lead became marketing-qualified.
    Mql,
    /// `"stage_entered"`: the lead entered the pipeline stage with this id.
    StageEntered(String),
    /// `"last_touch"`: the owner touched the lead; every touch starts the clock again.
    LastTouch,
}

impl ClockStart {
    /// The file's spelling of the start, without its stage.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClockStart::Assigned => "assigned",
            ClockStart::Mql => "mql",
            ClockStart::StageEntered(_) => "stage_entered",
            ClockStart::LastTouch => "last_touch",
        }
    }
}

/// What stops a rule's clock: the owner did what the rule asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetBy {
    /// The owner accepted the lead (sales-accepted).
    Accepted,
    /// The owner accepted the lead, or rejected it with a reason: either way marketing has its
    /// answer.
    AcceptedOrRejected,
    /// The owner touched the lead: a call, an email or a meeting.
    Touched,
    /// The lead left the stage whose entering started the clock.
    StageLeft,
}

impl MetBy {
    pub const ALL: [MetBy; 4] = [MetBy::Accepted, MetBy::AcceptedOrRejected, MetBy::Touched, MetBy::StageLeft];

    pub fn as_str(self) -> &'static str {
        match self {
            MetBy::Accepted => "accepted",
            MetBy::AcceptedOrRejected => "accepted_or_rejected",
            MetBy::Touched => "touched",
            MetBy::StageLeft => "stage_left",
        }
    }

    pub fn parse(s: &str) -> Option<MetBy> {
        MetBy::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// What a rule's durations count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Clock {
    /// The owner's working time, by their [`WorkingCalendar`](crate::calendar::WorkingCalendar).
    Working,
    /// The wall clock: every millisecond counts, nights and weekends too.
    Calendar,
}

impl Clock {
    pub const ALL: [Clock; 2] = [Clock::Working, Clock::Calendar];

    pub fn as_str(self) -> &'static str {
        match self {
            Clock::Working => "working",
            Clock::Calendar => "calendar",
        }
    }

    pub fn parse(s: &str) -> Option<Clock> {
        Clock::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }
}

/// A rule's `within` or an escalation's `after`, on the rule's clock; see the module doc for
/// what each kind means. Parsed durations are never negative, and a zero one is always
/// `WorkingTime(0)` or `Elapsed(0)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlaDuration {
    /// Milliseconds of the owner's working time (`"4h"`, `"90m"` on a working clock).
    WorkingTime(i64),
    /// Working days: until the owner's working time ends on the Nth working day after the day
    /// the duration starts on (`"1d"` on a working clock).
    WorkingDays(u32),
    /// Milliseconds of wall-clock time (any duration on a calendar clock).
    Elapsed(i64),
}

impl SlaDuration {
    pub fn clock(self) -> Clock {
        match self {
            SlaDuration::WorkingTime(_) | SlaDuration::WorkingDays(_) => Clock::Working,
            SlaDuration::Elapsed(_) => Clock::Calendar,
        }
    }
}

impl fmt::Display for SlaDuration {
    /// The file's spelling, shortest form: `4h`, `1h30m`, `2d`, `1d12h`, `0m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, minutes) = match *self {
            SlaDuration::WorkingDays(days) => return write!(f, "{days}d"),
            // Working time is written in hours: a working day is not 24 of them.
            SlaDuration::WorkingTime(ms) => (0, ms / MILLIS_PER_MINUTE),
            SlaDuration::Elapsed(ms) => {
                (ms / MILLIS_PER_MINUTE / MINUTES_PER_DAY, ms / MILLIS_PER_MINUTE % MINUTES_PER_DAY)
            }
        };
        let (hours, minutes) = (minutes / MINUTES_PER_HOUR, minutes % MINUTES_PER_HOUR);
        if days + hours + minutes == 0 {
            return f.write_str("0m");
        }
        for (amount, unit) in [(days, 'd'), (hours, 'h'), (minutes, 'm')] {
            if amount > 0 {
                write!(f, "{amount}{unit}")?;
            }
        }
        Ok(())
    }
}

/// One step of a rule's escalation (`[[rules.escalate]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EscalationStep {
    /// From the deadline, on the rule's clock.
    pub after: SlaDuration,
    pub action: EscalationAction,
}

/// What an escalation step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EscalationAction {
    /// Remind the owner that the lead is overdue.
    NotifyOwner,
    /// Tell the owner's manager.
    NotifyManager,
    /// Take the lead from the owner and assign it anew.
    Reassign,
}

impl EscalationAction {
    pub const ALL: [EscalationAction; 3] =
        [EscalationAction::NotifyOwner, EscalationAction::NotifyManager, EscalationAction::Reassign];

    pub fn as_str(self) -> &'static str {
        match self {
            EscalationAction::NotifyOwner => "notify_owner",
            EscalationAction::NotifyManager => "notify_manager",
            EscalationAction::Reassign => "reassign",
        }
    }

    pub fn parse(s: &str) -> Option<EscalationAction> {
        EscalationAction::ALL.into_iter().find(|a| a.as_str() == s.trim())
    }
}

/// Which leads a rule holds for (`[rules.applies_to]`); the default holds for all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppliesTo {
    /// `None`: leads in any pipeline, or in none.
    pipelines: Option<Vec<String>>,
    when: Vec<RoutingCondition>,
}

impl AppliesTo {
    /// The pipelines (by name) a lead must be in one of; `None` when any will do.
    pub fn pipelines(&self) -> Option<&[String]> {
        self.pipelines.as_deref()
    }

    /// The conditions a lead's profile must all meet.
    pub fn conditions(&self) -> &[RoutingCondition] {
        &self.when
    }

    /// Whether the rule holds for a lead in pipeline `pipeline` (`None`: in none) with this
    /// profile.
    pub fn admits(&self, pipeline: Option<&str>, profile: &Profile) -> bool {
        let in_pipeline = match &self.pipelines {
            None => true,
            Some(names) => pipeline.is_some_and(|p| names.iter().any(|n| n == p)),
        };
        in_pipeline && self.when.iter().all(|c| c.matches(profile))
    }
}

#[cfg(test)]
mod tests;
