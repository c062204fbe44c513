//! Working time: which instants count towards a hand-off SLA ("accepted within 4 working hours"),
//! how much of it lies between two instants, and when a given amount of it has passed.
//!
//! A [`WorkingCalendar`] is an owner's time zone, weekly working hours (local wall-clock intervals
//! per weekday) and holidays (local dates on which nobody works).
//!
//! # Definition
//!
//! An instant `t` is working time iff its local wall-clock time in the calendar's zone falls in
//! one of the intervals `[start, end)` of its local weekday, and its local date is not a holiday.
//! Everything else follows from this one definition on instants, so [`WorkingCalendar::is_working`],
//! [`WorkingCalendar::working_between`], [`WorkingCalendar::add_working`] and
//! [`WorkingCalendar::next_working_instant`] always agree with each other. In particular:
//!
//! - On a spring-forward day the skipped local hour has no instants, so it holds no working time:
//!   Berlin's 2026-03-29 with hours 00:00-24:00 has 23 working hours, and an interval 02:00-03:00
//!   that day has none.
//! - On a fall-back day the repeated local hour is lived twice, and both instants of each repeated
//!   wall-clock time are working if that time is in an interval: Berlin's 2026-10-25 with hours
//!   00:00-24:00 has 25 working hours.
//! - A zone that falls back across midnight (the local clock reads 23:00 of the previous date
//!   again) makes the instants of that hour belong to the previous date, with its weekday and
//!   holiday status, as their wall clock says.
//!
//! Instants outside the years 1 to 9999 (UTC) are never working time.
//!
//! # Cost
//!
//! The walk goes one local day at a time (and one offset at a time on a day whose offset
//! changes), never minute by minute: a year of working time is a few hundred steps, each a couple
//! of time zone look-ups. It relies on a zone's offset changing at most once within any day,
//! which holds for every zone of the tz database that chrono-tz compiles in (the closest two
//! changes of any zone are more than three days apart).
//!
//! # Horizon
//!
//! [`WorkingCalendar::add_working`] and [`WorkingCalendar::next_working_instant`] search forward,
//! and give up (`None`) after [`SEARCH_HORIZON_DAYS`] days in a row without working time: a
//! calendar with no working hours, or one whose holidays cover more than a year, has no deadline
//! rather than a search without end.

mod hours;
mod walk;

use std::ops::Range;

use chrono::{Datelike, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

use crate::time::Timestamp;

pub use hours::{DayHours, WeeklyHours, WorkingInterval};

/// How many days in a row without working time end a forward search.
pub const SEARCH_HORIZON_DAYS: i64 = 400;

const MILLIS_PER_DAY: i64 = 86_400_000;
const SEARCH_HORIZON_MS: i64 = SEARCH_HORIZON_DAYS * MILLIS_PER_DAY;
/// 0001-01-01T00:00:00Z to 10000-01-01T00:00:00Z: far from where millisecond arithmetic with an
/// offset could overflow, and inside chrono's range.
const SUPPORTED_MS: Range<i64> = -62_135_596_800_000..253_402_300_800_000;
/// chrono's day number (from 0001-01-01 as day 1) of 1970-01-01.
const UNIX_EPOCH_DAY_FROM_CE: i64 = 719_163;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("`{name}` is not a time zone of the IANA database (expected a name such as Europe/Berlin)")]
    UnknownZone { name: String },
    #[error("`{interval}` is not an interval (expected HH:MM-HH:MM, such as 09:00-17:00)")]
    BadInterval { interval: String },
    #[error("`{time}` in `{interval}` is not a time of day (expected HH:MM from 00:00 to 24:00)")]
    BadTime { time: String, interval: String },
    #[error("`{interval}` does not start before it ends")]
    EmptyInterval { interval: String },
    #[error("`{second}` comes after `{first}` but starts earlier: list a day's intervals in order")]
    UnorderedIntervals { first: String, second: String },
    #[error("`{first}` and `{second}` overlap")]
    OverlappingIntervals { first: String, second: String },
    #[error("`{input}` is not a holiday date (expected YYYY-MM-DD)")]
    BadHoliday { input: String },
}

/// Reads an IANA time zone name such as `Europe/Berlin` (exact case).
pub fn parse_zone(name: &str) -> Result<Tz, CalendarError> {
    name.trim()
        .parse()
        .map_err(|_| CalendarError::UnknownZone { name: crate::text::printable(name.trim()).into_owned() })
}

/// The first instant of the local day after the one `t` falls on, in `zone`: the end of `t`'s
/// local day ("due today" is due before it). On a day that ends in a DST gap at midnight, the
/// next day starts at its first instant that exists. `None` outside the years 1 to 9999.
pub fn end_of_local_day(zone: Tz, t: Timestamp) -> Option<Timestamp> {
    if !SUPPORTED_MS.contains(&t.millis()) {
        return None;
    }
    let local = chrono::DateTime::from_timestamp_millis(t.millis())?.with_timezone(&zone);
    let next = local.date_naive().succ_opt()?;
    // Midnight may be skipped by a DST change (São Paulo until 2019): the day then starts at the
    // first minute that exists.
    (0..24 * 60).find_map(|minute| {
        let wall = next.and_hms_opt(minute / 60, minute % 60, 0)?;
        zone.from_local_datetime(&wall).earliest().map(|at| Timestamp::from_millis(at.timestamp_millis()))
    })
}

/// Whose working time an SLA counts: a zone, weekly hours and holidays. See the module doc for
/// what counts as working time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingCalendar {
    zone: Tz,
    week: WeeklyHours,
    /// Local dates, as days since 1970-01-01, sorted and without repeats.
    holidays: Vec<i64>,
}

impl WorkingCalendar {
    /// Holidays are local dates of the calendar's zone; repeats are harmless.
    pub fn new(zone: Tz, week: WeeklyHours, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        let mut holidays: Vec<i64> = holidays.into_iter().map(day_number).collect();
        holidays.sort_unstable();
        holidays.dedup();
        WorkingCalendar { zone, week, holidays }
    }

    /// A calendar from its text form: a zone name, one [`DayHours::parse`] string per weekday
    /// (Monday first) and holidays as `YYYY-MM-DD`.
    pub fn parse(zone: &str, week: [&str; 7], holidays: &[&str]) -> Result<Self, CalendarError> {
        let zone = parse_zone(zone)?;
        let week = WeeklyHours::parse(week)?;
        let holidays = holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d")
                    .map_err(|_| CalendarError::BadHoliday { input: crate::text::printable(h.trim()).into_owned() })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkingCalendar::new(zone, week, holidays))
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Whether `t` is working time, by the definition in the module doc.
    pub fn is_working(&self, t: Timestamp) -> bool {
        let t = t.millis();
        if !SUPPORTED_MS.contains(&t) {
            return false;
        }
        let local = t + self.offset_ms(t);
        let day = local.div_euclid(MILLIS_PER_DAY);
        let time_of_day = local - day * MILLIS_PER_DAY;
        self.hours_on(day).iter().any(|interval| interval.contains_ms(time_of_day))
    }

    /// Working milliseconds in `[from, to)`; 0 when `to <= from`.
    pub fn working_between(&self, from: Timestamp, to: Timestamp) -> i64 {
        self.pieces(from.millis(), to.millis()).flat_map(walk::Piece::working).map(|(s, e)| e - s).sum()
    }

    /// The earliest instant `t >= start` with `working_between(start, t) == working_ms`: the
    /// deadline of an SLA of `working_ms` that starts at `start`. `add_working(start, 0)` is
    /// `start`, working or not.
    ///
    /// `None` for a negative amount, and when the search meets [`SEARCH_HORIZON_DAYS`] days in a
    /// row without working time (counted from `start` or from the end of a stretch of working
    /// time) before the amount is reached.
    pub fn add_working(&self, start: Timestamp, working_ms: i64) -> Option<Timestamp> {
        if working_ms == 0 {
            return Some(start);
        }
        if working_ms < 0 {
            return None;
        }
        let mut remaining = working_ms;
        let mut last_working = start.millis();
        for piece in self.pieces(start.millis(), SUPPORTED_MS.end) {
            if piece.start - last_working >= SEARCH_HORIZON_MS {
                return None;
            }
            for (s, e) in piece.working() {
                if s - last_working >= SEARCH_HORIZON_MS {
                    return None;
                }
                if remaining <= e - s {
                    return Some(Timestamp::from_millis(s + remaining));
                }
                remaining -= e - s;
                last_working = e;
            }
        }
        None
    }

    /// `t` if it is working time, else the start of the next working time; `None` when there is
    /// none within [`SEARCH_HORIZON_DAYS`] days of `t`.
    pub fn next_working_instant(&self, t: Timestamp) -> Option<Timestamp> {
        let t = t.millis();
        self.pieces(t, t.saturating_add(SEARCH_HORIZON_MS))
            .flat_map(walk::Piece::working)
            .next()
            .map(|(s, _)| Timestamp::from_millis(s))
    }

    /// Local minus UTC at the instant `utc_ms`, in milliseconds.
    fn offset_ms(&self, utc_ms: i64) -> i64 {
        // Out of chrono's range only outside `SUPPORTED_MS`, which no caller passes.
        chrono::DateTime::from_timestamp_millis(utc_ms)
            .map_or(0, |t| i64::from(self.zone.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()) * 1000)
    }

    /// The intervals of a local date (days since 1970-01-01): none on a holiday.
    fn hours_on(&self, day: i64) -> &[WorkingInterval] {
        if self.holidays.binary_search(&day).is_ok() {
            return &[];
        }
        // 1970-01-01 was a Thursday, index 3 from Monday.
        let weekday = (day + 3).rem_euclid(7) as usize;
        self.week.on_weekday_index(weekday)
    }
}

fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAY_FROM_CE
}
