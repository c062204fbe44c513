//! The example policy parses, mistakes are reported where they are, and deadlines, statuses,
//! escalations and compliance follow the module doc's definitions, in examples and on random
//! calendars around the DST changes of zones with odd offsets, with holidays.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;
use proptest::collection::{btree_set, vec};
use proptest::prelude::*;

use super::*;
use crate::Timestamp;
use crate::calendar::WorkingCalendar;
use crate::email::Email;

const EXAMPLE: &str = include_str!("../../../../examples/sla-handoff.toml");

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

const OFFICE_WEEK: [&str; 7] = ["09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "", ""];

fn ms(rfc3339: &str) -> i64 {
    Timestamp::parse(rfc3339).unwrap().millis()
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

fn ts(rfc3339: &str) -> Timestamp {
    Timestamp::parse(rfc3339).unwrap()
}

fn parse(source: &str) -> SlaPolicy {
    match SlaPolicy::parse(source) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// The one rule of a policy whose rule has these keys besides its id.
fn rule(keys: &str) -> SlaRule {
    parse(&format!("name = \"test\"\n[[rules]]\nid = \"r\"\n{keys}\n")).rules()[0].clone()
}

fn office(zone: &str, holidays: &[&str]) -> WorkingCalendar {
    WorkingCalendar::parse(zone, OFFICE_WEEK, holidays).unwrap()
}

fn accept_within_4h() -> SlaRule {
    rule("starts = \"mql\"\nmet_by = \"accepted\"\nwithin = \"4h\"")
}

fn first_touch_within_1d() -> SlaRule {
    rule("starts = \"assigned\"\nmet_by = \"touched\"\nwithin = \"1d\"")
}

#[test]
fn the_example_policy_parses_with_every_key() {
    let policy = parse(EXAMPLE);
    assert_eq!(policy.name(), "marketing-to-sales");
    assert_eq!(policy.description(), Some("The hand-off SLA agreed by marketing and sales for 2026"));
    assert_eq!(policy.reject_reasons().len(), 4);
    assert_eq!(policy.reject_reason("  Not A Fit "), Some("not a fit"));
    assert_eq!(policy.reject_reason("spam"), None);
    let ids: Vec<&str> = policy.rules().iter().map(SlaRule::id).collect();
    assert_eq!(ids, ["accept-mql", "first-touch", "follow-up", "meeting-outcome"]);

    let accept = policy.rule("accept-mql").unwrap();
    assert_eq!(
        (accept.name(), accept.starts(), accept.met_by()),
        ("Accept or reject an MQL", &ClockStart::Mql, MetBy::AcceptedOrRejected)
    );
    assert_eq!((accept.within(), accept.clock()), (SlaDuration::WorkingTime(4 * HOUR), Clock::Working));
    let steps: Vec<(SlaDuration, EscalationAction)> = accept.escalation().iter().map(|s| (s.after, s.action)).collect();
    assert_eq!(
        steps,
        [
            (SlaDuration::WorkingTime(0), EscalationAction::NotifyOwner),
            (SlaDuration::WorkingTime(2 * HOUR), EscalationAction::NotifyManager),
            (SlaDuration::WorkingDays(1), EscalationAction::Reassign),
        ]
    );

    let first_touch = policy.rule("first-touch").unwrap();
    assert_eq!((first_touch.starts(), first_touch.met_by()), (&ClockStart::Assigned, MetBy::Touched));
    assert_eq!(first_touch.within(), SlaDuration::WorkingDays(1));

    let follow_up = policy.rule("follow-up").unwrap();
    assert!(follow_up.is_recurring() && !accept.is_recurring());
    assert_eq!((follow_up.met_by(), follow_up.within()), (MetBy::Touched, SlaDuration::Elapsed(7 * DAY)));
    assert_eq!(follow_up.clock(), Clock::Calendar);
    assert_eq!(follow_up.applies_to().pipelines(), Some(&["inbound-b2b".to_string(), "partner".to_string()][..]));

    let meeting = policy.rule("meeting-outcome").unwrap();
    assert_eq!(meeting.starts(), &ClockStart::StageEntered("meeting".into()));
    assert_eq!(meeting.starts().as_str(), "stage_entered");
    assert_eq!((meeting.met_by(), meeting.within()), (MetBy::StageLeft, SlaDuration::WorkingDays(5)));
    assert_eq!(meeting.applies_to().conditions().len(), 2);
}

#[test]
fn sla_rules_apply_to_the_leads_their_applies_to_admits() {
    let policy = parse(EXAMPLE);
    let big_german = Profile {
        employees: Some(5000.0),
        country: Some("DE".into()),
        ..Profile::new(Email::parse("ana@acme.example").unwrap())
    };
    let small = Profile { employees: Some(20.0), ..big_german.clone() };
    let ids = |pipeline: Option<&str>, profile: &Profile| -> Vec<String> {
        policy.rules_for(pipeline, profile).map(|r| r.id().to_string()).collect()
    };
    assert_eq!(ids(Some("inbound-b2b"), &big_german), ["accept-mql", "first-touch", "follow-up", "meeting-outcome"]);
    assert_eq!(ids(Some("inbound-b2b"), &small), ["accept-mql", "first-touch", "follow-up"]);
    assert_eq!(ids(Some("partner"), &big_german), ["accept-mql", "first-touch", "follow-up"]);
    assert_eq!(
        ids(None, &big_german),
        ["accept-mql", "first-touch"],
        "a lead in no pipeline is in none of `pipelines`"
    );
}

const MISTAKES: &str = r#"name = "bad policy"
reject_reasons = ["spam", "Spam", " "]
colour = "blue"

[[rules]]
id = "accept"
starts = "mql"
met_by = "accept"
within = "4 hours"

[[rules]]
id = "accept"
starts = "stage_entered"
met_by = "stage_left"
within = "1d4h"
escalate = [{ after = "2h", action = "notify_manager" }, { after = "120m", action = "notify_manager" }, { after = "1h", action = "fire" }]

[[rules]]
id = "touch"
starts = "assigned"
met_by = "stage_left"
within = 4
clock = "business"

[[rules]]
id = "follow up"
starts = "last_touch"
met_by = "accepted"
within = "0m"
[rules.applies_to]
pipelines = ["inbound-b2b", "inbound-b2b"]
when = [{ field = "employes", op = "exists" }]

[[rules]]
id = "long"
starts = "soon"
within = "400d"
clock = "calendar"
stage = "new"

[[rules]]
id = "stray-stage"
starts = "mql"
stage = "new"
met_by = "touched"
within = "2h"
escalate = []
"#;

#[test]
fn sla_mistakes_are_all_reported_where_they_are() {
    let problems = SlaPolicy::parse(MISTAKES).unwrap_err().problems;
    let found: Vec<(usize, &str, &str)> =
        problems.iter().map(|p| (p.line, p.path.as_str(), p.message.as_str())).collect();
    let expected: [(usize, &str, &str); 23] = [
        (1, "name", "expected 1-64 characters"),
        (2, "reject_reasons[1]", "`Spam` is listed twice"),
        (2, "reject_reasons[2]", "must not be empty"),
        (3, "colour", "unknown key"),
        (8, "rules[0].met_by", "unknown `accept`"),
        (9, "rules[0].within", "`4 hours` is not a duration"),
        (13, "rules[1].stage", "missing (required with `starts = \"stage_entered\"`)"),
        (12, "rules[1].id", "duplicate rule id `accept` (also rules[0])"),
        (15, "rules[1].within", "`1d4h` mixes working days and working hours"),
        (16, "rules[1].escalate[1]", "the same step twice: notify_manager after 2h"),
        (16, "rules[1].escalate[2].action", "unknown action `fire`"),
        (21, "rules[2].met_by", "`stage_left` only stops a clock that starts at `stage_entered`"),
        (22, "rules[2].within", "expected a duration as a string"),
        (23, "rules[2].clock", "unknown clock `business`"),
        (26, "rules[3].id", "expected 1-64 characters"),
        (28, "rules[3].met_by", "a follow-up (`starts = \"last_touch\"`) is met by the next touch"),
        (29, "rules[3].within", "must be more than 0"),
        (31, "rules[3].applies_to.pipelines[1]", "`inbound-b2b` is listed twice"),
        (32, "rules[3].applies_to.when[0].field", "unknown field `employes`"),
        (34, "rules[4].met_by", "missing (required)"),
        (36, "rules[4].starts", "unknown start `soon`"),
        (37, "rules[4].within", "`400d` is more than a year"),
        (44, "rules[5].stage", "only a clock that starts at `stage_entered` names a stage"),
    ];
    for (line, path, message) in expected {
        assert!(
            found.iter().any(|&(l, p, m)| l == line && p == path && m.contains(message)),
            "no problem at line {line}, {path}: {message}\nfound:\n{}",
            SlaError { problems: problems.clone() }
        );
    }
    // `escalate = []` too, and nothing else.
    assert!(found.iter().any(|&(_, p, m)| p == "rules[5].escalate" && m.starts_with("no steps")));
    assert_eq!(found.len(), expected.len() + 1, "{}", SlaError { problems: problems.clone() });
    let mut sorted = found.clone();
    sorted.sort_by_key(|&(line, _, _)| line);
    assert_eq!(found, sorted, "problems come in file order");
}

#[test]
fn a_policy_needs_a_name_and_rules() {
    let problems = SlaPolicy::parse("description = \"none yet\"\n").unwrap_err().problems;
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["name", "rules"]);
    let syntax = SlaPolicy::parse("name = \"x\"\n[[rules]\n").unwrap_err();
    assert!(syntax.problems.len() == 1 && syntax.problems[0].message.starts_with("TOML syntax"), "{syntax}");
}

#[test]
fn sla_durations_are_written_back_as_the_file_writes_them() {
    let written = |within: &str, clock: &str| {
        rule(&format!("starts = \"mql\"\nmet_by = \"accepted\"\nwithin = \"{within}\"\nclock = \"{clock}\""))
            .within()
            .to_string()
    };
    assert_eq!(written("90m", "working"), "1h30m");
    assert_eq!(written("4h", "working"), "4h");
    assert_eq!(written("2d", "working"), "2d");
    assert_eq!(written("48h", "working"), "48h", "working hours are not days");
    assert_eq!(written("36h", "calendar"), "1d12h");
    assert_eq!(written("1d12h", "calendar"), "1d12h");
    assert_eq!(SlaDuration::Elapsed(0).to_string(), "0m");
}

#[test]
fn sla_friday_afternoon_in_berlin_plus_four_working_hours_is_monday_noon() {
    // Friday 2026-07-03 16:00 CEST; the hour left on Friday and three on Monday morning.
    let friday_four_pm = ts("2026-07-03T14:00:00Z");
    assert_eq!(
        accept_within_4h().deadline(&office("Europe/Berlin", &[]), friday_four_pm),
        Some(ts("2026-07-06T10:00:00Z"))
    );
}

#[test]
fn sla_deadlines_across_the_dst_changes_keep_the_wall_clock_hours() {
    let berlin = office("Europe/Berlin", &[]);
    // Friday 16:00 CET to Monday 12:00 CEST: the clocks went forward on Sunday, no working hour
    // was lost, and Monday noon is an hour earlier in UTC.
    assert_eq!(accept_within_4h().deadline(&berlin, ts("2026-03-27T15:00:00Z")), Some(ts("2026-03-30T10:00:00Z")));
    // Friday 16:00 CEST to Monday 12:00 CET, back again.
    assert_eq!(accept_within_4h().deadline(&berlin, ts("2026-10-23T14:00:00Z")), Some(ts("2026-10-26T11:00:00Z")));
    // The end of Monday's working day is 17:00 in the new offset.
    assert_eq!(first_touch_within_1d().deadline(&berlin, ts("2026-03-27T09:00:00Z")), Some(ts("2026-03-30T15:00:00Z")));
}

#[test]
fn sla_deadlines_skip_holidays() {
    // Good Friday and Easter Monday off: Thursday 16:00 CEST plus 4 working hours is Tuesday
    // noon, and the next working day after Thursday ends on Tuesday at 17:00.
    let berlin = office("Europe/Berlin", &["2026-04-03", "2026-04-06"]);
    let thursday_four_pm = ts("2026-04-02T14:00:00Z");
    assert_eq!(accept_within_4h().deadline(&berlin, thursday_four_pm), Some(ts("2026-04-07T10:00:00Z")));
    assert_eq!(first_touch_within_1d().deadline(&berlin, thursday_four_pm), Some(ts("2026-04-07T15:00:00Z")));
}

#[test]
fn sla_the_same_mql_is_due_at_each_owners_own_hours() {
    let (berlin, new_york) = (office("Europe/Berlin", &[]), office("America/New_York", &[]));
    // 16:00 on Friday in Berlin is 10:00 in New York.
    let mql = ts("2026-07-03T14:00:00Z");
    assert_eq!(accept_within_4h().deadline(&berlin, mql), Some(ts("2026-07-06T10:00:00Z")), "Monday 12:00 CEST");
    assert_eq!(accept_within_4h().deadline(&new_york, mql), Some(ts("2026-07-03T18:00:00Z")), "Friday 14:00 EDT");
    assert_eq!(first_touch_within_1d().deadline(&berlin, mql), Some(ts("2026-07-06T15:00:00Z")), "Monday 17:00 CEST");
    assert_eq!(first_touch_within_1d().deadline(&new_york, mql), Some(ts("2026-07-06T21:00:00Z")), "Monday 17:00 EDT");
}

#[test]
fn sla_one_working_day_is_the_end_of_the_next_one_whatever_the_hour() {
    let berlin = WorkingCalendar::parse(
        "Europe/Berlin",
        [
            "09:00-12:00, 13:00-17:00",
            "09:00-12:00, 13:00-17:00",
            "09:00-12:00, 13:00-17:00",
            "09:00-12:00, 13:00-17:00",
            "09:00-13:00",
            "",
            "",
        ],
        &[],
    )
    .unwrap();
    let first_touch = first_touch_within_1d();
    let tuesday_five_pm = Some(ts("2026-07-07T15:00:00Z"));
    for monday in ["2026-07-06T06:00:00Z", "2026-07-06T07:00:00Z", "2026-07-06T14:59:00Z", "2026-07-06T21:00:00Z"] {
        assert_eq!(first_touch.deadline(&berlin, ts(monday)), tuesday_five_pm, "assigned {monday}");
    }
    // From Thursday, Friday's short hours are the next working day; from Saturday, Monday's.
    assert_eq!(first_touch.deadline(&berlin, ts("2026-07-09T10:00:00Z")), Some(ts("2026-07-10T11:00:00Z")));
    assert_eq!(first_touch.deadline(&berlin, ts("2026-07-11T10:00:00Z")), Some(ts("2026-07-13T15:00:00Z")));
    let within_3d = rule("starts = \"assigned\"\nmet_by = \"touched\"\nwithin = \"3d\"");
    assert_eq!(
        within_3d.deadline(&berlin, ts("2026-07-09T10:00:00Z")),
        Some(ts("2026-07-14T15:00:00Z")),
        "Fri, Mon, Tue"
    );
}

#[test]
fn sla_working_days_where_the_clocks_change_at_midnight() {
    // São Paulo's clocks changed at midnight until 2019: a day that starts at 01:00, a day
    // whose last hour comes twice.
    let every_hour = WorkingCalendar::parse("America/Sao_Paulo", ["00:00-24:00"; 7], &[]).unwrap();
    let first_touch = first_touch_within_1d();
    // Sunday 2018-11-04 ran from 01:00 -02 (03:00Z) to midnight -02: 23 hours.
    let saturday = ts("2018-11-03T13:00:00Z");
    assert_eq!(first_touch.deadline(&every_hour, saturday), Some(ts("2018-11-05T02:00:00Z")));
    assert_eq!(every_hour.working_between(ts("2018-11-04T03:00:00Z"), ts("2018-11-05T02:00:00Z")), 23 * HOUR);
    // Saturday 2018-02-17 ran from midnight -02 (02:00Z) to midnight -03, 23:00 coming twice.
    let friday = ts("2018-02-16T12:00:00Z");
    assert_eq!(first_touch.deadline(&every_hour, friday), Some(ts("2018-02-18T03:00:00Z")));
    assert_eq!(every_hour.working_between(ts("2018-02-17T02:00:00Z"), ts("2018-02-18T03:00:00Z")), 25 * HOUR);
}

#[test]
fn sla_a_calendar_clock_counts_nights_and_weekends() {
    let follow_up = parse(EXAMPLE).rule("follow-up").unwrap().clone();
    let never_working = WorkingCalendar::parse("UTC", [""; 7], &[]).unwrap();
    let touch = ts("2026-07-03T14:00:00Z");
    assert_eq!(follow_up.deadline(&never_working, touch), Some(at(touch.millis() + 7 * DAY)));
    let at_seven_days_and_a_minute = at(touch.millis() + 7 * DAY + MINUTE);
    assert_eq!(
        follow_up.status(&never_working, touch, None, at_seven_days_and_a_minute),
        Some(SlaStatus::Breached { due_at: at(touch.millis() + 7 * DAY), overdue_ms: MINUTE })
    );
}

#[test]
fn sla_a_calendar_without_working_time_gives_no_deadline_and_no_escalation() {
    let accept = parse(EXAMPLE).rule("accept-mql").unwrap().clone();
    let never_working = WorkingCalendar::parse("Europe/Berlin", [""; 7], &[]).unwrap();
    let (start, later) = (ts("2026-07-03T14:00:00Z"), ts("2027-07-03T14:00:00Z"));
    assert_eq!(accept.deadline(&never_working, start), None);
    assert_eq!(accept.status(&never_working, start, None, later), None);
    assert_eq!(accept.status(&never_working, start, Some(start), later), None);
    assert!(accept.due_escalations(&never_working, start, None, &[], later).is_empty());
}

#[test]
fn sla_a_breach_escalates_step_by_step_until_the_lead_is_accepted() {
    let accept = parse(EXAMPLE).rule("accept-mql").unwrap().clone();
    let berlin = office("Europe/Berlin", &[]);
    let friday_four_pm = ts("2026-07-03T14:00:00Z");
    let monday_noon = ts("2026-07-06T10:00:00Z");
    let status =
        |met_at: Option<&str>, now: &str| accept.status(&berlin, friday_four_pm, met_at.map(ts), ts(now)).unwrap();
    let due = |done: &[usize], now: &str| -> Vec<(usize, EscalationAction, Timestamp)> {
        accept
            .due_escalations(&berlin, friday_four_pm, None, done, ts(now))
            .into_iter()
            .map(|d| (d.step, d.action, d.due_at))
            .collect()
    };

    assert_eq!(status(None, "2026-07-06T10:00:00Z"), SlaStatus::Pending { due_at: monday_noon }, "due, not late");
    assert_eq!(status(None, "2026-07-06T10:00:00.001Z"), SlaStatus::Breached { due_at: monday_noon, overdue_ms: 1 });
    assert_eq!(status(None, "2026-07-06T16:00:00Z"), SlaStatus::Breached { due_at: monday_noon, overdue_ms: 5 * HOUR });
    assert_eq!(
        status(Some("2026-07-06T10:00:00Z"), "2026-07-07T10:00:00Z"),
        SlaStatus::Met { at: monday_noon, due_at: monday_noon, on_time: true, taken_ms: 4 * HOUR }
    );
    // Accepted at 15:00 on Monday: an hour on Friday and six on Monday.
    assert_eq!(
        status(Some("2026-07-06T13:00:00Z"), "2026-07-07T10:00:00Z"),
        SlaStatus::Met { at: ts("2026-07-06T13:00:00Z"), due_at: monday_noon, on_time: false, taken_ms: 7 * HOUR }
    );
    // Not yet accepted as of Monday 14:00: the acceptance at 15:00 has not happened then.
    assert_eq!(
        status(Some("2026-07-06T13:00:00Z"), "2026-07-06T12:00:00Z"),
        SlaStatus::Breached { due_at: monday_noon, overdue_ms: 2 * HOUR }
    );

    assert_eq!(due(&[], "2026-07-06T10:00:00Z"), []);
    assert_eq!(due(&[], "2026-07-06T10:00:00.001Z"), [(0, EscalationAction::NotifyOwner, monday_noon)]);
    assert_eq!(due(&[0], "2026-07-06T10:00:00.001Z"), []);
    let manager_at = ts("2026-07-06T12:00:00Z");
    assert_eq!(due(&[0], "2026-07-06T12:30:00Z"), [(1, EscalationAction::NotifyManager, manager_at)]);
    // One working day after Monday noon ends on Tuesday at 17:00.
    let reassign_at = ts("2026-07-07T15:00:00Z");
    assert_eq!(due(&[0, 1], "2026-07-07T15:00:00Z"), []);
    assert_eq!(due(&[0, 1], "2026-07-07T15:00:01Z"), [(2, EscalationAction::Reassign, reassign_at)]);
    // A sweep that ran late runs every step, in the order they came due.
    assert_eq!(
        due(&[], "2026-07-08T08:00:00Z"),
        [
            (0, EscalationAction::NotifyOwner, monday_noon),
            (1, EscalationAction::NotifyManager, manager_at),
            (2, EscalationAction::Reassign, reassign_at)
        ]
    );
    // Once the lead is accepted, nothing escalates, late as it was.
    let accepted = Some(ts("2026-07-06T13:00:00Z"));
    assert!(accept.due_escalations(&berlin, friday_four_pm, accepted, &[0], ts("2026-07-08T08:00:00Z")).is_empty());
}

#[test]
fn sla_compliance_counts_each_clock_once() {
    let due_at = ts("2026-07-06T10:00:00Z");
    let statuses = [
        SlaStatus::Met { at: due_at, due_at, on_time: true, taken_ms: 4 * HOUR },
        SlaStatus::Met { at: due_at, due_at, on_time: true, taken_ms: HOUR },
        SlaStatus::Met { at: due_at, due_at, on_time: false, taken_ms: 5 * HOUR },
        SlaStatus::Breached { due_at, overdue_ms: HOUR },
        SlaStatus::Pending { due_at },
    ];
    let compliance: Compliance = statuses.into_iter().collect();
    assert_eq!(compliance, Compliance { met_on_time: 2, met_late: 1, breached: 1, pending: 1 });
    assert_eq!((compliance.total(), compliance.decided(), compliance.rate()), (5, 4, Some(0.5)));
    assert_eq!(Compliance::default().rate(), None);
    let only_pending: Compliance = [SlaStatus::Pending { due_at }].into_iter().collect();
    assert_eq!(only_pending.rate(), None, "nothing decided yet");
    assert_eq!(compliance.merge(only_pending).pending, 2);
}

// Random calendars, as the calendar's own tests make them.

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

fn offset_ms(zone: Tz, t: i64) -> i64 {
    i64::from(zone.timestamp_millis_opt(t).unwrap().offset().fix().local_minus_utc()) * 1000
}

/// Every instant in 2025-2027 at which a zone's offset changes, to the hour: the anchors the
/// random ranges surround.
fn transitions() -> &'static [Vec<i64>] {
    static TRANSITIONS: OnceLock<Vec<Vec<i64>>> = OnceLock::new();
    TRANSITIONS.get_or_init(|| {
        let (from, to) = (ms("2025-01-01T00:00:00Z"), ms("2028-01-01T00:00:00Z"));
        ZONES
            .iter()
            .map(|name| {
                let zone: Tz = name.parse().unwrap();
                (from..to).step_by(HOUR as usize).filter(|&t| offset_ms(zone, t) != offset_ms(zone, t + HOUR)).collect()
            })
            .collect()
    })
}

#[derive(Clone, Debug)]
struct Spec {
    zone: &'static str,
    /// Monday first; minutes since local midnight, on a 15-minute grid.
    week: [Vec<(u16, u16)>; 7],
    /// Holidays, in days from the anchor's UTC date.
    holiday_offsets: Vec<i64>,
    /// An instant the tested clocks surround: mostly a DST change of the zone.
    anchor: i64,
}

impl Spec {
    fn calendar(&self) -> WorkingCalendar {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let days: Vec<String> = self
            .week
            .iter()
            .map(|day| day.iter().map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e))).collect::<Vec<_>>().join(", "))
            .collect();
        let anchor_date = DateTime::from_timestamp_millis(self.anchor).unwrap().date_naive();
        let holidays: Vec<String> = self
            .holiday_offsets
            .iter()
            .map(|&d| (anchor_date + TimeDelta::days(d)).format("%Y-%m-%d").to_string())
            .collect();
        let holidays: Vec<&str> = holidays.iter().map(String::as_str).collect();
        WorkingCalendar::parse(self.zone, std::array::from_fn(|i| days[i].as_str()), &holidays).unwrap()
    }

    fn weekly_ms(&self) -> i64 {
        self.week.iter().flatten().map(|&(s, e)| i64::from(e - s) * MINUTE).sum()
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
    (
        0..ZONES.len(),
        proptest::array::uniform7(day_hours()),
        vec(-6i64..=6, 0..=4),
        prop::bool::weighted(0.8),
        any::<prop::sample::Index>(),
        ms("2025-01-01T00:00:00Z")..ms("2028-01-01T00:00:00Z"),
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

/// A duration on `clock`, of at least `min_minutes` (working days: at least one when above 0).
fn duration_on(clock: Clock, min_minutes: i64) -> BoxedStrategy<SlaDuration> {
    match clock {
        Clock::Working => prop_oneof![
            (min_minutes..=3000).prop_map(|m| SlaDuration::WorkingTime(m * MINUTE)),
            (1u32..=4).prop_map(SlaDuration::WorkingDays),
        ]
        .boxed(),
        Clock::Calendar => (min_minutes..=10_000).prop_map(|m| SlaDuration::Elapsed(m * MINUTE)).boxed(),
    }
}

/// A rule with a random `within` and escalation steps on one clock.
fn sla_rule() -> impl Strategy<Value = SlaRule> {
    prop_oneof![3 => Just(Clock::Working), 1 => Just(Clock::Calendar)].prop_flat_map(|clock| {
        (duration_on(clock, 1), vec(duration_on(clock, 0), 0..=4)).prop_map(|(within, afters)| SlaRule {
            id: "r".into(),
            name: "r".into(),
            starts: ClockStart::Assigned,
            met_by: MetBy::Touched,
            within,
            escalate: afters
                .into_iter()
                .zip(EscalationAction::ALL.into_iter().cycle())
                .map(|(after, action)| EscalationStep { after, action })
                .collect(),
            applies_to: AppliesTo::default(),
        })
    })
}

/// An instant relative to another: often exactly at it or a millisecond either side.
fn near() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0), Just(-1), Just(1), -3 * DAY..3 * DAY]
}

fn local_date(zone: Tz, t: i64) -> NaiveDate {
    zone.timestamp_millis_opt(t).unwrap().date_naive()
}

/// The zones' changes in these years are never at midnight, so every date has one.
fn first_instant(zone: Tz, date: NaiveDate) -> i64 {
    zone.from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().timestamp_millis()
}

proptest! {
    #[test]
    fn sla_a_working_time_deadline_is_the_first_instant_with_that_much_working_time(
        spec in spec(),
        before in 0i64..4 * DAY,
        minutes in 1i64..=4000,
    ) {
        let calendar = spec.calendar();
        let within = SlaDuration::WorkingTime(minutes * MINUTE);
        let start = at(spec.anchor - before);
        match within.ends_at(&calendar, start) {
            None => prop_assert_eq!(spec.weekly_ms(), 0),
            Some(deadline) => {
                prop_assert_eq!(calendar.working_between(start, deadline), minutes * MINUTE);
                prop_assert!(calendar.working_between(start, at(deadline.millis() - 1)) < minutes * MINUTE);
            }
        }
    }

    #[test]
    fn sla_a_working_days_deadline_ends_the_nth_working_date_after_the_start(
        spec in spec(),
        before in 0i64..4 * DAY,
        days in 1u32..=5,
    ) {
        let calendar = spec.calendar();
        let zone: Tz = spec.zone.parse().unwrap();
        let start = spec.anchor - before;
        let Some(deadline) = SlaDuration::WorkingDays(days).ends_at(&calendar, at(start)) else {
            prop_assert_eq!(spec.weekly_ms(), 0);
            return Ok(());
        };
        let deadline = deadline.millis();
        // The deadline ends working time, on a date after the start's.
        prop_assert!(deadline > start && calendar.is_working(at(deadline - 1)));
        let last = local_date(zone, deadline - 1);
        let working_on = |date: NaiveDate| {
            calendar.working_between(at(first_instant(zone, date)), at(first_instant(zone, date + TimeDelta::days(1))))
        };
        let mut working_dates = 0;
        let mut date = local_date(zone, start) + TimeDelta::days(1);
        while date <= last {
            working_dates += u32::from(working_on(date) > 0);
            date += TimeDelta::days(1);
        }
        prop_assert_eq!(working_dates, days, "working dates up to {}", last);
        prop_assert_eq!(calendar.working_between(at(deadline), at(first_instant(zone, last + TimeDelta::days(1)))), 0);
    }

    #[test]
    fn sla_a_status_agrees_with_the_deadline(
        spec in spec(),
        rule in sla_rule(),
        before in 0i64..4 * DAY,
        met in prop::option::weighted(0.6, near()),
        now in near(),
    ) {
        let calendar = spec.calendar();
        let start = at(spec.anchor - before);
        let Some(deadline) = rule.deadline(&calendar, start) else {
            prop_assert_eq!(rule.status(&calendar, start, None, start), None);
            return Ok(());
        };
        // Instants around the deadline, where the status changes.
        let (met_at, now) = (met.map(|m| at(deadline.millis() + m)), at(deadline.millis() + now));
        let status = rule.status(&calendar, start, met_at, now).unwrap();
        prop_assert_eq!(status.due_at(), deadline);
        let met_by_now = met_at.filter(|&m| m <= now);
        match status {
            SlaStatus::Met { at: m, on_time, taken_ms, .. } => {
                prop_assert_eq!(Some(m), met_by_now);
                prop_assert_eq!(on_time, m <= deadline);
                prop_assert_eq!(taken_ms, rule.clock().between(&calendar, start, m));
            }
            SlaStatus::Breached { overdue_ms, .. } => {
                prop_assert!(met_by_now.is_none() && now > deadline);
                prop_assert_eq!(overdue_ms, rule.clock().between(&calendar, deadline, now));
            }
            SlaStatus::Pending { .. } => prop_assert!(met_by_now.is_none() && now <= deadline),
        }
    }

    #[test]
    fn sla_escalations_come_due_once_each_and_stay_due(
        spec in spec(),
        rule in sla_rule(),
        before in 0i64..4 * DAY,
        sweeps in vec((any::<prop::sample::Index>(), near()), 1..=6),
    ) {
        let calendar = spec.calendar();
        let start = at(spec.anchor - before);
        let Some(deadline) = rule.deadline(&calendar, start) else {
            prop_assert!(rule.due_escalations(&calendar, start, None, &[], at(i64::MAX)).is_empty());
            return Ok(());
        };
        let due_at: Vec<Option<Timestamp>> = rule.escalation().iter().map(|s| s.after.ends_at(&calendar, deadline)).collect();
        // Sweeps around the steps' times, where they come due.
        let times: Vec<Timestamp> = due_at.iter().flatten().copied().chain([deadline]).collect();
        let mut nows: Vec<Timestamp> = sweeps.iter().map(|(which, off)| at(which.get(&times).millis() + off)).collect();
        nows.sort_unstable();
        // A step is due exactly once `now` is past its time; each sweep runs what is due, once.
        let mut done: Vec<usize> = Vec::new();
        let mut previous: BTreeSet<usize> = BTreeSet::new();
        for &now in &nows {
            let all: BTreeSet<usize> = rule.due_escalations(&calendar, start, None, &[], now).iter().map(|d| d.step).collect();
            let expected: BTreeSet<usize> = (0..due_at.len()).filter(|&i| due_at[i].is_some_and(|t| now > t)).collect();
            prop_assert_eq!(&all, &expected);
            prop_assert!(previous.is_subset(&all), "due at an earlier sweep, not at {}", now);
            let swept = rule.due_escalations(&calendar, start, None, &done, now);
            prop_assert!(swept.windows(2).all(|w| (w[0].due_at, w[0].step) <= (w[1].due_at, w[1].step)));
            for d in swept {
                prop_assert!(!done.contains(&d.step), "step {} twice", d.step);
                prop_assert_eq!(Some(d.due_at), due_at[d.step]);
                prop_assert_eq!(d.action, rule.escalation()[d.step].action);
                done.push(d.step);
            }
            prop_assert!(rule.due_escalations(&calendar, start, None, &done, now).is_empty());
            // Met by then, nothing is due.
            prop_assert!(rule.due_escalations(&calendar, start, Some(now), &[], now).is_empty());
            previous = all;
        }
        let last = *nows.last().unwrap();
        prop_assert_eq!(done.into_iter().collect::<BTreeSet<usize>>(), previous, "by {}", last);
    }

    #[test]
    fn sla_compliance_counts_every_status_once(
        statuses in vec(
            prop_oneof![
                any::<bool>().prop_map(|on_time| SlaStatus::Met { at: at(0), due_at: at(0), on_time, taken_ms: 0 }),
                Just(SlaStatus::Breached { due_at: at(0), overdue_ms: 1 }),
                Just(SlaStatus::Pending { due_at: at(0) }),
            ],
            0..40,
        ),
        split in any::<prop::sample::Index>(),
    ) {
        let all: Compliance = statuses.iter().copied().collect();
        prop_assert_eq!(all.total(), statuses.len() as u64);
        let pending = statuses.iter().filter(|s| matches!(s, SlaStatus::Pending { .. })).count() as u64;
        prop_assert_eq!(all.decided(), all.total() - pending);
        prop_assert!(all.rate().is_none_or(|r| (0.0..=1.0).contains(&r)));
        prop_assert_eq!(all.rate().is_none(), all.decided() == 0);
        // A team's compliance is its reps' together.
        let (a, b) = statuses.split_at(split.index(statuses.len() + 1));
        let (a, b): (Compliance, Compliance) = (a.iter().copied().collect(), b.iter().copied().collect());
        prop_assert_eq!(a.merge(b), all);
    }
}
