//! A rule's clock: its deadline, its status at an instant, the escalation steps due, and
//! compliance over many clocks.
//!
//! All of it is arithmetic on the owner's [`WorkingCalendar`], so that the deadline a rep sees,
//! the breach a sweep records and the rate a report shows can never disagree.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::{Clock, EscalationAction, SlaDuration, SlaRule};
use crate::Timestamp;
use crate::calendar::WorkingCalendar;

const MILLIS_PER_DAY: i64 = 86_400_000;

impl Clock {
    /// How much of this clock runs in `[from, to)`: the calendar's working time, or the wall
    /// clock's; 0 when `to <= from`.
    pub fn between(self, calendar: &WorkingCalendar, from: Timestamp, to: Timestamp) -> i64 {
        match self {
            Clock::Working => calendar.working_between(from, to),
            Clock::Calendar => to.millis().saturating_sub(from.millis()).max(0),
        }
    }
}

impl SlaDuration {
    /// The instant this duration, started at `start`, ends: for working time the earliest
    /// instant by which that much of it has passed, for working days the end of the last
    /// working day's hours (see the module doc). A zero duration ends at `start`.
    ///
    /// `None` when a working duration meets the calendar's horizon first (see
    /// [`WorkingCalendar::add_working`]).
    pub fn ends_at(self, calendar: &WorkingCalendar, start: Timestamp) -> Option<Timestamp> {
        match self {
            SlaDuration::WorkingTime(ms) => calendar.add_working(start, ms),
            SlaDuration::WorkingDays(days) => end_of_working_days(calendar, start, days),
            SlaDuration::Elapsed(ms) => Some(start.plus_millis(ms)),
        }
    }
}

/// Where the owner's working time ends on the `days`th working day after `start`'s local date.
fn end_of_working_days(calendar: &WorkingCalendar, start: Timestamp, days: u32) -> Option<Timestamp> {
    let zone = calendar.zone();
    let mut end = start;
    let mut next_day = start_of_day(zone, local_day(zone, start.millis()).saturating_add(1));
    for _ in 0..days {
        // The first working instant on or after a date's start is on the next working day.
        let first = calendar.next_working_instant(Timestamp::from_millis(next_day))?;
        next_day = start_of_day(zone, local_day(zone, first.millis()).saturating_add(1));
        let rest_of_day = calendar.working_between(first, Timestamp::from_millis(next_day));
        end = calendar.add_working(first, rest_of_day)?;
    }
    Some(end)
}

/// The local date of the instant `t`, as days since 1970-01-01: the date its wall clock shows,
/// which is the one the calendar counts its working time on.
fn local_day(zone: Tz, t: i64) -> i64 {
    // Outside chrono's range the calendar has no working time, so any date will do.
    let offset = DateTime::from_timestamp_millis(t)
        .map_or(0, |utc| i64::from(zone.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()) * 1000);
    t.saturating_add(offset).div_euclid(MILLIS_PER_DAY)
}

/// The first instant of the local date `day`: where the wall clock passes into it, midnight or,
/// when a change of offset skips midnight, the change.
///
/// Found by halving: offsets are less than a day, so the instant is within a day of the date's
/// UTC midnight, and over that range the local date only moves forward (a zone that falls back
/// at midnight repeats the last hour of the date before, and the new date follows that). Were a zone
/// to step back across midnight from later in the night, this finds one of the two instants the
/// date starts at.
fn start_of_day(zone: Tz, day: i64) -> i64 {
    let midnight = day.saturating_mul(MILLIS_PER_DAY);
    // local_day(before) < day <= local_day(after)
    let (mut before, mut after) = (midnight.saturating_sub(MILLIS_PER_DAY), midnight.saturating_add(MILLIS_PER_DAY));
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if local_day(zone, middle) >= day {
            after = middle;
        } else {
            before = middle;
        }
    }
    after
}

/// Where a rule's clock stands at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaStatus {
    /// Not met yet, and not late: due at `due_at`.
    Pending { due_at: Timestamp },
    /// Met at `at`: on time when `at <= due_at`. `taken_ms` is the rule's clock from the start to
    /// `at` (working time on a working clock): what "time to accept" reports average.
    Met { at: Timestamp, due_at: Timestamp, on_time: bool, taken_ms: i64 },
    /// Not met, and past `due_at`. `overdue_ms` is the rule's clock from `due_at` to now, so a
    /// lead breached at 17:00 on Friday is still 0 working ms overdue on Sunday.
    Breached { due_at: Timestamp, overdue_ms: i64 },
}

impl SlaStatus {
    pub fn due_at(&self) -> Timestamp {
        match *self {
            SlaStatus::Pending { due_at } | SlaStatus::Met { due_at, .. } | SlaStatus::Breached { due_at, .. } => {
                due_at
            }
        }
    }
}

/// An escalation step a sweep is to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueEscalation {
    /// The step's index in [`SlaRule::escalation`]: what the engine records as done.
    pub step: usize,
    pub action: EscalationAction,
    /// When the step became due: the deadline plus its `after`.
    pub due_at: Timestamp,
}

impl SlaRule {
    /// The deadline of this rule's clock started at `started_at`, counted in the owner's
    /// `calendar` (ignored on a calendar clock). For a recurring rule, `started_at` is the last
    /// touch, and this is when the next follow-up is due.
    ///
    /// `None` when the calendar has no working time within its horizon: see the module doc.
    pub fn deadline(&self, calendar: &WorkingCalendar, started_at: Timestamp) -> Option<Timestamp> {
        self.within.ends_at(calendar, started_at)
    }

    /// Where the clock started at `started_at` stands at `now`, given when it was met (`met_at`;
    /// for a recurring rule, the next touch). A `met_at` after `now` has not happened as of
    /// `now`, so a status can be asked for any past instant. One before `started_at` took no
    /// time and is on time.
    ///
    /// `None` when the clock has no [`Self::deadline`].
    pub fn status(
        &self,
        calendar: &WorkingCalendar,
        started_at: Timestamp,
        met_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<SlaStatus> {
        let due_at = self.deadline(calendar, started_at)?;
        let clock = self.clock();
        Some(match met_at.filter(|&at| at <= now) {
            Some(at) => {
                SlaStatus::Met { at, due_at, on_time: at <= due_at, taken_ms: clock.between(calendar, started_at, at) }
            }
            None if now > due_at => SlaStatus::Breached { due_at, overdue_ms: clock.between(calendar, due_at, now) },
            None => SlaStatus::Pending { due_at },
        })
    }

    /// The escalation steps due at `now` that are not in `done` (indices into
    /// [`Self::escalation`]), in the order they became due: for a sweep that runs them and
    /// records them as done, so that running it again, or late, runs each step once.
    ///
    /// A step is due once `now` is past the deadline plus its `after` (a `"0m"` step as the clock
    /// is breached), and only while the clock is not met as of `now`: escalation is to get the
    /// lead handled, and once it is there is nothing to escalate (the breach itself stays in the
    /// status). Nothing is due for a clock without a deadline, nor for a step whose time the
    /// calendar's horizon puts out of reach.
    pub fn due_escalations(
        &self,
        calendar: &WorkingCalendar,
        started_at: Timestamp,
        met_at: Option<Timestamp>,
        done: &[usize],
        now: Timestamp,
    ) -> Vec<DueEscalation> {
        if met_at.is_some_and(|at| at <= now) {
            return Vec::new();
        }
        let Some(deadline) = self.deadline(calendar, started_at) else {
            return Vec::new();
        };
        self.escalations_after(calendar, deadline, done, now)
    }

    /// [`Self::due_escalations`] of an unmet clock whose deadline is known (stored as it
    /// started): the steps not in `done` due at `now`, counted from `deadline`, in the order they
    /// became due.
    pub fn escalations_after(
        &self,
        calendar: &WorkingCalendar,
        deadline: Timestamp,
        done: &[usize],
        now: Timestamp,
    ) -> Vec<DueEscalation> {
        let mut due: Vec<DueEscalation> = self
            .escalate
            .iter()
            .enumerate()
            .filter(|(step, _)| !done.contains(step))
            .filter_map(|(step, s)| {
                let due_at = s.after.ends_at(calendar, deadline)?;
                (now > due_at).then_some(DueEscalation { step, action: s.action, due_at })
            })
            .collect();
        due.sort_by_key(|d| (d.due_at, d.step));
        due
    }
}

/// How a set of clocks went: a rep's, a team's (a team's is the [`Compliance::merge`] of its
/// reps'), a rule's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compliance {
    pub met_on_time: u64,
    pub met_late: u64,
    /// Not met and past due.
    pub breached: u64,
    /// Not met and not yet due.
    pub pending: u64,
}

impl Compliance {
    pub fn record(&mut self, status: &SlaStatus) {
        match status {
            SlaStatus::Met { on_time: true, .. } => self.met_on_time += 1,
            SlaStatus::Met { on_time: false, .. } => self.met_late += 1,
            SlaStatus::Breached { .. } => self.breached += 1,
            SlaStatus::Pending { .. } => self.pending += 1,
        }
    }

    /// Every clock counted.
    pub fn total(&self) -> u64 {
        self.met_on_time + self.met_late + self.breached + self.pending
    }

    /// The clocks whose outcome is known: met, or past due.
    pub fn decided(&self) -> u64 {
        self.met_on_time + self.met_late + self.breached
    }

    /// The share, 0 to 1, of decided clocks met on time; `None` when none is decided. Pending
    /// clocks do not count either way: they may yet be met on time.
    pub fn rate(&self) -> Option<f64> {
        let decided = self.decided();
        (decided > 0).then(|| self.met_on_time as f64 / decided as f64)
    }

    /// Both sets of clocks counted together.
    pub fn merge(self, other: Compliance) -> Compliance {
        Compliance {
            met_on_time: self.met_on_time + other.met_on_time,
            met_late: self.met_late + other.met_late,
            breached: self.breached + other.breached,
            pending: self.pending + other.pending,
        }
    }
}

impl FromIterator<SlaStatus> for Compliance {
    fn from_iter<I: IntoIterator<Item = SlaStatus>>(statuses: I) -> Compliance {
        let mut compliance = Compliance::default();
        for status in statuses {
            compliance.record(&status);
        }
        compliance
    }
}
