//! Weekly working hours: local wall-clock intervals per weekday, parsed from `HH:MM-HH:MM`.
//!
//! Parsed into types that cannot hold a bad schedule: an interval's start is before its end, and
//! a day's intervals are in order and do not overlap. The walk over instants relies on that order
//! to find the first working instant of a day without sorting.

use std::fmt;

use super::CalendarError;

const MINUTES_PER_DAY: u16 = 24 * 60;
const MILLIS_PER_MINUTE: i64 = 60_000;

/// A local wall-clock interval `[start, end)` of one day, to the minute; `end` may be 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingInterval {
    start_minute: u16,
    end_minute: u16,
}

impl WorkingInterval {
    /// Reads `09:00-17:00` (hours may have one digit; `24:00` is the end of the day).
    pub fn parse(input: &str) -> Result<Self, CalendarError> {
        let printable = || crate::text::printable(input.trim()).into_owned();
        let (start, end) = input.split_once('-').ok_or_else(|| CalendarError::BadInterval { interval: printable() })?;
        let minute = |time: &str| {
            minute_of_day(time).ok_or_else(|| CalendarError::BadTime {
                time: crate::text::printable(time.trim()).into_owned(),
                interval: printable(),
            })
        };
        let (start_minute, end_minute) = (minute(start)?, minute(end)?);
        if start_minute >= end_minute {
            return Err(CalendarError::EmptyInterval { interval: printable() });
        }
        Ok(WorkingInterval { start_minute, end_minute })
    }

    /// Milliseconds from local midnight to the start.
    pub(super) fn start_ms(self) -> i64 {
        i64::from(self.start_minute) * MILLIS_PER_MINUTE
    }

    /// Milliseconds from local midnight to the end (exclusive).
    pub(super) fn end_ms(self) -> i64 {
        i64::from(self.end_minute) * MILLIS_PER_MINUTE
    }

    /// Whether a local time of day, in milliseconds since local midnight, falls in `[start, end)`.
    pub(super) fn contains_ms(self, time_of_day_ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&time_of_day_ms)
    }

    fn duration_ms(self) -> i64 {
        self.end_ms() - self.start_ms()
    }
}

impl fmt::Display for WorkingInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start_minute, self.end_minute);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

/// `H:MM` or `HH:MM` from 00:00 to 24:00, as minutes since midnight.
fn minute_of_day(time: &str) -> Option<u16> {
    let (hours, minutes) = time.trim().split_once(':')?;
    let digits = |s: &str, max_len: usize| !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(hours, 2) || !digits(minutes, 2) || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    let minute = hours * 60 + minutes;
    (minutes < 60 && minute <= MINUTES_PER_DAY).then_some(minute)
}

/// The working intervals of one day, in order and not overlapping (touching is fine).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayHours {
    intervals: Vec<WorkingInterval>,
}

impl DayHours {
    /// A day nobody works.
    pub fn closed() -> Self {
        DayHours::default()
    }

    /// Refuses intervals out of order or overlapping rather than sorting or merging them: such a
    /// list is more likely a typo (`13:00-12:00` meant as `12:00-13:00`) than an intent.
    pub fn new(intervals: Vec<WorkingInterval>) -> Result<Self, CalendarError> {
        for pair in intervals.windows(2) {
            let (first, second) = (pair[0], pair[1]);
            if second.start_minute < first.start_minute {
                return Err(CalendarError::UnorderedIntervals { first: first.to_string(), second: second.to_string() });
            }
            if second.start_minute < first.end_minute {
                return Err(CalendarError::OverlappingIntervals {
                    first: first.to_string(),
                    second: second.to_string(),
                });
            }
        }
        Ok(DayHours { intervals })
    }

    /// Reads `09:00-12:30, 13:30-17:00`; an empty or blank string is a closed day.
    pub fn parse(input: &str) -> Result<Self, CalendarError> {
        if input.trim().is_empty() {
            return Ok(DayHours::closed());
        }
        DayHours::new(input.split(',').map(WorkingInterval::parse).collect::<Result<_, _>>()?)
    }

    pub fn intervals(&self) -> &[WorkingInterval] {
        &self.intervals
    }

    fn duration_ms(&self) -> i64 {
        self.intervals.iter().map(|i| i.duration_ms()).sum()
    }
}

/// Working hours for each day of the week, Monday first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [DayHours; 7],
}

impl WeeklyHours {
    /// `days[0]` is Monday, `days[6]` Sunday.
    pub fn new(days: [DayHours; 7]) -> Self {
        WeeklyHours { days }
    }

    /// One [`DayHours::parse`] string per day, Monday first.
    pub fn parse(days: [&str; 7]) -> Result<Self, CalendarError> {
        let mut parsed: [DayHours; 7] = Default::default();
        for (slot, day) in parsed.iter_mut().zip(days) {
            *slot = DayHours::parse(day)?;
        }
        Ok(WeeklyHours::new(parsed))
    }

    /// Working time of a week without holidays, as the wall clock counts it.
    pub fn duration_ms(&self) -> i64 {
        self.days.iter().map(DayHours::duration_ms).sum()
    }

    /// The intervals of the weekday with this index, Monday being 0.
    pub(super) fn on_weekday_index(&self, index_from_monday: usize) -> &[WorkingInterval] {
        &self.days[index_from_monday].intervals
    }
}
