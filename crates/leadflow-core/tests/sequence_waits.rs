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

/// Send hours of every shape: closed days, split days, short windows.
fn send_hours() -> impl Strategy<Value = [String; 7]> {
    let day = prop::sample::select(vec![
        "",
        "09:00-17:00",
        "08:30-12:00, 13:00-18:00",
        "00:00-24:00",
        "02:00-03:30",
        "20:00-23:00",
    ]);
    [day.clone(), day.clone(), day.clone(), day.clone(), day.clone(), day.clone(), day]
        .prop_map(|d| d.map(String::from))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// A send goes at the first instant from its due time that is in the lead's send hours and
    /// has a slot under the cap (with sends sent before and planned after: no window around it
    /// holds `max` others): both hold there, and one of them fails a millisecond before (unless
    /// it goes when due).
    #[test]
    fn a_send_goes_at_the_first_open_instant_with_a_slot(
        zone in prop::sample::select(&ZONES[..]), due in FROM..TO, hours in send_hours(),
        max in 1u32..4, days in 1u32..8, sent in prop::collection::vec(-10 * 24 * HOUR..10 * 24 * HOUR, 0..8),
    ) {
        use leadflow_core::calendar::{WeeklyHours, WorkingCalendar};
        use leadflow_core::sequence::{FrequencyCap, SendPolicy};
        let zone: Tz = zone.parse().unwrap();
        let hours = WeeklyHours::parse(hours.each_ref().map(String::as_str)).unwrap();
        let calendar = WorkingCalendar::new(zone, hours.clone(), []);
        let cap = FrequencyCap { max, days };
        let policy = SendPolicy { cap, hours };
        let sent: Vec<Timestamp> = sent.iter().map(|d| Timestamp::from_millis(due + d)).collect();
        let due = Timestamp::from_millis(due);
        let window = i64::from(days) * 24 * HOUR;
        // The most sends in one window (x - window, x] that holds `at`: such windows end in
        // [at, at + window), and their count changes only where a send enters them.
        let in_window = |at: Timestamp| {
            let ends = std::iter::once(at.millis())
                .chain(sent.iter().map(|s| s.millis()).filter(|&s| s >= at.millis() && s < at.millis() + window));
            ends.map(|x| sent.iter().filter(|s| s.millis() > x - window && s.millis() <= x).count()).max().unwrap_or(0)
        };
        let Some(at) = policy.send_at(due, zone, &sent) else {
            prop_assert!(calendar.next_working_instant(due).is_none(), "none only without send hours");
            return Ok(());
        };
        prop_assert!(at >= due);
        prop_assert!(calendar.is_working(at), "{at} is in the send hours");
        prop_assert!(in_window(at) < max as usize, "{at} has a slot");
        if at > due {
            let before = Timestamp::from_millis(at.millis() - 1);
            prop_assert!(!calendar.is_working(before) || in_window(before) >= max as usize, "nothing earlier");
        }
    }
}
