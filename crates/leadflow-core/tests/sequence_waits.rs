//! A sequence's waits, checked against what they mean on the lead's wall clock, at random instants
//! around the offset changes of zones with odd offsets and shifts.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, Timelike, Weekday};
use chrono_tz::Tz;
use leadflow_core::Timestamp;
use leadflow_core::sequence::Wait;
use proptest::prelude::*;

/// With and without DST; 30-minute shifts (Lord Howe); offsets of :30 and :45; the southern
/// hemisphere.
const ZONES: [&str; 7] = [
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
];

const HOUR: i64 = 3_600_000;
/// 2025-01-01 to 2028-01-01: several offset changes of every zone with DST.
const FROM: i64 = 1_735_689_600_000;
const TO: i64 = 1_830_297_600_000;

fn local(t: Timestamp, zone: Tz) -> NaiveDateTime {
    DateTime::from_timestamp_millis(t.millis()).unwrap().with_timezone(&zone).naive_local()
}

/// The wall clock reads `wanted` at `end`, or `end` is where a gap that skipped `wanted` put it:
/// then it reads a time at most the gap (an hour at most in these zones) past it.
fn reads(end: Timestamp, zone: Tz, wanted: NaiveDateTime) -> bool {
    let got = local(end, zone);
    got == wanted || (got > wanted && got - wanted <= TimeDelta::hours(1) && skipped(zone, wanted))
}

/// Whether no instant's wall clock reads `wanted` in `zone`.
fn skipped(zone: Tz, wanted: NaiveDateTime) -> bool {
    use chrono::TimeZone;
    zone.from_local_datetime(&wanted).earliest().is_none()
}

fn weekday_of(n: u8) -> Weekday {
    Weekday::try_from(n).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn days_land_on_the_same_wall_clock_time_days_later(
        zone in prop::sample::select(&ZONES[..]), from in FROM..TO, days in 1u32..60,
    ) {
        let zone: Tz = zone.parse().unwrap();
        let from = Timestamp::from_millis(from);
        let end = Wait::Days(days).ends_at(from, zone).unwrap();
        let start = local(from, zone);
        let wanted = start + TimeDelta::days(i64::from(days));
        prop_assert!(end > from);
        prop_assert!(reads(end, zone, wanted), "{start} + {days} days: {}", local(end, zone));
        // Within an hour of the days counted as 24 hours each (an offset change is an hour).
        let naive = from.millis() + i64::from(days) * 24 * HOUR;
        prop_assert!((end.millis() - naive).abs() <= HOUR);
    }

    #[test]
    fn business_days_count_only_monday_to_friday(
        zone in prop::sample::select(&ZONES[..]), from in FROM..TO, days in 1u32..30,
    ) {
        let zone: Tz = zone.parse().unwrap();
        let from = Timestamp::from_millis(from);
        let end = Wait::BusinessDays(days).ends_at(from, zone).unwrap();
        let (start, finish) = (local(from, zone), local(end, zone));
        prop_assert!(!matches!(finish.weekday(), Weekday::Sat | Weekday::Sun));
        let mut counted = 0;
        let mut date = start.date();
        while date < finish.date() {
            date = date.succ_opt().unwrap();
            counted += u32::from(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun));
        }
        prop_assert_eq!(counted, days);
        prop_assert!(reads(end, zone, finish.date().and_time(start.time())));
    }

    #[test]
    fn the_next_weekday_at_a_time_is_the_first_one_after(
        zone in prop::sample::select(&ZONES[..]), from in FROM..TO, weekday in 0u8..7, hour in 0u32..24,
        minute in 0u32..60,
    ) {
        let zone: Tz = zone.parse().unwrap();
        let from = Timestamp::from_millis(from);
        let weekday = weekday_of(weekday);
        let end = Wait::Next { weekday, hour, minute }.ends_at(from, zone).unwrap();
        prop_assert!(end > from);
        prop_assert!(end.millis() - from.millis() <= 7 * 24 * HOUR + HOUR, "within a week");
        let finish = local(end, zone);
        let wanted = finish.date().and_hms_opt(hour, minute, 0).unwrap();
        prop_assert!(finish.weekday() == weekday || skipped(zone, wanted));
        prop_assert!(reads(end, zone, wanted) || (finish.hour(), finish.minute()) == (hour, minute));
        // No such time came between: a week before it is not after `from`.
        let week_before = Wait::Next { weekday, hour, minute }
            .ends_at(Timestamp::from_millis(end.millis() - 7 * 24 * HOUR - 2 * HOUR), zone)
            .unwrap();
        prop_assert!(week_before <= from || week_before == end);
    }

    #[test]
    fn until_ends_at_its_instant_or_at_once(from in FROM..TO, until in FROM..TO) {
        let (from, until) = (Timestamp::from_millis(from), Timestamp::from_millis(until));
        prop_assert_eq!(Wait::Until(until).ends_at(from, chrono_tz::UTC), Some(until.max(from)));
    }
}
