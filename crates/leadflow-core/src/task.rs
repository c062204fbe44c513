//! Follow-up tasks: the next step with a lead (a call, an email, a meeting, a to-do), owned by a
//! user and due at an instant.
//!
//! A task is open until it is done (with a note of how it went), cancelled, or snoozed to a
//! later instant (then it is due again then). Its transitions are checked here, so that a done
//! task is never done twice and a snooze never goes back in time; the engine stores what they
//! give.

use std::fmt;

use crate::Timestamp;
use crate::text::printable;

/// The longest task title, in characters.
pub const MAX_TITLE: usize = 200;

/// What kind of step a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Call,
    Email,
    Meeting,
    Todo,
}

/// How urgent a task is, lowest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
}

/// Where a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Open,
    /// Put off until `snoozed_until`: open again then.
    Snoozed,
    Done,
    Cancelled,
}

macro_rules! named {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }

            /// The value named so (any case, surrounding space ignored).
            pub fn parse(s: &str) -> Option<$ty> {
                let s = s.trim().to_lowercase();
                $ty::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(TaskKind { Call = "call", Email = "email", Meeting = "meeting", Todo = "todo" });
named!(Priority { Low = "low", Normal = "normal", High = "high" });
named!(TaskStatus { Open = "open", Snoozed = "snoozed", Done = "done", Cancelled = "cancelled" });

impl TaskStatus {
    /// Open or snoozed: still to do.
    pub fn is_pending(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::Snoozed)
    }
}

/// A task's title: not blank, at most [`MAX_TITLE`] characters, surrounding space dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(input: &str) -> Result<TaskTitle, TaskError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(TaskError::BlankTitle);
        }
        if s.chars().count() > MAX_TITLE {
            return Err(TaskError::LongTitle);
        }
        Ok(TaskTitle(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("title: blank (say what to do: \"Call about the demo\")")]
    BlankTitle,
    #[error("title: longer than {MAX_TITLE} characters")]
    LongTitle,
    #[error("`{0}` is not a task kind (expected call, email, meeting or todo)")]
    Kind(String),
    #[error("`{0}` is not a priority (expected low, normal or high)")]
    Priority(String),
    #[error("the task is {0} already: only an open or snoozed task can be {1}")]
    Finished(TaskStatus, &'static str),
    #[error("a snooze must end after now ({now}), not at {until}")]
    SnoozeInThePast { until: Timestamp, now: Timestamp },
}

impl TaskKind {
    /// Whether doing it reaches the lead (a call, an email, a meeting): what SLAs call a touch.
    pub fn is_touch(self) -> bool {
        matches!(self, TaskKind::Call | TaskKind::Email | TaskKind::Meeting)
    }

    pub fn parse_or_error(s: &str) -> Result<TaskKind, TaskError> {
        TaskKind::parse(s).ok_or_else(|| TaskError::Kind(printable(s.trim()).into_owned()))
    }
}

impl Priority {
    pub fn parse_or_error(s: &str) -> Result<Priority, TaskError> {
        Priority::parse(s).ok_or_else(|| TaskError::Priority(printable(s.trim()).into_owned()))
    }
}

/// Where a task stands, and what changes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    pub status: TaskStatus,
    pub due_at: Timestamp,
    /// Set while snoozed.
    pub snoozed_until: Option<Timestamp>,
    /// How it went: the note given as it was done (or why it was cancelled).
    pub outcome: Option<String>,
    /// When it was done or cancelled.
    pub closed_at: Option<Timestamp>,
}

impl TaskState {
    pub fn open(due_at: Timestamp) -> TaskState {
        TaskState { status: TaskStatus::Open, due_at, snoozed_until: None, outcome: None, closed_at: None }
    }

    /// When it is due: its snooze's end while snoozed, else its due time.
    pub fn due(&self) -> Timestamp {
        match (self.status, self.snoozed_until) {
            (TaskStatus::Snoozed, Some(until)) => until,
            _ => self.due_at,
        }
    }

    /// Still to do and due before `now`.
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_pending() && self.due() < now
    }

    fn pending(&self, doing: &'static str) -> Result<(), TaskError> {
        if self.status.is_pending() { Ok(()) } else { Err(TaskError::Finished(self.status, doing)) }
    }

    /// Done at `now`, with a note of how it went.
    pub fn complete(&mut self, note: Option<&str>, now: Timestamp) -> Result<(), TaskError> {
        self.pending("done")?;
        self.status = TaskStatus::Done;
        self.outcome = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        self.snoozed_until = None;
        self.closed_at = Some(now);
        Ok(())
    }

    /// Put off until `until`, which must be after `now`; snoozing again moves it on.
    pub fn snooze(&mut self, until: Timestamp, now: Timestamp) -> Result<(), TaskError> {
        self.pending("snoozed")?;
        if until <= now {
            return Err(TaskError::SnoozeInThePast { until, now });
        }
        self.status = TaskStatus::Snoozed;
        self.snoozed_until = Some(until);
        Ok(())
    }

    /// Not to be done, with why.
    pub fn cancel(&mut self, why: Option<&str>, now: Timestamp) -> Result<(), TaskError> {
        self.pending("cancelled")?;
        self.status = TaskStatus::Cancelled;
        self.outcome = why.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        self.snoozed_until = None;
        self.closed_at = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn the_local_day_ends_at_the_next_local_midnight() {
        use crate::calendar::{end_of_local_day, parse_zone};
        let berlin = parse_zone("Europe/Berlin").unwrap();
        // 23:30 in Berlin (UTC+1 in winter) is still that day: it ends at 23:00Z.
        assert_eq!(end_of_local_day(berlin, t("2026-01-15T22:30:00Z")), Some(t("2026-01-15T23:00:00Z")));
        assert_eq!(end_of_local_day(berlin, t("2026-01-15T23:00:00Z")), Some(t("2026-01-16T23:00:00Z")));
        // The day the clocks go forward has 23 hours; it ends at the next midnight all the same.
        assert_eq!(end_of_local_day(berlin, t("2026-03-29T10:00:00Z")), Some(t("2026-03-29T22:00:00Z")));
        // São Paulo skipped midnight on 2018-11-04: that day started at 01:00 local.
        let sao_paulo = parse_zone("America/Sao_Paulo").unwrap();
        assert_eq!(end_of_local_day(sao_paulo, t("2018-11-03T12:00:00Z")), Some(t("2018-11-04T03:00:00Z")));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(&k.as_str().to_uppercase()), Some(*k));
        }
        assert_eq!(Priority::parse(" High "), Some(Priority::High));
        assert!(Priority::Low < Priority::Normal && Priority::Normal < Priority::High);
        assert_eq!(TaskKind::parse_or_error("fax"), Err(TaskError::Kind("fax".into())));
        assert_eq!(TaskTitle::parse("  "), Err(TaskError::BlankTitle));
        assert_eq!(TaskTitle::parse(&"x".repeat(201)), Err(TaskError::LongTitle));
        assert_eq!(TaskTitle::parse(" Call Ana ").unwrap().as_str(), "Call Ana");
    }

    #[test]
    fn a_task_is_done_snoozed_or_cancelled_once() {
        let now = t("2026-06-01T09:00:00Z");
        let mut task = TaskState::open(t("2026-06-01T12:00:00Z"));
        assert!(!task.is_overdue(now));
        assert!(task.is_overdue(t("2026-06-01T12:00:01Z")));
        assert_eq!(
            task.snooze(now, now),
            Err(TaskError::SnoozeInThePast { until: now, now }),
            "a snooze ends after now"
        );
        task.snooze(t("2026-06-03T09:00:00Z"), now).unwrap();
        assert_eq!((task.status, task.due()), (TaskStatus::Snoozed, t("2026-06-03T09:00:00Z")));
        assert!(!task.is_overdue(t("2026-06-02T09:00:00Z")), "snoozed past its due time, not overdue");
        task.complete(Some("  booked a demo "), t("2026-06-03T10:00:00Z")).unwrap();
        assert_eq!((task.status, task.outcome.as_deref()), (TaskStatus::Done, Some("booked a demo")));
        assert!(!task.is_overdue(t("2027-01-01")), "a done task is never overdue");
        assert_eq!(task.complete(None, now), Err(TaskError::Finished(TaskStatus::Done, "done")));
        assert_eq!(task.cancel(None, now), Err(TaskError::Finished(TaskStatus::Done, "cancelled")));
        let mut other = TaskState::open(now);
        other.cancel(Some("lead went cold"), now).unwrap();
        assert_eq!(other.snooze(t("2026-07-01"), now), Err(TaskError::Finished(TaskStatus::Cancelled, "snoozed")));
    }
}
