//! Working-time arithmetic checked against an independent oracle that reads every minute's local
//! wall clock, on random calendars around the DST transitions of zones with odd offsets and shifts.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeDelta, TimeZone, Timelike};
use chrono_tz::Tz;
use leadflow_core::Timestamp;
use leadflow_core::calendar::{CalendarError, DayHours, WorkingCalendar, WorkingInterval, parse_zone};
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// With and without DST; 30-minute shifts (Lord Howe); offsets of :30 and :45.
const ZONES: [&str; 7] = [
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
];

fn ms(rfc3339: &str) -> i64 {
    Timestamp::parse(rfc3339).unwrap().millis()
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

fn offset_ms(zone: Tz, t: i64) -> i64 {
    i64::from(zone.timestamp_millis_opt(t).unwrap().offset().fix().local_minus_utc()) * 1000
}

/// Every instant in 2025-2027 at which a zone's offset changes, found by scanning hour by hour.
fn transitions() -> &'static [Vec<i64>] {
    static TRANSITIONS: OnceLock<Vec<Vec<i64>>> = OnceLock::new();
    TRANSITIONS.get_or_init(|| {
        let (from, to) = (ms("2025-01-01T00:00:00Z"), ms("2028-01-01T00:00:00Z"));
        ZONES
            .iter()
            .map(|name| {
                let zone: Tz = name.parse().unwrap();
                let mut found = Vec::new();
                let mut t = from;
                while t < to {
                    let offset = offset_ms(zone, t);
                    if offset_ms(zone, t + HOUR) != offset {
                        let (mut same, mut changed) = (t, t + HOUR);
                        while changed - same > 1 {
                            let middle = same + (changed - same) / 2;
                            if offset_ms(zone, middle) == offset { same = middle } else { changed = middle }
                        }
                        found.push(changed);
                    }
                    t += HOUR;
                }
                found
            })
            .collect()
    })
}

/// What the test knows of a calendar, kept apart from the implementation: the oracle reads it.
#[derive(Clone, Debug)]
struct Spec {
    zone: &'static str,
    /// Monday first; minutes since local midnight, on a 15-minute grid.
    week: [Vec<(u16, u16)>; 7],
    /// Holidays, in days from the anchor's UTC date.
    holiday_offsets: Vec<i64>,
    /// An instant the tested ranges surround: mostly a DST transition of the zone.
    anchor: i64,
}

struct Case {
    calendar: WorkingCalendar,
    oracle: Oracle,
    holidays: BTreeSet<NaiveDate>,
    /// Working time of a week without holidays.
    weekly_ms: i64,
}

impl Spec {
    fn build(&self) -> Case {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let days: Vec<String> = self
            .week
            .iter()
            .map(|day| day.iter().map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e))).collect::<Vec<_>>().join(", "))
            .collect();
        let anchor_date = DateTime::from_timestamp_millis(self.anchor).unwrap().date_naive();
        let holidays: BTreeSet<NaiveDate> =
            self.holiday_offsets.iter().map(|&d| anchor_date + TimeDelta::days(d)).collect();
        let holiday_texts: Vec<String> = holidays.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect();
        let holiday_refs: Vec<&str> = holiday_texts.iter().map(String::as_str).collect();
        let week: [&str; 7] = std::array::from_fn(|i| days[i].as_str());
        let calendar = WorkingCalendar::parse(self.zone, week, &holiday_refs).unwrap();
        let weekly_ms = self.week.iter().flatten().map(|&(s, e)| i64::from(e - s) * MINUTE).sum();
        let oracle = Oracle { zone: self.zone.parse().unwrap(), week: self.week.clone(), holidays: holidays.clone() };
        Case { calendar, oracle, holidays, weekly_ms }
    }
}

/// The definition, read off the wall clock instant by instant.
struct Oracle {
    zone: Tz,
    week: [Vec<(u16, u16)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl Oracle {
    fn local_date(&self, t: i64) -> NaiveDate {
        self.zone.timestamp_millis_opt(t).unwrap().date_naive()
    }

    fn is_working(&self, t: i64) -> bool {
        let local = self.zone.timestamp_millis_opt(t).unwrap().naive_local();
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let time_of_day =
            i64::from(local.num_seconds_from_midnight()) * 1000 + i64::from(local.nanosecond() / 1_000_000);
        self.week[local.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|&(s, e)| i64::from(s) * MINUTE <= time_of_day && time_of_day < i64::from(e) * MINUTE)
    }

    /// Working time in `[from, to)` for ends on the minute grid: the zones' offsets and their
    /// changes are whole minutes and the hours are on a 15-minute grid, so each minute is working
    /// or not as a whole.
    fn working_between(&self, from: i64, to: i64) -> i64 {
        (from..to).step_by(MINUTE as usize).filter(|&t| self.is_working(t)).count() as i64 * MINUTE
    }
}

/// 0 to 3 intervals on a 15-minute grid; some days closed, some ending at 24:00.
fn day_hours() -> impl Strategy<Value = Vec<(u16, u16)>> {
    let points = prop_oneof![
        btree_set(0u16..=96, 0..=6).prop_map(|s| s.into_iter().collect::<Vec<_>>()),
        (0usize..3).prop_flat_map(|k| btree_set(0u16..96, 2 * k + 1)).prop_map(|s| {
            let mut points: Vec<_> = s.into_iter().collect();
            points.push(96);
            points
        }),
    ];
    points.prop_map(|points| points.chunks_exact(2).map(|p| (p[0] * 15, p[1] * 15)).collect())
}

fn spec() -> impl Strategy<Value = Spec> {
    let random_instant = ms("2025-01-01T00:00:00Z")..ms("2028-01-01T00:00:00Z");
    (
        0..ZONES.len(),
        proptest::array::uniform7(day_hours()),
        vec(-6i64..=6, 0..=4),
        prop::bool::weighted(0.8),
        any::<prop::sample::Index>(),
        random_instant,
    )
        .prop_map(|(zone, week, holiday_offsets, at_transition, which, random)| {
            let transitions = &transitions()[zone];
            let anchor = if at_transition && !transitions.is_empty() {
                transitions[which.index(transitions.len())]
            } else {
                random
            };
            Spec { zone: ZONES[zone], week, holiday_offsets, anchor }
        })
}

proptest! {
    #[test]
    fn agrees_with_the_minute_by_minute_oracle(
        spec in spec(),
        minutes in 0i64..=4 * 24 * 60,
        before in 0.0f64..=1.0,
        jitter in 0i64..MINUTE,
    ) {
        let case = spec.build();
        // A range on the minute grid that holds the anchor.
        let from = spec.anchor.div_euclid(MINUTE) * MINUTE - (before * minutes as f64) as i64 * MINUTE;
        let to = from + minutes * MINUTE;
        prop_assert_eq!(case.calendar.working_between(at(from), at(to)), case.oracle.working_between(from, to));
        for t in (from..to).step_by(MINUTE as usize) {
            prop_assert_eq!(case.calendar.is_working(at(t)), case.oracle.is_working(t), "at {}", at(t));
            let within = t + jitter;
            prop_assert_eq!(case.calendar.is_working(at(within)), case.oracle.is_working(within), "at {}", at(within));
        }
    }

    #[test]
    fn add_working_is_the_earliest_instant_with_that_much_working_time(
        spec in spec(),
        before in 0i64..4 * DAY,
        small in prop::option::weighted(0.2, 0i64..=10 * MINUTE),
        fraction in 0.0f64..=1.0,
    ) {
        let case = spec.build();
        let start = spec.anchor - before;
        let amount = small.unwrap_or((fraction * (2 * case.weekly_ms) as f64) as i64);
        match case.calendar.add_working(at(start), amount) {
            None => prop_assert!(case.weekly_ms == 0 && amount > 0, "no deadline for {amount} ms"),
            Some(deadline) => {
                prop_assert!(deadline.millis() >= start);
                prop_assert_eq!(case.calendar.working_between(at(start), deadline), amount);
                if amount > 0 {
                    prop_assert!(case.calendar.working_between(at(start), at(deadline.millis() - 1)) < amount);
                }
            }
        }
    }

    #[test]
    fn next_working_instant_skips_only_non_working_time(spec in spec(), before in 0i64..4 * DAY) {
        let case = spec.build();
        let t = spec.anchor - before;
        match case.calendar.next_working_instant(at(t)) {
            None => prop_assert_eq!(case.weekly_ms, 0),
            Some(next) => {
                prop_assert!(next.millis() >= t);
                prop_assert!(case.calendar.is_working(next));
                prop_assert_eq!(case.calendar.working_between(at(t), next), 0);
                prop_assert_eq!(case.calendar.is_working(at(t)), next.millis() == t);
            }
        }
    }

    #[test]
    fn working_time_adds_up_over_adjacent_ranges(
        spec in spec(),
        before in 0i64..5 * DAY,
        first in 0i64..5 * DAY,
        second in 0i64..5 * DAY,
    ) {
        let calendar = spec.build().calendar;
        let a = spec.anchor - before;
        let (b, c) = (a + first, a + first + second);
        prop_assert_eq!(
            calendar.working_between(at(a), at(b)) + calendar.working_between(at(b), at(c)),
            calendar.working_between(at(a), at(c))
        );
    }

    #[test]
    fn working_time_is_bounded_by_elapsed_time_and_grows_with_the_range(
        spec in spec(),
        before in 0i64..5 * DAY,
        length in 0i64..5 * DAY,
        more in 0i64..2 * DAY,
    ) {
        let calendar = spec.build().calendar;
        let (a, b) = (spec.anchor - before, spec.anchor - before + length);
        let working = calendar.working_between(at(a), at(b));
        prop_assert!((0..=b - a).contains(&working), "{working} ms of working time in {} ms", b - a);
        prop_assert!(calendar.working_between(at(a), at(b + more)) >= working);
        if a < b {
            prop_assert_eq!(calendar.working_between(at(b), at(a)), 0);
        }
    }

    #[test]
    fn nobody_works_on_a_holiday(spec in spec(), jitter in 0i64..MINUTE) {
        let case = spec.build();
        for &holiday in &case.holidays {
            // Every instant whose local date can be the holiday, whatever the zone's offset.
            let midnight_utc = holiday.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
            let mut run: Option<(i64, i64)> = None;
            let mut t = midnight_utc - 15 * HOUR;
            while t < midnight_utc + 39 * HOUR {
                if case.oracle.local_date(t) == holiday {
                    prop_assert!(!case.calendar.is_working(at(t)), "working at {} on holiday {holiday}", at(t));
                    prop_assert!(!case.calendar.is_working(at(t + jitter)));
                    run = Some((run.map_or(t, |(s, _)| s), t + MINUTE));
                }
                t += MINUTE;
            }
            let (first, end) = run.expect("the holiday's local date has instants");
            prop_assert_eq!(case.calendar.working_between(at(first), at(end)), 0);
        }
    }
}

fn every_day(hours: &str) -> [&str; 7] {
    [hours; 7]
}

const OFFICE_WEEK: [&str; 7] = ["09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "", ""];

#[test]
fn the_generated_ranges_cover_known_transitions() {
    let berlin = &transitions()[0];
    assert!(berlin.contains(&ms("2026-03-29T01:00:00Z")) && berlin.contains(&ms("2026-10-25T01:00:00Z")));
    assert!(transitions()[1].contains(&ms("2026-03-08T07:00:00Z")), "New York springs forward at 02:00 EST");
    // Lord Howe falls back half an hour at 02:00 local (+11:00) on the first Sunday of April.
    assert!(transitions()[3].contains(&ms("2026-04-04T15:00:00Z")));
    assert_eq!(transitions()[3].len(), 6);
    assert_eq!(transitions()[5].len(), 6, "Chatham changes twice a year");
    assert!(transitions()[2].is_empty() && transitions()[4].is_empty() && transitions()[6].is_empty());
}

#[test]
fn berlin_spring_forward_day_has_23_working_hours() {
    let calendar = WorkingCalendar::parse("Europe/Berlin", every_day("00:00-24:00"), &[]).unwrap();
    let (midnight, next_midnight) = (ms("2026-03-28T23:00:00Z"), ms("2026-03-29T22:00:00Z"));
    assert_eq!(calendar.working_between(at(midnight), at(next_midnight)), 23 * HOUR);

    // The skipped hour: 02:00-03:00 on Sundays has no instant that day, so the next is a week on.
    let sundays_two_to_three = ["", "", "", "", "", "", "02:00-03:00"];
    let calendar = WorkingCalendar::parse("Europe/Berlin", sundays_two_to_three, &[]).unwrap();
    assert_eq!(calendar.working_between(at(midnight), at(next_midnight)), 0);
    assert_eq!(calendar.next_working_instant(at(midnight)), Some(at(ms("2026-04-05T00:00:00Z"))));
}

#[test]
fn berlin_fall_back_day_has_25_working_hours() {
    let calendar = WorkingCalendar::parse("Europe/Berlin", every_day("00:00-24:00"), &[]).unwrap();
    let (midnight, next_midnight) = (ms("2026-10-24T22:00:00Z"), ms("2026-10-25T23:00:00Z"));
    assert_eq!(calendar.working_between(at(midnight), at(next_midnight)), 25 * HOUR);

    // The repeated hour counts twice: 02:30 CEST and 02:30 CET are both working.
    let sundays_two_to_three = ["", "", "", "", "", "", "02:00-03:00"];
    let calendar = WorkingCalendar::parse("Europe/Berlin", sundays_two_to_three, &[]).unwrap();
    assert_eq!(calendar.working_between(at(midnight), at(next_midnight)), 2 * HOUR);
    assert!(calendar.is_working(at(ms("2026-10-25T00:30:00Z"))) && calendar.is_working(at(ms("2026-10-25T01:30:00Z"))));
    assert_eq!(calendar.add_working(at(midnight), 90 * MINUTE), Some(at(ms("2026-10-25T01:30:00Z"))));
}

#[test]
fn lord_howe_falls_back_half_an_hour() {
    let calendar = WorkingCalendar::parse("Australia/Lord_Howe", every_day("00:00-24:00"), &[]).unwrap();
    // Midnight at +11:00, the next at +10:30.
    let (midnight, next_midnight) = (ms("2026-04-04T13:00:00Z"), ms("2026-04-05T13:30:00Z"));
    assert_eq!(calendar.working_between(at(midnight), at(next_midnight)), 24 * HOUR + 30 * MINUTE);
}

#[test]
fn a_year_of_office_hours_is_its_weekdays() {
    let calendar = WorkingCalendar::parse("Europe/Berlin", OFFICE_WEEK, &[]).unwrap();
    // 2026 starts on a Thursday: 52 weeks and a Thursday, 261 weekdays.
    let (year_start, year_end) = (ms("2025-12-31T23:00:00Z"), ms("2026-12-31T23:00:00Z"));
    assert_eq!(calendar.working_between(at(year_start), at(year_end)), 261 * 8 * HOUR);
}

#[test]
fn friday_afternoon_plus_four_working_hours_is_monday_noon() {
    let friday_four_pm = at(ms("2026-07-03T14:00:00Z"));
    let calendar = WorkingCalendar::parse("Europe/Berlin", OFFICE_WEEK, &[]).unwrap();
    assert_eq!(calendar.add_working(friday_four_pm, 4 * HOUR), Some(at(ms("2026-07-06T10:00:00Z"))));
    assert_eq!(calendar.add_working(friday_four_pm, HOUR), Some(at(ms("2026-07-03T15:00:00Z"))), "17:00 itself");
    assert_eq!(calendar.add_working(friday_four_pm, 0), Some(friday_four_pm));
    assert_eq!(calendar.add_working(friday_four_pm, -1), None);
    assert_eq!(calendar.next_working_instant(friday_four_pm), Some(friday_four_pm));
    assert_eq!(calendar.next_working_instant(at(ms("2026-07-03T15:00:00Z"))), Some(at(ms("2026-07-06T07:00:00Z"))));

    let with_monday_off = WorkingCalendar::parse("Europe/Berlin", OFFICE_WEEK, &["2026-07-06"]).unwrap();
    assert_eq!(with_monday_off.add_working(friday_four_pm, 4 * HOUR), Some(at(ms("2026-07-07T10:00:00Z"))));
}

#[test]
fn a_calendar_without_working_time_has_no_deadline() {
    let t = at(ms("2026-07-03T14:00:00Z"));
    let closed = WorkingCalendar::parse("UTC", every_day(""), &[]).unwrap();
    assert_eq!(closed.add_working(t, 1), None);
    assert_eq!(closed.next_working_instant(t), None);
    assert_eq!(closed.working_between(t, at(t.millis() + 1000 * DAY)), 0);
    assert_eq!(closed.add_working(t, 0), Some(t));

    // Working hours on Mondays only, and every Monday of the next 60 weeks off: past the horizon.
    let mondays = ["09:00-10:00", "", "", "", "", "", ""];
    let first_monday = NaiveDate::from_ymd_opt(2026, 7, 6).unwrap();
    let holidays: Vec<String> =
        (0..60).map(|w| (first_monday + TimeDelta::weeks(w)).format("%Y-%m-%d").to_string()).collect();
    let holidays: Vec<&str> = holidays.iter().map(String::as_str).collect();
    let on_leave = WorkingCalendar::parse("Europe/Berlin", mondays, &holidays).unwrap();
    assert_eq!(on_leave.add_working(t, HOUR), None);
    assert_eq!(on_leave.next_working_instant(t), None);
    // Within the horizon, the same leave only delays the deadline.
    let shorter: Vec<&str> = holidays[..40].to_vec();
    let shorter_leave = WorkingCalendar::parse("Europe/Berlin", mondays, &shorter).unwrap();
    let after_leave = first_monday + TimeDelta::weeks(40);
    let expected = after_leave.and_hms_opt(8, 0, 0).unwrap().and_utc().timestamp_millis(); // 10:00 CEST
    assert_eq!(shorter_leave.add_working(t, HOUR), Some(at(expected)));
}

#[test]
fn parse_errors_name_what_is_wrong() {
    assert_eq!(parse_zone("Mars/Olympus"), Err(CalendarError::UnknownZone { name: "Mars/Olympus".into() }));
    assert!(parse_zone("Europe/Berlin").is_ok() && parse_zone("UTC").is_ok());
    let error = WorkingCalendar::parse("Europe/Berlinn", OFFICE_WEEK, &[]).unwrap_err();
    assert!(error.to_string().contains("`Europe/Berlinn`"), "{error}");

    assert_eq!(WorkingInterval::parse("0900"), Err(CalendarError::BadInterval { interval: "0900".into() }));
    for (interval, time) in
        [("25:00-26:00", "25:00"), ("09:60-10:00", "09:60"), ("9am-5pm", "9am"), ("09:00-24:01", "24:01")]
    {
        assert_eq!(
            WorkingInterval::parse(interval),
            Err(CalendarError::BadTime { time: time.into(), interval: interval.into() }),
            "{interval}"
        );
    }
    for interval in ["17:00-09:00", "09:00-09:00", "24:00-24:00"] {
        assert_eq!(WorkingInterval::parse(interval), Err(CalendarError::EmptyInterval { interval: interval.into() }));
    }
    assert_eq!(WorkingInterval::parse(" 9:00 - 24:00 ").unwrap().to_string(), "09:00-24:00");

    assert_eq!(
        DayHours::parse("13:00-17:00, 09:00-12:00"),
        Err(CalendarError::UnorderedIntervals { first: "13:00-17:00".into(), second: "09:00-12:00".into() })
    );
    assert_eq!(
        DayHours::parse("09:00-13:00, 12:00-17:00"),
        Err(CalendarError::OverlappingIntervals { first: "09:00-13:00".into(), second: "12:00-17:00".into() })
    );
    assert_eq!(DayHours::parse("09:00-12:00,12:00-17:00").unwrap().intervals().len(), 2);
    assert_eq!(DayHours::parse("  ").unwrap(), DayHours::closed());

    assert_eq!(
        WorkingCalendar::parse("UTC", OFFICE_WEEK, &["2026-02-30"]),
        Err(CalendarError::BadHoliday { input: "2026-02-30".into() })
    );
}
