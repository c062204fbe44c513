//! When a wait step ends, in the lead's time zone.
//!
//! Waits are counted on the lead's wall clock, as a person would: "3 days" after Tuesday 10:00
//! is Friday 10:00 however many hours a change of offset put between them, "2 business days"
//! after Friday 10:00 is Tuesday 10:00, and "Tuesday at 10:00" is the first Tuesday 10:00
//! after the wait began. A wall-clock time a spring-forward gap skips is read as the first
//! instant after the gap with the same distance past it (02:30 in a 02:00-03:00 gap is 03:30);
//! one a fall-back repeats is its first instant.
//!
//! Business days are Monday to Friday: a lead's own holidays are not known.
//!
//! A lead's zone is its `custom.time_zone` (an IANA name) when it has one ([`lead_zone`]).

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Weekday};
use chrono_tz::Tz;

use super::Wait;
use crate::Timestamp;
use crate::lead::{FieldRef, FieldValue, Profile};

impl Wait {
    /// The instant a wait begun at `from` ends for a lead in `zone`; `None` past the calendar's
    /// end (the year 262143).
    pub fn ends_at(&self, from: Timestamp, zone: Tz) -> Option<Timestamp> {
        let local = local_time(from, zone)?;
        match *self {
            Wait::Days(days) => resolve(zone, local.date().checked_add_days(Days::new(days.into()))?, local.time()),
            Wait::BusinessDays(days) => resolve(zone, add_business_days(local.date(), days)?, local.time()),
            Wait::Until(until) => Some(until.max(from)),
            Wait::Next { weekday, hour, minute } => {
                let at = NaiveTime::from_hms_opt(hour, minute, 0)?;
                // The first such day on or after today whose time is still to come: within eight.
                (0..8).find_map(|ahead| {
                    let date = local.date().checked_add_days(Days::new(ahead))?;
                    let end = resolve(zone, date, at)?;
                    (date.weekday() == weekday && end > from).then_some(end)
                })
            }
        }
    }
}

/// `from`'s wall-clock time in `zone`.
fn local_time(from: Timestamp, zone: Tz) -> Option<NaiveDateTime> {
    Some(chrono::DateTime::from_timestamp_millis(from.millis())?.with_timezone(&zone).naive_local())
}

/// The `days`-th Monday-to-Friday date after `date`.
fn add_business_days(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    let mut date = date;
    let mut left = days;
    while left > 0 {
        date = date.succ_opt()?;
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    Some(date)
}

/// The instant the wall clock reads `time` on `date` in `zone`: the first of two in a fall-back,
/// and in a spring-forward gap the instant as far past the gap's end as `time` is past its
/// start.
fn resolve(zone: Tz, date: NaiveDate, time: NaiveTime) -> Option<Timestamp> {
    let local = date.and_time(time);
    let instant = match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t,
        chrono::LocalResult::Ambiguous(first, _) => first,
        chrono::LocalResult::None => {
            // In a gap: the offset before it, applied to the wall-clock time, lands past it. (A
            // gap is an hour or less, but Samoa once skipped a whole day.)
            let before = [3, 12, 48]
                .into_iter()
                .find_map(|hours| zone.from_local_datetime(&(local - chrono::Duration::hours(hours))).earliest())?;
            let utc = local - chrono::Duration::seconds(i64::from(before.offset().fix().local_minus_utc()));
            return Some(Timestamp::from_millis(utc.and_utc().timestamp_millis()));
        }
    };
    Some(Timestamp::from_millis(instant.timestamp_millis()))
}

/// The custom field a lead's time zone is read from (an IANA name, `Europe/Berlin`).
pub const TIME_ZONE_FIELD: &str = "time_zone";

/// The time zone a lead's waits and send hours are counted in: its `custom.time_zone` when that
/// names one, else `default`.
pub fn lead_zone(profile: &Profile, default: Tz) -> Tz {
    match profile.value(&FieldRef::Custom(TIME_ZONE_FIELD.into())) {
        FieldValue::Text(name) => crate::calendar::parse_zone(name).unwrap_or(default),
        _ => default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomValue, Email};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    #[test]
    fn days_keep_the_wall_clock_across_a_change_of_offset() {
        // Saturday 10:00 CET, the clocks go forward on Sunday: Monday 10:00 CEST, 47 hours on.
        assert_eq!(Wait::Days(2).ends_at(t("2026-03-28T09:00:00Z"), BERLIN), Some(t("2026-03-30T08:00:00Z")));
        // 02:30 on the day 02:00-03:00 is skipped: 03:30 CEST.
        assert_eq!(Wait::Days(1).ends_at(t("2026-03-28T01:30:00Z"), BERLIN), Some(t("2026-03-29T01:30:00Z")));
        // 02:30 on the day 02:00-03:00 is lived twice: the first, still CEST.
        assert_eq!(Wait::Days(1).ends_at(t("2026-10-24T00:30:00Z"), BERLIN), Some(t("2026-10-25T00:30:00Z")));
    }

    #[test]
    fn business_days_skip_the_weekend() {
        // Friday 2026-07-03 10:00 in Berlin, two business days: Tuesday 10:00.
        assert_eq!(Wait::BusinessDays(2).ends_at(t("2026-07-03T08:00:00Z"), BERLIN), Some(t("2026-07-07T08:00:00Z")));
        // From a Saturday, one business day is Monday.
        assert_eq!(Wait::BusinessDays(1).ends_at(t("2026-07-04T08:00:00Z"), BERLIN), Some(t("2026-07-06T08:00:00Z")));
    }

    #[test]
    fn the_next_weekday_at_a_time_is_still_to_come() {
        let tuesday_ten = Wait::Next { weekday: Weekday::Tue, hour: 10, minute: 0 };
        // Tuesday 2026-07-07 09:00 Berlin: the same day at 10:00.
        assert_eq!(tuesday_ten.ends_at(t("2026-07-07T07:00:00Z"), BERLIN), Some(t("2026-07-07T08:00:00Z")));
        // At 10:00 exactly: a week later.
        assert_eq!(tuesday_ten.ends_at(t("2026-07-07T08:00:00Z"), BERLIN), Some(t("2026-07-14T08:00:00Z")));
        // In New York it is a different instant.
        let new_york = chrono_tz::America::New_York;
        assert_eq!(tuesday_ten.ends_at(t("2026-07-07T08:00:00Z"), new_york), Some(t("2026-07-07T14:00:00Z")));
    }

    #[test]
    fn until_never_ends_before_it_began() {
        let until = Wait::Until(t("2026-01-01T00:00:00Z"));
        assert_eq!(until.ends_at(t("2026-06-01T00:00:00Z"), BERLIN), Some(t("2026-06-01T00:00:00Z")));
        assert_eq!(until.ends_at(t("2025-06-01T00:00:00Z"), BERLIN), Some(t("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn a_leads_zone_is_its_time_zone_field_when_that_names_one() {
        let mut profile = Profile::new(Email::parse("kim@acme.example").unwrap());
        let utc = chrono_tz::UTC;
        assert_eq!(lead_zone(&profile, utc), utc);
        profile.custom.insert(TIME_ZONE_FIELD.into(), CustomValue::Text("Asia/Tokyo".into()));
        assert_eq!(lead_zone(&profile, utc), chrono_tz::Asia::Tokyo);
        profile.custom.insert(TIME_ZONE_FIELD.into(), CustomValue::Text("Mars/Olympus".into()));
        assert_eq!(lead_zone(&profile, utc), utc, "not a zone: the default");
    }
}
