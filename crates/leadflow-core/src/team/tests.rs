//! Users, working weeks and assignment files: the examples parse, mistakes are reported where
//! they are, and picks follow the strategies the module documents, checked against direct
//! restatements of them on random teams.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::strategy::Strategy as Generator;

use super::*;
// Explicit, so that the assignment strategy wins over proptest's prelude.
use super::Strategy;
use crate::calendar::{CalendarError, WeeklyHours};
use crate::email::Email;
use crate::lead::Profile;
use crate::time::Timestamp;

const INBOUND: &str = include_str!("../../../../examples/assignment-inbound.toml");

fn parse(source: &str) -> AssignmentRules {
    match AssignmentRules::parse(source) {
        Ok(rules) => rules,
        Err(e) => panic!("{e}"),
    }
}

fn problems(source: &str) -> Vec<String> {
    AssignmentRules::parse(source).unwrap_err().problems.iter().map(|p| p.to_string()).collect()
}

fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse(rfc3339).unwrap()
}

fn name(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}

fn build(spec: UserSpec<'_>) -> User {
    match User::build(spec) {
        Ok(u) => u,
        Err(e) => panic!("{e}"),
    }
}

fn rep(user: &str, team: &str) -> User {
    build(UserSpec { team: Some(team), ..UserSpec::new(user, "Europe/Berlin") })
}

fn lead() -> Profile {
    Profile::new(Email::parse("lead@acme.example").unwrap())
}

fn new_lead(profile: &Profile) -> LeadToAssign<'_> {
    LeadToAssign { profile, trigger: AssignTrigger::Created, pipeline: None, score: None }
}

/// What the engine keeps between picks: each owner's open leads and each rule's cursor, stored
/// after every pick as the engine would.
struct Desk {
    rules: AssignmentRules,
    users: Vec<User>,
    open: HashMap<UserName, u32>,
    cursors: HashMap<String, Cursor>,
    now: Timestamp,
}

impl Desk {
    fn new(rules: &str, users: Vec<User>) -> Desk {
        Desk {
            rules: parse(rules),
            users,
            open: HashMap::new(),
            cursors: HashMap::new(),
            now: at("2026-12-01T10:00:00Z"),
        }
    }

    fn pick(&self, lead: LeadToAssign<'_>) -> Assignment {
        let ctx =
            AssignContext { lead, users: &self.users, open_leads: &self.open, cursors: &self.cursors, now: self.now };
        self.rules.pick(&ctx)
    }

    /// Picks and stores the outcome.
    fn assign(&mut self, lead: LeadToAssign<'_>) -> Assignment {
        let assignment = self.pick(lead);
        if let (Some(rule), Some(cursor)) = (assignment.rule(), assignment.new_cursor()) {
            self.cursors.insert(rule.to_string(), cursor.clone());
        }
        if let Some(owner) = assignment.owner() {
            *self.open.entry(owner.clone()).or_default() += 1;
        }
        assignment
    }

    /// The owners of `n` new leads in a row.
    fn owners(&mut self, n: usize) -> Vec<String> {
        let profile = lead();
        (0..n).map(|_| self.assign(new_lead(&profile)).owner().map_or("-".into(), |o| o.to_string())).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The working week.

#[test]
fn the_default_week_is_office_hours() {
    assert_eq!(WorkingWeek::default(), WorkingWeek::parse("mon-fri 09:00-17:00").unwrap());
    assert_eq!(WorkingWeek::default().to_string(), DEFAULT_WEEK);
    let nine_to_five = ["09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "09:00-17:00", "", ""];
    assert_eq!(WorkingWeek::default().weekly_hours(), WeeklyHours::parse(nine_to_five).unwrap());
}

#[test]
fn weeks_read_as_people_write_them() {
    let cases = [
        ("mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00", "mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00"),
        ("Mon - Fri 09:00-12:30, 13:30-17:00 ;", "mon-fri 09:00-12:30,13:30-17:00"),
        ("monday,wednesday,FRIDAY 8:00-12:00", "mon,wed,fri 08:00-12:00"),
        ("mon,tue,wed 09:00-17:00; thu-fri 09:00-17:00", "mon-fri 09:00-17:00"),
        ("sat 10:00-14:00; mon-wed 09:00-17:00; fri 09:00-17:00", "mon-wed,fri 09:00-17:00; sat 10:00-14:00"),
        ("sun 00:00-24:00", "sun 00:00-24:00"),
        ("tue-tue 09:00-10:00; thu 09:00-10:00", "tue,thu 09:00-10:00"),
    ];
    for (input, canonical) in cases {
        let week = WorkingWeek::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(week.to_string(), canonical, "{input:?}");
        assert_eq!(WorkingWeek::parse(canonical).unwrap(), week, "{canonical:?}");
    }
}

#[test]
fn week_mistakes_name_the_part() {
    let part = |s: &str| s.to_string();
    let cases: Vec<(&str, WeekError)> = vec![
        ("", WeekError::Empty),
        (" ; ;", WeekError::Empty),
        ("mon-fri", WeekError::NoHours { part: part("mon-fri") }),
        ("mon-fri 09:00-17:00; 10:00-14:00", WeekError::NoDays { part: part("10:00-14:00") }),
        ("mon-fir 09:00-17:00", WeekError::UnknownDay { day: part("fir"), part: part("mon-fir 09:00-17:00") }),
        ("mon,,fri 09:00-17:00", WeekError::UnknownDay { day: part(""), part: part("mon,,fri 09:00-17:00") }),
        (
            "fri-mon 09:00-17:00",
            WeekError::BackwardsRange {
                range: part("fri-mon"),
                part: part("fri-mon 09:00-17:00"),
                instead: part("fri-sun,mon"),
            },
        ),
        (
            "sun-tue 09:00-17:00",
            WeekError::BackwardsRange {
                range: part("sun-tue"),
                part: part("sun-tue 09:00-17:00"),
                instead: part("sun,mon-tue"),
            },
        ),
        ("mon-fri,wed 09:00-17:00", WeekError::DayRepeated { day: "wed", part: part("mon-fri,wed 09:00-17:00") }),
        (
            "mon-fri 09:00-17:00; wed 10:00-12:00",
            WeekError::DayTwice { day: "wed", first: part("mon-fri 09:00-17:00"), second: part("wed 10:00-12:00") },
        ),
        (
            "mon 17:00-09:00",
            WeekError::Hours {
                part: part("mon 17:00-09:00"),
                source: CalendarError::EmptyInterval { interval: part("17:00-09:00") },
            },
        ),
        (
            "mon 9-17",
            WeekError::Hours {
                part: part("mon 9-17"),
                source: CalendarError::BadTime { time: part("9"), interval: part("9-17") },
            },
        ),
        (
            "mon 09:00-13:00,12:00-17:00",
            WeekError::Hours {
                part: part("mon 09:00-13:00,12:00-17:00"),
                source: CalendarError::OverlappingIntervals { first: part("09:00-13:00"), second: part("12:00-17:00") },
            },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(WorkingWeek::parse(input), Err(expected), "{input:?}");
    }
    assert_eq!(
        WorkingWeek::parse("fri-mon 09:00-17:00").unwrap_err().to_string(),
        "`fri-mon` in `fri-mon 09:00-17:00` runs backwards: a range runs from Monday towards Sunday (write `fri-sun,mon`)"
    );
    assert_eq!(
        WorkingWeek::parse("mon 09:00-25:00").unwrap_err().to_string(),
        "`mon 09:00-25:00`: `25:00` in `09:00-25:00` is not a time of day (expected HH:MM from 00:00 to 24:00)"
    );
    // A part is shown as a terminal may print it.
    assert_eq!(
        WorkingWeek::parse("mon\u{1b}[J 09:00-17:00"),
        Err(WeekError::UnknownDay { day: "mon\\u{1b}[J".into(), part: "mon\\u{1b}[J 09:00-17:00".into() }),
    );
}

/// A day's intervals as minute boundaries: sorted, distinct, paired up.
fn day_hours() -> impl Generator<Value = Vec<(u16, u16)>> {
    proptest::collection::btree_set(0u16..=1440, 0..=6).prop_map(|bounds| {
        let bounds: Vec<u16> = bounds.into_iter().collect();
        bounds.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect()
    })
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

proptest! {
    /// A week written day by day, in any order, reads as the calendar reads the same days, and
    /// its short form reads back to it.
    #[test]
    fn weeks_round_trip(days in proptest::array::uniform7(day_hours()), order in Just((0..7).collect::<Vec<usize>>()).prop_shuffle()) {
        let text: Vec<String> = days.iter().map(|d| d.iter().map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e))).collect::<Vec<_>>().join(",")).collect();
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let input: Vec<String> = order.iter().filter(|&&d| !text[d].is_empty()).map(|&d| format!("{} {}", names[d], text[d])).collect();
        let parsed = WorkingWeek::parse(&input.join("; "));
        if input.is_empty() {
            prop_assert_eq!(parsed, Err(WeekError::Empty));
        } else {
            let week = parsed.unwrap();
            let per_day: [&str; 7] = std::array::from_fn(|d| text[d].as_str());
            prop_assert_eq!(week.weekly_hours(), WeeklyHours::parse(per_day).unwrap());
            let short = week.to_string();
            prop_assert_eq!(WorkingWeek::parse(&short).unwrap(), week.clone());
            prop_assert!(short.len() <= input.join("; ").len(), "{} is longer than {:?}", short, input);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users.

#[test]
fn a_user_with_defaults_is_an_active_rep_working_office_hours() {
    let ana = build(UserSpec::new(" ana ", "Europe/Berlin"));
    assert_eq!(ana.name().as_str(), "ana");
    assert_eq!((ana.role(), ana.team(), ana.capacity(), ana.is_active()), (UserRole::Rep, None, None, true));
    assert_eq!((ana.display_name(), ana.email(), ana.away_until()), (None, None, None));
    assert_eq!(ana.week(), &WorkingWeek::default());
    assert_eq!(ana.calendar().zone(), chrono_tz::Europe::Berlin);
    // Monday 2026-12-07 09:30 in Berlin is 08:30 UTC: working; 17:30 Berlin is not.
    assert!(ana.calendar().is_working(at("2026-12-07T08:30:00Z")));
    assert!(!ana.calendar().is_working(at("2026-12-07T16:30:00Z")));
    assert!(!ana.calendar().is_working(at("2026-12-05T10:00:00Z")), "a Saturday");
}

#[test]
fn a_user_given_everything() {
    let holidays = ["2026-12-25", "2026-12-24", "2026-12-25"];
    let bob = build(UserSpec {
        display_name: Some("  Bob Smith "),
        email: Some("Bob@Example.COM"),
        team: Some("emea"),
        role: Some("Manager"),
        hours: Some("mon-thu 08:00-16:00"),
        holidays: &holidays,
        away_until: Some("2026-12-08"),
        capacity: Some(20),
        active: false,
        ..UserSpec::new("Bob.Smith", "America/New_York")
    });
    assert_eq!(bob.name().as_str(), "Bob.Smith", "names keep their case");
    assert_eq!(bob.display_name(), Some("Bob Smith"));
    assert_eq!(bob.email().map(Email::as_str), Some("bob@example.com"));
    assert_eq!(bob.team().map(TeamName::as_str), Some("emea"));
    assert_eq!(bob.role(), UserRole::Manager);
    assert_eq!(bob.week().to_string(), "mon-thu 08:00-16:00");
    let dates: Vec<String> = bob.holidays().iter().map(ToString::to_string).collect();
    assert_eq!(dates, ["2026-12-24", "2026-12-25"]);
    assert!(!bob.calendar().is_working(at("2026-12-24T15:00:00Z")), "a holiday");
    assert!(bob.calendar().is_working(at("2026-12-23T15:00:00Z")));
    assert_eq!((bob.away_until(), bob.capacity(), bob.is_active()), (Some(at("2026-12-08")), Some(20), false));
}

#[test]
fn user_mistakes_say_what_is_wrong() {
    let base = UserSpec::new("ana", "Europe/Berlin");
    let long = "x".repeat(MAX_DISPLAY_NAME + 1);
    let too_long_name = "a".repeat(65);
    let cases: Vec<(UserSpec<'_>, UserError)> = vec![
        (UserSpec { name: "ana smith", ..base }, UserError::Name("ana smith".into())),
        (UserSpec { name: "", ..base }, UserError::Name(String::new())),
        (UserSpec { name: &too_long_name, ..base }, UserError::Name("a".repeat(65))),
        (UserSpec { team: Some("emea/west"), ..base }, UserError::Team("emea/west".into())),
        (UserSpec { role: Some("boss"), ..base }, UserError::Role("boss".into())),
        (UserSpec { display_name: Some("  "), ..base }, UserError::BlankDisplayName),
        (UserSpec { display_name: Some(&long), ..base }, UserError::LongDisplayName),
        (
            UserSpec { zone: "Europe/Berlinn", ..base },
            UserError::Calendar(CalendarError::UnknownZone { name: "Europe/Berlinn".into() }),
        ),
        (
            UserSpec { holidays: &["2026-02-30"], ..base },
            UserError::Calendar(CalendarError::BadHoliday { input: "2026-02-30".into() }),
        ),
        (
            UserSpec { hours: Some("weekdays 9-5"), ..base },
            UserError::Hours(WorkingWeek::parse("weekdays 9-5").unwrap_err()),
        ),
        (UserSpec { capacity: Some(0), ..base }, UserError::ZeroCapacity),
    ];
    for (spec, expected) in cases {
        assert_eq!(User::build(spec), Err(expected), "{spec:?}");
    }
    assert!(matches!(User::build(UserSpec { email: Some("ana@"), ..base }), Err(UserError::Email(_))));
    assert!(matches!(User::build(UserSpec { away_until: Some("soon"), ..base }), Err(UserError::AwayUntil(_))));
    assert_eq!(
        User::build(UserSpec { hours: Some("mon-fri"), ..base }).unwrap_err().to_string(),
        "hours: `mon-fri` has no hours (expected days, then hours, such as `mon-fri 09:00-17:00`)"
    );
    assert!(User::build(UserSpec { name: "名前", ..base }).is_ok(), "names are letters of any script");
}

#[test]
fn availability_and_room() {
    let until = "2026-12-08T00:00:00Z";
    let away = build(UserSpec { away_until: Some(until), capacity: Some(2), ..UserSpec::new("bob", "UTC") });
    assert!(away.is_away(at("2026-12-07T23:59:59Z")) && !away.is_available(at("2026-12-07T23:59:59Z")));
    assert!(!away.is_away(at(until)) && away.is_available(at(until)), "back at that very instant");
    assert!(away.has_room(0) && away.has_room(1) && !away.has_room(2) && !away.has_room(3));
    let gone = build(UserSpec { active: false, ..UserSpec::new("zed", "UTC") });
    assert!(!gone.is_available(at(until)) && gone.has_room(u32::MAX - 1), "no capacity: always room");
    assert_eq!(UserRole::parse(" REP "), Some(UserRole::Rep));
    assert_eq!(UserRole::ALL.map(UserRole::as_str), ["rep", "manager"]);
}

// ---------------------------------------------------------------------------------------------
// Reading assignment files.

#[test]
fn the_example_parses_and_shows_every_key() {
    let rules = parse(INBOUND);
    assert_eq!((rules.name(), rules.description().is_some()), ("inbound", true));
    let ids: Vec<&str> = rules.rules().iter().map(Rule::id).collect();
    assert_eq!(ids, ["key-accounts", "emea-enterprise", "emea", "rest"]);
    let strategies: Vec<Strategy> = rules.rules().iter().map(Rule::strategy).collect();
    assert_eq!(strategies, [Strategy::Fixed, Strategy::Weighted, Strategy::RoundRobin, Strategy::LeastBusy]);
    let enterprise = rules.rule("emea-enterprise").unwrap();
    assert_eq!(enterprise.on(), AssignOn::Mql);
    assert_eq!((enterprise.pipeline(), enterprise.score_at_least()), (Some("inbound-b2b"), Some(60.0)));
    assert_eq!(enterprise.conditions().len(), 2);
    assert_eq!(enterprise.teams(), [TeamName::parse("emea-enterprise").unwrap()]);
    assert_eq!(enterprise.users(), [name("marta")]);
    assert_eq!(rules.rule("emea").unwrap().fallback_owner(), Some(&name("marta")));
    // Every key of a rule appears in the example.
    for key in ["id", "on", "when", "pipeline", "score_at_least", "strategy", "users", "teams", "fallback_owner"] {
        assert!(INBOUND.contains(&format!("\n{key} = ")), "{key}");
    }
}

const MISTAKES: &str = r#"name = "bad rules"
colour = "blue"

[[rules]]
id = "emea"
on = "sometimes"
when = [{ field = "countri", op = "in", values = ["DE"] }]
strategy = "random"
users = ["ana", "ana", "bad name"]
teams = ["emea", 3]
fallback_owner = "marta!"
speed = 3

[[rules]]
id = "emea"
on = "mql"
strategy = "fixed"
users = ["ana", "bob"]
teams = ["emea"]

[[rules]]
on = "created"
pipeline = "Inbound B2B"
score_at_least = "high"
when = []
users = []

[[rules]]
id = "all"
on = "any"
teams = ["americas"]

[[rules]]
id = "late"
on = "created"
users = ["dan"]

[[rules]]
id = "no one"
when = [{ field = "country", op = "like", value = "DE" }]
"#;

/// Every problem of [`MISTAKES`]: its line, path and a telling part of its message.
#[test]
fn every_mistake_is_reported_with_its_line_and_path() {
    let expected: [(usize, &str, &str); 23] = [
        (1, "name", "expected 1-64 characters"),
        (2, "colour", "unknown key"),
        (6, "rules[0].on", "unknown `sometimes` (expected created, mql or any)"),
        (7, "rules[0].when[0].field", "unknown field `countri`"),
        (
            8,
            "rules[0].strategy",
            "unknown strategy `random` (expected one of: round_robin, least_busy, weighted, fixed)",
        ),
        (9, "rules[0].users[1]", "`ana` is listed twice"),
        (9, "rules[0].users[2]", "`bad name` is not a user name"),
        (10, "rules[0].teams[1]", "expected a string, found integer"),
        (11, "rules[0].fallback_owner", "`marta!` is not a user name"),
        (12, "rules[0].speed", "unknown key"),
        (15, "rules[1].id", "duplicate rule id `emea` (also rules[0])"),
        (18, "rules[1].users", "a `fixed` rule gives every lead to one user: list exactly one (this lists 2)"),
        (19, "rules[1].teams", "a `fixed` rule gives every lead to one user"),
        (21, "rules[2].id", "missing (required)"),
        (23, "rules[2].pipeline", "expected 1-64 characters"),
        (24, "rules[2].score_at_least", "expected a number, found string"),
        (25, "rules[2].when", "an empty `when` has no conditions"),
        (26, "rules[2].users", "no one to assign to: the rule's candidates are empty"),
        (34, "rules[4].id", "never matches: rules[3] comes first, with no conditions, and takes every lead on `any`"),
        (38, "rules[5].on", "missing (required): when the rule applies"),
        (38, "rules[5].users", "no one to assign to: give `users`, `teams` or both"),
        (39, "rules[5].id", "expected 1-64 characters"),
        (40, "rules[5].when[0].op", "unknown operator `like`"),
    ];
    let problems = AssignmentRules::parse(MISTAKES).unwrap_err().problems;
    let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), expected.len(), "{listed:#?}");
    for (p, (line, path, fragment)) in problems.iter().zip(expected) {
        assert_eq!((p.line, p.path.as_str()), (line, path), "{p}");
        assert!(p.message.contains(fragment), "{p}");
    }
    assert!(listed[0].starts_with("line 1, column 8: name: expected"), "{}", listed[0]);
    let error = AssignmentRules::parse(MISTAKES).unwrap_err().to_string();
    assert!(error.starts_with("the assignment rules have 23 problems:\n  line 1, column 8: name:"), "{error}");
}

const ONE_RULE: &str = "name = \"t\"\n[[rules]]\nid = \"r\"\non = \"any\"\nusers = \"ana\"\n";

#[test]
fn a_file_has_rules_and_a_rule_has_candidates() {
    let rules = parse(ONE_RULE);
    assert_eq!(rules.rules()[0].users(), [name("ana")], "a single name is a list of one");
    assert_eq!(rules.rules()[0].strategy(), Strategy::RoundRobin, "the default strategy");
    let p = problems("name = \"t\"\n");
    assert_eq!(
        p,
        ["line 1, column 1: rules: missing (required): the rules, as [[rules]] tables in the order they are tried"]
    );
    let p = problems("name = \"t\"\nrules = []\n");
    assert_eq!(p, ["line 2, column 9: rules: no rules: an assignment file needs at least one"]);
    let p = problems("name = \"t\"\n[[rules]\n");
    assert!(p.len() == 1 && p[0].starts_with("line 2") && p[0].contains("TOML syntax"), "{p:#?}");
    let p = problems(&ONE_RULE.replace("users = \"ana\"", "strategy = \"fixed\""));
    assert!(p.len() == 1 && p[0].contains("rules[0].users: missing: a `fixed` rule"), "{p:#?}");
    let p = problems(&ONE_RULE.replace("users = \"ana\"", "teams = []"));
    assert!(p.len() == 1 && p[0].contains("rules[0].teams: no one to assign to"), "{p:#?}");
    // An empty list beside a non-empty one is fine: there is someone to assign to.
    parse(&ONE_RULE.replace("users = \"ana\"", "users = []\nteams = [\"emea\"]"));
    let p = problems(&ONE_RULE.replace("users = \"ana\"", "users = { ana = 1 }"));
    assert!(p.len() == 1 && p[0].contains("rules[0].users: expected a list of strings, found table"), "{p:#?}");
}

#[test]
fn a_rule_that_an_earlier_one_hides_is_an_error() {
    let file = |first_on: &str, first_when: &str, second_on: &str| {
        format!(
            "name = \"t\"\n[[rules]]\nid = \"a\"\non = \"{first_on}\"\n{first_when}users = [\"ana\"]\n\
             [[rules]]\nid = \"b\"\non = \"{second_on}\"\nusers = [\"bob\"]\n"
        )
    };
    for (first, second, hidden) in [
        ("any", "created", true),
        ("any", "any", true),
        ("created", "created", true),
        ("created", "mql", false),
        ("created", "any", false),
        ("mql", "any", false),
    ] {
        let result = AssignmentRules::parse(&file(first, "", second));
        assert_eq!(result.is_err(), hidden, "{first} then {second}: {result:?}");
    }
    assert!(AssignmentRules::parse(&file("any", "pipeline = \"p\"\n", "any")).is_ok());
    assert!(AssignmentRules::parse(&file("any", "score_at_least = 50\n", "any")).is_ok());
    // A condition with a problem of its own is still a condition: no echo about `b`.
    let p = problems(&file("any", "when = [{ field = \"nope\", op = \"exists\" }]\n", "any"));
    assert!(p.len() == 1 && p[0].contains("unknown field `nope`"), "{p:#?}");
}

#[test]
fn names_are_checked_against_the_users_the_engine_has() {
    let rules = parse(INBOUND);
    let users = vec![rep("ana", "emea"), rep("dan", "americas"), rep("marta", "emea-enterprise")];
    let unknown: Vec<String> = rules.unknown_names(&users).iter().map(ToString::to_string).collect();
    assert_eq!(unknown, ["rule `rest`: no user `eve`"]);
    let unknown = rules.unknown_names(&users[..1]);
    let listed: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    assert_eq!(
        listed,
        [
            "rule `key-accounts`: no user `marta` (its fallback owner)",
            "rule `emea-enterprise`: no user `marta`",
            "rule `emea-enterprise`: no user is on team `emea-enterprise`",
            "rule `emea`: no user `marta` (its fallback owner)",
            "rule `rest`: no user `dan`",
            "rule `rest`: no user `eve`",
            "rule `rest`: no user is on team `americas`",
            "rule `rest`: no user `marta` (its fallback owner)",
        ]
    );
    assert_eq!(unknown[2].kind, NameKind::Team);
}

// ---------------------------------------------------------------------------------------------
// Picking.

const EMEA: &str = r#"
name = "t"
[[rules]]
id = "emea"
on = "any"
teams = ["emea"]
"#;

/// The EMEA team: four reps who can take leads, bob away, dave with room for two; a manager
/// and a rep who left, neither a candidate as a member of the team.
fn emea_team() -> Vec<User> {
    let spec = |user| UserSpec { team: Some("emea"), ..UserSpec::new(user, "Europe/Berlin") };
    vec![
        build(UserSpec { capacity: Some(2), ..spec("dave") }),
        build(UserSpec { away_until: Some("2026-12-08"), ..spec("bob") }),
        build(spec("carol")),
        build(spec("ana")),
        build(UserSpec { role: Some("manager"), ..spec("marta") }),
        build(UserSpec { active: false, ..spec("zed") }),
    ]
}

#[test]
fn round_robin_goes_in_turn_and_says_whom_it_passed_over() {
    let mut desk = Desk::new(EMEA, emea_team());
    let pool: Vec<&str> = desk.rules.rules()[0].candidates(&desk.users).into_iter().map(UserName::as_str).collect();
    assert_eq!(pool, ["ana", "bob", "carol", "dave"], "a team's active reps, by name");
    let profile = lead();
    let first = desk.assign(new_lead(&profile));
    assert_eq!(first.to_string(), "round robin in rule `emea` (1 of 4)");
    assert_eq!(first.new_cursor(), Some(&Cursor { last: name("ana"), index: 0 }));
    let second = desk.assign(new_lead(&profile));
    assert_eq!(second.to_string(), "round robin in rule `emea` (3 of 4), skipped bob: away until 2026-12-08T00:00:00Z");
    let Assignment::Assigned(assigned) = &second else { panic!("{second:?}") };
    assert_eq!(assigned.skipped, [Skipped { user: name("bob"), reason: SkipReason::Away { until: at("2026-12-08") } }]);
    // dave fills up after two leads and is passed over from then on.
    assert_eq!(desk.owners(6), ["dave", "ana", "carol", "dave", "ana", "carol"]);
    let next = desk.assign(new_lead(&profile));
    assert_eq!(next.to_string(), "round robin in rule `emea` (1 of 4), skipped dave: at capacity 2/2");
    // Once bob is back, he has his turn where the rotation reaches him.
    desk.now = at("2026-12-08T09:00:00Z");
    assert_eq!(desk.owners(3), ["bob", "carol", "ana"]);
}

#[test]
fn without_anyone_to_take_it_the_fallback_owner_does_or_nobody() {
    let everyone_away = |users: Vec<User>| {
        users
            .into_iter()
            .map(|u| {
                let name = u.name().to_string();
                let role = u.role().as_str();
                let capacity = u.capacity();
                let active = u.is_active();
                build(UserSpec {
                    team: Some("emea"),
                    role: Some(role),
                    capacity,
                    active,
                    away_until: Some("2027-01-01"),
                    ..UserSpec::new(&name, "Europe/Berlin")
                })
            })
            .collect::<Vec<User>>()
    };
    let profile = lead();
    let with_fallback = format!("{EMEA}fallback_owner = \"marta\"\n");
    let desk = Desk::new(&with_fallback, everyone_away(emea_team()));
    let assignment = desk.pick(new_lead(&profile));
    assert_eq!(assignment.owner(), Some(&name("marta")), "{assignment}");
    assert_eq!(assignment.new_cursor(), None, "the rotation stays where it was");
    assert!(
        assignment.to_string().starts_with(
            "fallback owner of rule `emea`: none of its 4 candidates could take the lead (ana: away until 2027-01-01T00:00:00Z; bob: away"
        ),
        "{assignment}"
    );
    let desk = Desk::new(EMEA, everyone_away(emea_team()));
    let assignment = desk.pick(new_lead(&profile));
    let Assignment::Unassigned(unassigned) = &assignment else { panic!("{assignment:?}") };
    assert_eq!((unassigned.rule.as_str(), unassigned.pool_size, unassigned.skipped.len()), ("emea", 4, 4));
    assert!(assignment.to_string().ends_with(", and it has no fallback owner"), "{assignment}");
    // A fallback owner who left takes nothing either; one no user answers to neither.
    let desk = Desk::new(&with_fallback.replace("marta", "zed"), everyone_away(emea_team()));
    let assignment = desk.pick(new_lead(&profile));
    assert!(assignment.to_string().ends_with(", nor its fallback owner zed: inactive"), "{assignment}");
    let desk = Desk::new(&with_fallback.replace("marta", "nobody"), vec![]);
    assert_eq!(
        desk.pick(new_lead(&profile)).to_string(),
        "unassigned: the pool of rule `emea` is empty, nor its fallback owner nobody: no such user"
    );
}

#[test]
fn the_first_matching_rule_decides() {
    let users = vec![rep("ana", "emea"), rep("dan", "us"), rep("eve", "us"), rep("vic", "vip")];
    let rules = r#"
name = "t"
[[rules]]
id = "hot"
on = "mql"
pipeline = "inbound-b2b"
score_at_least = 60
strategy = "fixed"
users = ["vic"]
[[rules]]
id = "emea"
on = "created"
when = [{ field = "country", op = "in", values = ["DE", "FR"] }]
users = ["ana"]
[[rules]]
id = "us"
on = "created"
teams = ["us"]
"#;
    let desk = Desk::new(rules, users);
    let german = Profile { country: Some("de".into()), ..lead() };
    let owner = |lead: LeadToAssign<'_>| desk.pick(lead).owner().map(|o| o.to_string());
    assert_eq!(owner(new_lead(&german)).as_deref(), Some("ana"));
    assert_eq!(owner(new_lead(&lead())).as_deref(), Some("dan"));
    let mql = |pipeline, score| LeadToAssign { profile: &german, trigger: AssignTrigger::BecameMql, pipeline, score };
    assert_eq!(owner(mql(Some("inbound-b2b"), Some(60.0))).as_deref(), Some("vic"));
    assert_eq!(desk.pick(mql(Some("inbound-b2b"), Some(59.9))), Assignment::NoRuleMatched);
    assert_eq!(desk.pick(mql(Some("partner"), Some(90.0))), Assignment::NoRuleMatched);
    assert_eq!(desk.pick(mql(None, Some(90.0))), Assignment::NoRuleMatched);
    assert_eq!(desk.pick(mql(Some("inbound-b2b"), None)), Assignment::NoRuleMatched);
    assert_eq!(desk.pick(mql(None, None)).to_string(), "no assignment rule matched the lead");
    assert_eq!(desk.pick(mql(None, None)).rule(), None);
    assert_eq!(desk.pick(mql(Some("inbound-b2b"), Some(70.0))).to_string(), "fixed in rule `hot` (1 of 1)");
}

#[test]
fn least_busy_and_weighted_compare_the_load() {
    let users = vec![
        build(UserSpec { capacity: Some(10), ..UserSpec::new("ana", "UTC") }),
        build(UserSpec { capacity: Some(20), ..UserSpec::new("bob", "UTC") }),
        build(UserSpec { capacity: Some(4), ..UserSpec::new("cy", "UTC") }),
    ];
    let file = |strategy: &str| {
        format!(
            "name = \"t\"\n[[rules]]\nid = \"r\"\non = \"any\"\nstrategy = \"{strategy}\"\nusers = [\"ana\", \"bob\", \"cy\"]\n"
        )
    };
    let mut desk = Desk::new(&file("least_busy"), users.clone());
    desk.open = HashMap::from([(name("ana"), 5), (name("bob"), 5), (name("cy"), 4)]);
    let profile = lead();
    let pick = desk.pick(new_lead(&profile));
    assert_eq!(pick.to_string(), "least busy in rule `r` (1 of 3, 5 open), skipped cy: at capacity 4/4");
    let mut desk = Desk::new(&file("weighted"), users);
    // Free shares: ana 5/10, bob 15/20, cy 3/4: bob and cy tie at three quarters.
    desk.open = HashMap::from([(name("ana"), 5), (name("bob"), 5), (name("cy"), 1)]);
    let pick = desk.assign(new_lead(&profile));
    assert_eq!(pick.to_string(), "weighted in rule `r` (2 of 3, 5/20 open)");
    // Then the largest share each time: cy (3/4 against bob's 14/20), then bob (13/20 against
    // 1/2 each), then bob again (13/20 against 1/2).
    assert_eq!(desk.owners(3), ["cy", "bob", "bob"]);
}

#[test]
fn the_rotation_survives_the_pool_changing() {
    let file = |users: &str| format!("name = \"t\"\n[[rules]]\nid = \"r\"\non = \"any\"\nusers = [{users}]\n");
    let users = ["aaron", "ana", "bob", "carol", "dan"].map(|u| build(UserSpec::new(u, "UTC"))).to_vec();
    let next = |pool: &str, last: &str, index: u32| {
        let mut desk = Desk::new(&file(pool), users.clone());
        desk.cursors.insert("r".into(), Cursor { last: name(last), index });
        desk.owners(1).remove(0)
    };
    assert_eq!(next("\"ana\", \"bob\", \"carol\"", "bob", 1), "carol");
    // Someone added before the cursor's user: the rotation goes on after that user.
    assert_eq!(next("\"aaron\", \"ana\", \"bob\", \"carol\"", "bob", 1), "carol");
    // The cursor's user removed: the rotation goes on at the place they held.
    assert_eq!(next("\"ana\", \"carol\", \"dan\"", "bob", 1), "carol");
    assert_eq!(next("\"ana\", \"bob\"", "carol", 2), "ana", "past the end: from the start");
    assert_eq!(next("\"ana\", \"bob\"", "carol", u32::MAX), "bob", "any stored index is in range");
    assert_eq!(next("\"carol\", \"bob\", \"ana\"", "bob", 0), "ana", "reordered: after the last user given");
}

// ---------------------------------------------------------------------------------------------
// Properties of the strategies, on random teams.

/// One candidate of a random team: what decides whether they can take a lead.
#[derive(Clone, Debug)]
struct Member {
    active: bool,
    /// `Some(true)`: away until after now; `Some(false)`: was away, back before now.
    away: Option<bool>,
    capacity: Option<u32>,
    open: u32,
}

fn member() -> impl Generator<Value = Member> {
    (
        proptest::bool::weighted(0.85),
        proptest::option::weighted(0.3, any::<bool>()),
        proptest::option::of(1u32..6),
        0u32..7,
    )
        .prop_map(|(active, away, capacity, open)| Member { active, away, capacity, open })
}

fn strategy_name() -> impl Generator<Value = &'static str> {
    prop_oneof![Just("round_robin"), Just("least_busy"), Just("weighted"), Just("fixed")]
}

const NOW: &str = "2026-12-01T10:00:00Z";

/// The desk for a team of `members`, named u0, u1, ... and listed in that order.
fn desk_of(strategy: &str, members: &[Member], cursor: Option<(usize, u32)>) -> Desk {
    let names: Vec<String> = (0..members.len()).map(|i| format!("u{i}")).collect();
    let listed = if strategy == "fixed" { &names[..1] } else { &names[..] };
    let users_list: Vec<String> = listed.iter().map(|n| format!("\"{n}\"")).collect();
    let file = format!(
        "name = \"t\"\n[[rules]]\nid = \"r\"\non = \"any\"\nstrategy = \"{strategy}\"\nusers = [{}]\nfallback_owner = \"boss\"\n",
        users_list.join(", ")
    );
    let mut users: Vec<User> = members
        .iter()
        .zip(&names)
        .map(|(m, n)| {
            let away = m.away.map(|future| if future { "2026-12-08" } else { "2026-11-30" });
            build(UserSpec { active: m.active, away_until: away, capacity: m.capacity, ..UserSpec::new(n, "UTC") })
        })
        .collect();
    users.push(build(UserSpec::new("boss", "UTC")));
    let mut desk = Desk::new(&file, users);
    desk.now = at(NOW);
    desk.open = members.iter().zip(&names).map(|(m, n)| (name(n), m.open)).collect();
    if let Some((last, index)) = cursor {
        desk.cursors.insert("r".into(), Cursor { last: name(&format!("u{last}")), index });
    }
    desk
}

/// Whether a member can take a lead, restated from the module doc.
fn can_take(m: &Member) -> bool {
    m.active && m.away != Some(true) && m.capacity.is_none_or(|c| m.open < c)
}

proptest! {
    /// N leads in a row over K candidates who can all take them: in pool order from the first,
    /// each getting N/K rounded down or up.
    #[test]
    fn round_robin_is_exactly_in_turn(k in 1usize..8, n in 0usize..40, via_team in any::<bool>()) {
        let names: Vec<String> = (0..k).map(|i| format!("u{i}")).collect();
        let users: Vec<User> = names.iter().map(|n| rep(n, "t")).collect();
        let pool = if via_team {
            "teams = [\"t\"]".to_string()
        } else {
            format!("users = [{}]", names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "))
        };
        let mut desk = Desk::new(&format!("name = \"t\"\n[[rules]]\nid = \"r\"\non = \"any\"\n{pool}\n"), users);
        let owners = desk.owners(n);
        for (i, owner) in owners.iter().enumerate() {
            prop_assert_eq!(owner, &names[i % k]);
        }
        for user in &names {
            let given = owners.iter().filter(|o| *o == user).count();
            prop_assert!(given == n / k || given == n.div_ceil(k), "{} got {} of {} over {}", user, given, n, k);
        }
    }

    /// From any stored cursor, the owners go round the pool without a gap, whoever it starts at.
    #[test]
    fn round_robin_from_any_cursor_is_cyclic(k in 1usize..8, n in 1usize..30, last in 0usize..8, index in any::<u32>()) {
        let members = vec![Member { active: true, away: None, capacity: None, open: 0 }; k];
        let mut desk = desk_of("round_robin", &members, Some((last, index)));
        let owners = desk.owners(n);
        let position = |o: &str| o[1..].parse::<usize>().unwrap();
        let first = if last < k { (last + 1) % k } else { index as usize % k };
        prop_assert_eq!(position(&owners[0]), first);
        for pair in owners.windows(2) {
            prop_assert_eq!(position(&pair[1]), (position(&pair[0]) + 1) % k);
        }
    }

    /// Whatever the strategy, nobody who cannot take a lead gets it from the strategy; the
    /// fallback owner gets it exactly when nobody can; and every candidate passed over is so
    /// for the reason given.
    #[test]
    fn nobody_unavailable_or_full_is_picked(
        strategy in strategy_name(),
        members in proptest::collection::vec(member(), 1..8),
        cursor in proptest::option::of((0usize..8, any::<u32>())),
    ) {
        let desk = desk_of(strategy, &members, cursor);
        let pool_size = if strategy == "fixed" { 1 } else { members.len() };
        let pool = &members[..pool_size];
        let assignment = desk.pick(new_lead(&lead()));
        let Assignment::Assigned(assigned) = &assignment else { panic!("the fallback owner can always take it: {assignment:?}") };
        let index = |n: &UserName| n.as_str()[1..].parse::<usize>().unwrap();
        match &assigned.by {
            AssignedBy::Strategy { position, pool_size: size, .. } => {
                prop_assert!(can_take(&pool[index(&assigned.owner)]), "{}", assignment);
                prop_assert_eq!((*position, *size), (index(&assigned.owner) + 1, pool_size));
            }
            AssignedBy::Fallback { .. } => {
                prop_assert!(!pool.iter().any(can_take), "{}", assignment);
                prop_assert_eq!(assigned.owner.as_str(), "boss");
                prop_assert_eq!(assigned.skipped.len(), pool_size, "every candidate is listed");
            }
        }
        for skipped in &assigned.skipped {
            let m = &pool[index(&skipped.user)];
            let expected = if !m.active {
                SkipReason::Inactive
            } else if m.away == Some(true) {
                SkipReason::Away { until: at("2026-12-08") }
            } else {
                SkipReason::AtCapacity { open: m.open, capacity: m.capacity.unwrap() }
            };
            prop_assert_eq!(skipped.reason, expected);
        }
    }

    /// Least busy gives the lead to the first of those with the fewest open leads.
    #[test]
    fn least_busy_picks_a_minimum(members in proptest::collection::vec(member(), 1..8)) {
        let desk = desk_of("least_busy", &members, None);
        let fewest = members.iter().filter(|m| can_take(m)).map(|m| m.open).min();
        let expected = fewest.map(|f| members.iter().position(|m| can_take(m) && m.open == f).unwrap());
        let owner = desk.pick(new_lead(&lead())).owner().cloned();
        match expected {
            Some(i) => prop_assert_eq!(owner, Some(name(&format!("u{i}")))),
            None => prop_assert_eq!(owner, Some(name("boss"))),
        }
    }

    /// Weighted gives the lead to one with the largest free share of their capacity (no
    /// capacity: all of it free), never to someone full; of equals, the first after the cursor.
    #[test]
    fn weighted_picks_the_most_room(
        members in proptest::collection::vec(member(), 1..8),
        cursor in proptest::option::of((0usize..8, any::<u32>())),
    ) {
        let desk = desk_of("weighted", &members, cursor);
        let share = |m: &Member| m.capacity.map_or(1.0, |c| f64::from(c - m.open.min(c)) / f64::from(c));
        let best = members.iter().filter(|m| can_take(m)).map(share).fold(None, |b: Option<f64>, s| Some(b.map_or(s, |b| b.max(s))));
        let assignment = desk.pick(new_lead(&lead()));
        let owner = assignment.owner().unwrap();
        match best {
            None => prop_assert_eq!(owner.as_str(), "boss"),
            Some(best) => {
                let i: usize = owner.as_str()[1..].parse().unwrap();
                prop_assert!(can_take(&members[i]));
                prop_assert!(members[i].capacity.is_none_or(|c| members[i].open < c), "never full");
                prop_assert_eq!(share(&members[i]), best, "{}", assignment);
                let k = members.len();
                let start = match cursor {
                    None => 0,
                    Some((last, _)) if last < k => (last + 1) % k,
                    Some((_, index)) => index as usize % k,
                };
                let first_best = (0..k).map(|j| (start + j) % k).find(|&j| can_take(&members[j]) && share(&members[j]) == best);
                prop_assert_eq!(Some(i), first_best);
            }
        }
    }
}
