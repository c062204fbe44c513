//! A working week written on one line, as a person types it into a CLI flag or a form:
//! `mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00`.
//!
//! # Grammar
//!
//! ```text
//! week      = part *( ";" part )          blank parts are ignored: a trailing `;` is fine
//! part      = days hours                  the days end where the first digit starts
//! days      = day-item *( "," day-item )
//! day-item  = day | day "-" day           a range runs from Monday towards Sunday: `fri-mon`
//!                                         is refused (write `fri-sun,mon`)
//! day       = mon | tue | wed | thu | fri | sat | sun, or the day's English name (`monday`);
//!             any case
//! hours     = interval *( "," interval )  as the calendar reads a day: in order, not
//!                                         overlapping, each `HH:MM-HH:MM` (`24:00` ends the day)
//! ```
//!
//! Spaces around `;`, `,` and `-` do not matter. Days no part names are days off; a day named
//! twice is refused rather than merged, as it is more likely a typo than an intent. A week with
//! no part at all is refused: a user who takes no leads is marked inactive or away, not given a
//! week without hours. [`WorkingWeek`]'s `Display` writes one canonical form (each set of hours
//! once, its days as runs), which parses back to the same week.

use std::fmt;

use crate::calendar::{CalendarError, DayHours, WeeklyHours};
use crate::text::printable;

/// The week a user works when none is given.
pub const DEFAULT_WEEK: &str = "mon-fri 09:00-17:00";

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DAY_NAMES: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Working hours for each day of the week, Monday first; at least one day has some.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingWeek {
    days: [DayHours; 7],
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeekError {
    #[error("no working hours (expected days, then hours, such as `{DEFAULT_WEEK}`)")]
    Empty,
    #[error("`{part}` has no hours (expected days, then hours, such as `mon-fri 09:00-17:00`)")]
    NoHours { part: String },
    #[error("`{part}` has no days (expected days, then hours, such as `mon-fri 09:00-17:00`)")]
    NoDays { part: String },
    #[error("`{day}` in `{part}` is not a day (expected mon, tue, wed, thu, fri, sat or sun)")]
    UnknownDay { day: String, part: String },
    #[error("`{range}` in `{part}` runs backwards: a range runs from Monday towards Sunday (write `{instead}`)")]
    BackwardsRange { range: String, part: String, instead: String },
    #[error("`{day}` is named twice in `{part}`")]
    DayRepeated { day: &'static str, part: String },
    #[error("`{day}` is in both `{first}` and `{second}`: give each day's hours once")]
    DayTwice { day: &'static str, first: String, second: String },
    #[error("`{part}`: {source}")]
    Hours { part: String, source: CalendarError },
}

impl WorkingWeek {
    /// Reads the one-line form the module doc describes.
    pub fn parse(input: &str) -> Result<WorkingWeek, WeekError> {
        let mut days: [DayHours; 7] = Default::default();
        // Which part (its index and text) gave each day its hours.
        let mut given_by: [Option<(usize, &str)>; 7] = [None; 7];
        let parts = input.split(';').map(str::trim).filter(|p| !p.is_empty());
        for (index, part) in parts.enumerate() {
            let shown = || printable(part).into_owned();
            let hours_start =
                part.find(|c: char| c.is_ascii_digit()).ok_or_else(|| WeekError::NoHours { part: shown() })?;
            let (day_list, hours) = part.split_at(hours_start);
            if day_list.trim().is_empty() {
                return Err(WeekError::NoDays { part: shown() });
            }
            let hours = DayHours::parse(hours).map_err(|source| WeekError::Hours { part: shown(), source })?;
            for day in read_days(day_list, part)? {
                match given_by[day] {
                    Some((earlier, _)) if earlier == index => {
                        return Err(WeekError::DayRepeated { day: DAYS[day], part: shown() });
                    }
                    Some((_, first)) => {
                        return Err(WeekError::DayTwice {
                            day: DAYS[day],
                            first: printable(first).into_owned(),
                            second: shown(),
                        });
                    }
                    None => {
                        given_by[day] = Some((index, part));
                        days[day] = hours.clone();
                    }
                }
            }
        }
        if given_by.iter().all(Option::is_none) {
            return Err(WeekError::Empty);
        }
        Ok(WorkingWeek { days })
    }

    /// The hours as the calendar takes them.
    pub fn weekly_hours(&self) -> WeeklyHours {
        WeeklyHours::new(self.days.clone())
    }
}

impl Default for WorkingWeek {
    /// [`DEFAULT_WEEK`]: Monday to Friday, 09:00 to 17:00.
    fn default() -> Self {
        WorkingWeek::parse(DEFAULT_WEEK).expect("the default week is valid")
    }
}

/// The days of a part's day list, as indices from Monday.
fn read_days(list: &str, part: &str) -> Result<Vec<usize>, WeekError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim) {
        let day = |name: &str| {
            day_index(name.trim()).ok_or_else(|| WeekError::UnknownDay {
                day: printable(name.trim()).into_owned(),
                part: printable(part).into_owned(),
            })
        };
        match item.split_once('-') {
            None => out.push(day(item)?),
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                if from > to {
                    return Err(WeekError::BackwardsRange {
                        range: printable(item).into_owned(),
                        part: printable(part).into_owned(),
                        instead: format!("{},{}", day_range(from, 6), day_range(0, to)),
                    });
                }
                out.extend(from..=to);
            }
        }
    }
    Ok(out)
}

fn day_index(name: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    DAYS.iter().position(|d| *d == name).or_else(|| DAY_NAMES.iter().position(|d| *d == name))
}

/// `mon` for one day, `mon-fri` for several.
fn day_range(from: usize, to: usize) -> String {
    if from == to { DAYS[from].to_string() } else { format!("{}-{}", DAYS[from], DAYS[to]) }
}

impl fmt::Display for WorkingWeek {
    /// One part per distinct set of hours, in the order of its first day; the days of a part as
    /// runs (`mon-wed,fri`). Days off are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = [false; 7];
        let mut parts = 0;
        for first in 0..7 {
            if written[first] || self.days[first].intervals().is_empty() {
                continue;
            }
            let same: Vec<usize> = (first..7).filter(|&d| self.days[d] == self.days[first]).collect();
            if parts > 0 {
                f.write_str("; ")?;
            }
            parts += 1;
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for &d in &same {
                written[d] = true;
                match runs.last_mut() {
                    Some((_, end)) if *end + 1 == d => *end = d,
                    _ => runs.push((d, d)),
                }
            }
            let runs: Vec<String> = runs.into_iter().map(|(from, to)| day_range(from, to)).collect();
            let hours: Vec<String> = self.days[first].intervals().iter().map(ToString::to_string).collect();
            write!(f, "{} {}", runs.join(","), hours.join(","))?;
        }
        Ok(())
    }
}
