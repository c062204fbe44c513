//! Pipelines as files: the examples parse, mistakes are reported where they are, and moves,
//! automatic moves, routing and rotting follow the rules the module documents.

use leadflow_core::lead::FieldRef;
use leadflow_core::pipeline::{CycleEnd, route};
use leadflow_core::{
    Email, EventType, Grade, MoveRefusal, OutcomeKind, Pipeline, Profile, StageKind, Timestamp, Trigger,
};

const INBOUND: &str = include_str!("../../../examples/pipeline-inbound-b2b.toml");
const PARTNER: &str = include_str!("../../../examples/pipeline-partner.toml");

fn parse(source: &str) -> Pipeline {
    match Pipeline::parse(source) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn lead() -> Profile {
    Profile::new(Email::parse("ana@acme.example").unwrap())
}

fn with_owner() -> Profile {
    Profile { owner: Some("rep@us.example".into()), ..lead() }
}

const MISTAKES: &str = r#"name = "bad pipeline"
max_cycle_days = 0
on_cycle_end = "disqualify"
enter_at = "lost"
colour = "blue"

[routing]
priority = 5
when = [{ field = "employes", op = "between", min = 50 }]

[[stages]]
id = "new"
probability = 1.5
rotting_days = 0
lifecycle = "prospect"
to = ["working", "nowhere", "new"]
requires = ["owner", "budget"]
[[stages.enter_when]]
mql = true

[[stages]]
id = "working"
kind = "pending"
[[stages.enter_when]]
mql = true
score_at_least = 50
[[stages.enter_when]]
grade_at_least = "Z"
[[stages.enter_when]]
mql = false

[[stages]]
id = "working"
probability = 0.2
reasons = ["x"]
[[stages.enter_when]]
event = "Demo Requested"

[[stages]]
id = "lost"
kind = "lost"
rotting_days = 3
reasons = ["no budget", "", "No Budget"]
[[stages.enter_when]]
outcome = "lost"

[[stages]]
name = "Nameless"

[[stages]]
id = "recycled"
kind = "recycled"

[[stages]]
id = "recycled 2"
kind = "recycled"
speed = 3
"#;

/// Every problem of [`MISTAKES`]: its line, path and a telling part of its message.
#[test]
fn every_mistake_is_reported_with_its_line_and_path() {
    let expected: [(usize, &str, &str); 25] = [
        (1, "name", "expected 1-64 characters"),
        (2, "max_cycle_days", "at least 1"),
        (4, "enter_at", "`lost` is a lost stage"),
        (5, "colour", "unknown key"),
        (9, "routing.when[0].field", "unknown field `employes`"),
        (13, "stages[0].probability", "1.5 is not a probability"),
        (14, "stages[0].rotting_days", "at least 1"),
        (15, "stages[0].lifecycle", "unknown lifecycle stage `prospect`"),
        (16, "stages[0].to[1]", "no stage `nowhere`"),
        (16, "stages[0].to[2]", "does not move to itself"),
        (17, "stages[0].requires[1]", "unknown field `budget`"),
        (18, "stages[0].enter_when", "no stage comes before the first"),
        (23, "stages[1].kind", "unknown kind `pending`"),
        (26, "stages[1].enter_when[0].score_at_least", "one trigger per entry"),
        (28, "stages[1].enter_when[1].grade_at_least", "unknown grade `Z`"),
        (30, "stages[1].enter_when[2].mql", "only `mql = true`"),
        (33, "stages[2].id", "duplicate stage id `working` (also stages[1])"),
        (35, "stages[2].reasons", "only won, lost and disqualified stages have reasons"),
        (36, "stages[2].enter_when", "needs a reason"),
        (37, "stages[2].enter_when[0].event", "`Demo Requested` is invalid"),
        (42, "stages[3].rotting_days", "only open stages rot"),
        (43, "stages[3].reasons[1]", "must not be empty"),
        (43, "stages[3].reasons[2]", "`No Budget` is listed twice"),
        (44, "stages[3].enter_when", "needs a reason"),
        (47, "stages[4].id", "missing"),
    ];
    let problems = Pipeline::parse(MISTAKES).unwrap_err().problems;
    let rest: [(usize, &str, &str); 4] = [
        (47, "stages[4].probability", "missing (required for open stages)"),
        (55, "stages[6].id", "expected 1-64 characters"),
        (56, "stages[6].kind", "a second recycled stage (the first is `recycled`)"),
        (57, "stages[6].speed", "unknown key"),
    ];
    let all: Vec<(usize, &str, &str)> = expected.into_iter().chain(rest).collect();
    let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), all.len(), "{listed:#?}");
    for (p, (line, path, fragment)) in problems.iter().zip(all) {
        assert_eq!((p.line, p.path.as_str()), (line, path), "{p}");
        assert!(p.message.contains(fragment), "{p}");
    }
    // The Display of a problem is a model problem's.
    assert!(listed[8].starts_with("line 16, column 18: stages[0].to[1]: no stage `nowhere`"), "{}", listed[8]);
    let error = Pipeline::parse(MISTAKES).unwrap_err().to_string();
    assert!(error.starts_with("the pipeline has 29 problems:\n  line 1, column 8: name:"), "{error}");
}

const TWO_STAGES: &str = r#"
name = "p"
[[stages]]
id = "open"
probability = 0.5
[[stages]]
id = "gone"
kind = "lost"
"#;

fn problems(source: &str) -> Vec<String> {
    Pipeline::parse(source).unwrap_err().problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn the_cycle_needs_both_keys_and_a_stage_to_end_in() {
    let p = problems(&format!("max_cycle_days = 30\n{TWO_STAGES}"));
    assert_eq!(
        p,
        [
            "line 1, column 18: max_cycle_days: needs `on_cycle_end` (\"recycle\" or \"disqualify\"): what happens to a lead still open when its cycle ends"
        ]
    );
    let p = problems(&format!("on_cycle_end = \"recycle\"\n{TWO_STAGES}"));
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].starts_with(
            "line 1, column 16: on_cycle_end: `recycle` moves leads to a recycled stage, and this pipeline has none"
        ),
        "{}",
        p[0]
    );
    assert!(p[1].starts_with("line 1, column 16: on_cycle_end: needs `max_cycle_days`"), "{}", p[1]);
    let p = problems(&format!("max_cycle_days = 30\non_cycle_end = \"later\"\n{TWO_STAGES}"));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("line 2, column 16: on_cycle_end: unknown `later`"), "{}", p[0]);
    let ok = parse(&format!(
        "max_cycle_days = 30\non_cycle_end = \"disqualify\"\n{TWO_STAGES}\n[[stages]]\nid = \"dq\"\nkind = \"disqualified\"\n"
    ));
    assert_eq!(ok.cycle().map(|c| (c.max_days, c.on_end)), Some((30, CycleEnd::Disqualify)));
    assert_eq!(ok.cycle_end_stage().map(|s| s.id()), Some("dq"));
}

#[test]
fn a_pipeline_has_stages_and_an_open_one_to_enter_at() {
    let p = problems("name = \"p\"\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("line 1, column 1: stages: missing (required)"), "{}", p[0]);
    let p = problems("name = \"p\"\nstages = []\n");
    assert!(p[0].starts_with("line 2, column 10: stages: no stages"), "{p:#?}");
    let p = problems(
        "name = \"p\"\n[[stages]]\nid = \"won\"\nkind = \"won\"\n[[stages]]\nid = \"lost\"\nkind = \"lost\"\n",
    );
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("line 3, column 6: stages: no open stage"), "{}", p[0]);
    assert!(
        p[1].starts_with("line 4, column 8: stages[0].kind: leads enter at the first stage, and this one is won"),
        "{}",
        p[1]
    );
    let p = problems(&format!("enter_at = \"nowhere\"\n{TWO_STAGES}"));
    assert!(p.len() == 1 && p[0].starts_with("line 1, column 12: enter_at: no stage `nowhere`"), "{p:#?}");
    let p = problems(&TWO_STAGES.replace("name = \"p\"", "name = \"p\"\n[routing]\nwhen = []"));
    assert!(p.len() == 1 && p[0].contains("routing.when: an empty `when` takes every lead"), "{p:#?}");
    let p = problems(&TWO_STAGES.replace("kind = \"lost\"", "kind = \"lost\"\nto = [\"open\", \"open\"]"));
    assert!(p.len() == 1 && p[0].contains("stages[1].to[1]: `open` is listed twice"), "{p:#?}");
    let p = problems(&TWO_STAGES.replace("kind = \"lost\"", "kind = \"lost\"\n[[stages.enter_when]]\n"));
    assert!(p.len() == 1 && p[0].contains("stages[1].enter_when[0]: no trigger"), "{p:#?}");
    let p = problems("name = \"p\"\n[[stages]\n");
    assert!(p.len() == 1 && p[0].starts_with("line 2") && p[0].contains("TOML syntax"), "{p:#?}");
}

#[test]
fn the_examples_parse() {
    let inbound = parse(INBOUND);
    assert_eq!(inbound.name(), "inbound-b2b");
    assert_eq!(inbound.description(), Some("Inbound leads of companies with 50+ employees"));
    let ids: Vec<&str> = inbound.stages().iter().map(|s| s.id()).collect();
    assert_eq!(ids, ["new", "working", "meeting", "won", "lost", "disqualified", "recycled"]);
    assert_eq!(inbound.entry_stage().id(), "new");
    assert_eq!(inbound.routing().priority(), 10);
    assert_eq!(inbound.routing().conditions().map(<[_]>::len), Some(1));
    assert_eq!(inbound.cycle().map(|c| (c.max_days, c.on_end)), Some((120, CycleEnd::Recycle)));
    assert_eq!(inbound.cycle_end_stage().map(|s| s.id()), Some("recycled"));
    let won = inbound.stage("won").unwrap();
    assert_eq!((won.kind(), won.probability(), won.name()), (StageKind::Won, 1.0, "Won"));
    assert_eq!(won.allowed_next(), Some(&[][..]));
    let lost = inbound.stage("lost").unwrap();
    assert_eq!((lost.probability(), lost.reasons().len()), (0.0, 4));
    assert_eq!(lost.reason(" No Budget "), Some("no budget"));
    let meeting = inbound.stage("meeting").unwrap();
    assert_eq!(meeting.requires(), [FieldRef::parse("owner").unwrap(), FieldRef::parse("company").unwrap()]);
    assert_eq!(meeting.lifecycle().map(|l| l.name()), Some("opportunity"));
    assert_eq!(meeting.rotting_days(), Some(14));
    assert!(inbound.stage("Won").is_none(), "ids are case-sensitive");

    let partner = parse(PARTNER);
    assert_eq!(partner.entry_stage().id(), "registered");
    assert_eq!(partner.cycle_end_stage().map(|s| s.id()), Some("rejected"));
    assert_eq!(partner.stage("accepted").unwrap().enter_when().len(), 2);
    assert!(partner.stage("accepted").unwrap().requires().contains(&FieldRef::Custom("partner_id".into())));
}

#[test]
fn stage_kinds() {
    for kind in StageKind::ALL {
        assert_eq!(StageKind::parse(kind.as_str()), Some(kind));
        assert_eq!(kind.is_closed(), matches!(kind, StageKind::Won | StageKind::Lost | StageKind::Disqualified));
        assert_eq!(kind.is_active(), kind == StageKind::Open);
    }
    assert!(!StageKind::Recycled.is_closed() && !StageKind::Recycled.is_active());
    assert_eq!(StageKind::parse("closed"), None);
}

#[test]
fn every_refusal_names_its_rule() {
    let p = parse(INBOUND);
    let owned = Profile { company: Some("Acme".into()), ..with_owner() };
    assert_eq!(p.check_move(Some("new"), "working", &owned, None), Ok(()));
    assert_eq!(p.check_move(None, "meeting", &owned, None), Ok(()), "entering may start at any stage");

    let refusal = p.check_move(Some("new"), "closed", &owned, None).unwrap_err();
    assert_eq!(refusal.code(), "unknown_stage");
    assert!(matches!(&refusal, MoveRefusal::UnknownStage { stage, .. } if stage == "closed"));
    assert!(
        refusal.to_string().starts_with("there is no stage `closed` (the stages are `new`, `working`,"),
        "{refusal}"
    );
    let refusal = p.check_move(Some("nowhere"), "new", &owned, None).unwrap_err();
    assert!(matches!(&refusal, MoveRefusal::UnknownStage { stage, .. } if stage == "nowhere"), "{refusal}");

    let refusal = p.check_move(Some("working"), "working", &owned, None).unwrap_err();
    assert_eq!((refusal.code(), refusal.to_string().as_str()), ("same_stage", "the lead is already in `working`"));

    let refusal = p.check_move(Some("working"), "won", &owned, None).unwrap_err();
    assert_eq!(refusal.code(), "move_not_allowed");
    assert_eq!(
        refusal.to_string(),
        "`working` cannot move to `won`: from `working` a lead may move to `meeting`, `lost`, `disqualified`, `recycled`"
    );
    let refusal = p.check_move(Some("won"), "new", &owned, None).unwrap_err();
    assert_eq!(refusal.to_string(), "`won` cannot move to `new`: `won` is final, a lead in it moves nowhere");

    let refusal = p.check_move(Some("new"), "meeting", &lead(), None).unwrap_err();
    assert_eq!(refusal.code(), "missing_fields");
    assert_eq!(
        refusal,
        MoveRefusal::MissingFields {
            stage: "meeting".into(),
            fields: vec![FieldRef::parse("owner").unwrap(), FieldRef::parse("company").unwrap()]
        }
    );
    assert_eq!(refusal.to_string(), "a lead enters `meeting` only with `owner` and `company` set");
    let refusal = p.check_move(None, "working", &lead(), None).unwrap_err();
    assert_eq!(refusal.to_string(), "a lead enters `working` only with `owner` set");

    let refusal = p.check_move(Some("working"), "lost", &owned, None).unwrap_err();
    assert_eq!(refusal.code(), "reason_required");
    assert_eq!(
        refusal.to_string(),
        "a move to `lost` needs a reason: one of `no budget`, `competitor`, `no response`, `bad timing`"
    );
    assert_eq!(p.check_move(Some("working"), "lost", &owned, Some("  ")), Err(refusal), "a blank reason is none");

    let refusal = p.check_move(Some("working"), "lost", &owned, Some("too pricey")).unwrap_err();
    assert_eq!(refusal.code(), "unknown_reason");
    assert!(matches!(&refusal, MoveRefusal::UnknownReason { reason, .. } if reason == "too pricey"));
    assert!(refusal.to_string().starts_with("`too pricey` is not a reason for `lost`: give one of `no budget`,"));
    assert_eq!(p.check_move(Some("working"), "lost", &owned, Some("Competitor")), Ok(()));
    assert_eq!(p.check_move(Some("new"), "working", &owned, Some("a note")), Ok(()), "a free note where no list is");
}

const AUTO: &str = r#"
name = "auto"
[[stages]]
id = "a"
probability = 0.1
[[stages]]
id = "b"
probability = 0.2
[[stages.enter_when]]
mql = true
[[stages]]
id = "c"
probability = 0.5
requires = ["owner"]
[[stages.enter_when]]
mql = true
[[stages.enter_when]]
grade_at_least = "B"
[[stages]]
id = "l"
kind = "lost"
[[stages]]
id = "w"
kind = "won"
[[stages.enter_when]]
outcome = "won"
"#;

fn auto_id<'p>(p: &'p Pipeline, current: &str, trigger: Trigger<'_>, profile: &Profile) -> Option<&'p str> {
    p.auto_move(current, &trigger, profile).map(|s| s.id())
}

#[test]
fn auto_moves_take_the_latest_stage_the_rules_allow() {
    let p = parse(AUTO);
    assert_eq!(auto_id(&p, "a", Trigger::BecameMql, &with_owner()), Some("c"), "latest of b and c");
    assert_eq!(auto_id(&p, "a", Trigger::BecameMql, &lead()), Some("b"), "c requires an owner");
    assert_eq!(auto_id(&p, "b", Trigger::BecameMql, &lead()), None);
    let scored = |total: f64, grade: Grade| Trigger::Scored { total, grade };
    assert_eq!(auto_id(&p, "a", scored(10.0, Grade::A), &with_owner()), Some("c"));
    assert_eq!(auto_id(&p, "a", scored(99.0, Grade::C), &with_owner()), None, "C is below B");
    assert_eq!(auto_id(&p, "a", Trigger::Outcome(OutcomeKind::Won), &lead()), Some("w"));
    assert_eq!(auto_id(&p, "a", Trigger::Outcome(OutcomeKind::Lost), &lead()), None);
    assert_eq!(auto_id(&p, "nowhere", Trigger::BecameMql, &lead()), None);
}

#[test]
fn auto_moves_only_go_forward_and_never_out_of_closed_stages() {
    let p = parse(AUTO);
    assert_eq!(auto_id(&p, "c", Trigger::BecameMql, &with_owner()), None, "b fires, but is behind c");
    assert_eq!(auto_id(&p, "l", Trigger::Outcome(OutcomeKind::Won), &lead()), None, "l is closed");
    let inbound = parse(INBOUND);
    let owned = Profile { company: Some("Acme".into()), ..with_owner() };
    let demo = EventType::parse("demo_requested").unwrap();
    assert_eq!(auto_id(&inbound, "new", Trigger::Event(&demo), &owned), Some("meeting"));
    assert_eq!(auto_id(&inbound, "meeting", Trigger::Event(&demo), &owned), None, "already there");
    let won = Trigger::Outcome(OutcomeKind::Won);
    assert_eq!(auto_id(&inbound, "working", won, &owned), None, "working's `to` has no won");
    assert_eq!(auto_id(&inbound, "meeting", won, &owned), Some("won"));
    let hot = Trigger::Scored { total: 80.0, grade: Grade::B };
    assert_eq!(auto_id(&inbound, "meeting", hot, &owned), None, "never back to working");
    assert_eq!(auto_id(&inbound, "new", hot, &owned), Some("working"));
}

fn pipeline(name: &str, routing: &str) -> Pipeline {
    parse(&format!("name = \"{name}\"\n{routing}\n[[stages]]\nid = \"new\"\nprobability = 0.1\n"))
}

#[test]
fn routing_by_priority_then_name_with_a_fallback() {
    let big = "[routing]\npriority = 10\nwhen = [{ field = \"employees\", op = \"between\", min = 50 }]";
    let pipelines = vec![
        pipeline("fallback", ""),
        pipeline("big", big),
        pipeline(
            "enterprise",
            "[routing]\npriority = 20\nwhen = [{ field = \"employees\", op = \"between\", min = 1000 }]",
        ),
        pipeline("also-big", big),
        pipeline("fallback-high", "[routing]\npriority = 5"),
        pipeline(
            "partner",
            "[routing]\npriority = 1\nwhen = [{ field = \"source\", op = \"in\", values = [\"Partner\"] }, { field = \"country\", op = \"exists\" }]",
        ),
    ];
    let employees = |n: f64| Profile { employees: Some(n), ..lead() };
    let routed = |pipelines: &[Pipeline], profile: &Profile| route(pipelines, profile).map(|p| p.name().to_string());
    assert_eq!(routed(&pipelines, &employees(5000.0)).as_deref(), Some("enterprise"));
    assert_eq!(routed(&pipelines, &employees(100.0)).as_deref(), Some("also-big"), "a tie goes by name");
    assert_eq!(routed(&pipelines, &employees(10.0)).as_deref(), Some("fallback-high"));
    assert_eq!(routed(&pipelines, &lead()).as_deref(), Some("fallback-high"), "a missing value meets no condition");
    let partner = Profile { source: Some("partner".into()), country: Some("DE".into()), ..lead() };
    assert_eq!(routed(&pipelines, &partner).as_deref(), Some("partner"), "any condition beats a fallback");
    let half = Profile { country: None, ..partner.clone() };
    assert_eq!(routed(&pipelines, &half).as_deref(), Some("fallback-high"), "all conditions must hold");
    let mut reversed = pipelines.clone();
    reversed.reverse();
    assert_eq!(routed(&reversed, &employees(100.0)).as_deref(), Some("also-big"), "order in the slice does not matter");
    assert_eq!(routed(&pipelines[1..4], &lead()), None, "no fallback, no pipeline");
    assert!(pipelines[0].routing().is_fallback() && !pipelines[1].routing().is_fallback());
}

#[test]
fn rotting_starts_a_millisecond_after_rotting_days() {
    let p = parse(INBOUND);
    let new = p.stage("new").unwrap();
    let entered = Timestamp::parse("2026-03-02T09:00:00Z").unwrap();
    let two_days = Timestamp::parse("2026-03-04T09:00:00Z").unwrap();
    assert!(!new.is_rotting(entered, entered));
    assert!(!new.is_rotting(entered, two_days), "exactly rotting_days is not yet rotting");
    assert!(new.is_rotting(entered, Timestamp::from_millis(two_days.millis() + 1)));
    assert!(!new.is_rotting(entered, Timestamp::from_millis(entered.millis() - 1)), "a clock that went back");
    let won = p.stage("won").unwrap();
    assert!(!won.is_rotting(entered, Timestamp::from_millis(i64::MAX)), "a stage without rotting_days never rots");
    assert!(new.is_rotting(Timestamp::from_millis(i64::MIN), Timestamp::from_millis(i64::MAX)), "no overflow");

    assert_eq!(p.cycle_ends_at(entered), Some(Timestamp::parse("2026-06-30T09:00:00Z").unwrap()), "120 days");
    assert_eq!(parse(AUTO).cycle_ends_at(entered), None);
}

mod properties {
    use leadflow_core::{EventType, Grade, OutcomeKind, Pipeline, Profile, Trigger};
    use proptest::prelude::*;

    const KINDS: [&str; 5] = ["open", "won", "lost", "recycled", "disqualified"];
    const EVENTS: [&str; 2] = ["demo_requested", "form_submitted"];

    #[derive(Clone, Debug)]
    struct StageSpec {
        kind: usize,
        to: Option<Vec<bool>>,
        requires_owner: bool,
        requires_company: bool,
        /// Trigger kinds 0..5 with a value each.
        enter_when: Vec<(usize, u8)>,
        reasons: bool,
    }

    fn stage_spec() -> impl Strategy<Value = StageSpec> {
        (
            0..KINDS.len(),
            proptest::option::of(proptest::collection::vec(any::<bool>(), 8)),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec((0..5usize, any::<u8>()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(kind, to, requires_owner, requires_company, enter_when, reasons)| StageSpec {
                kind,
                to,
                requires_owner,
                requires_company,
                enter_when,
                reasons,
            })
    }

    fn grade(v: u8) -> Grade {
        Grade::ALL[usize::from(v) % Grade::ALL.len()]
    }

    /// A valid pipeline file from the specs: the first stage open and without `enter_when`, one
    /// recycled stage at most, reasons only on closed stages without `enter_when`.
    fn source(specs: &[StageSpec]) -> String {
        let mut out = String::from("name = \"generated\"\n");
        let mut recycled = false;
        for (i, s) in specs.iter().enumerate() {
            let mut kind = if i == 0 { "open" } else { KINDS[s.kind] };
            if kind == "recycled" {
                if recycled {
                    kind = "lost";
                }
                recycled = true;
            }
            out += &format!("[[stages]]\nid = \"s{i}\"\nkind = \"{kind}\"\n");
            if kind == "open" {
                out += "probability = 0.5\n";
            }
            if let Some(to) = &s.to {
                let ids: Vec<String> =
                    (0..specs.len()).filter(|&j| j != i && to[j]).map(|j| format!("\"s{j}\"")).collect();
                out += &format!("to = [{}]\n", ids.join(", "));
            }
            let requires: Vec<&str> = [(s.requires_owner, "\"owner\""), (s.requires_company, "\"company\"")]
                .into_iter()
                .filter_map(|(on, f)| on.then_some(f))
                .collect();
            out += &format!("requires = [{}]\n", requires.join(", "));
            let closed = matches!(kind, "won" | "lost" | "disqualified");
            let enter_when = if i == 0 { &[][..] } else { &s.enter_when[..] };
            if closed && s.reasons && enter_when.is_empty() {
                out += "reasons = [\"r1\", \"r2\"]\n";
            }
            for &(trigger, v) in enter_when {
                out += "[[stages.enter_when]]\n";
                out += &match trigger {
                    0 => "mql = true\n".to_string(),
                    1 => format!("score_at_least = {}\n", v % 100),
                    2 => format!("grade_at_least = \"{}\"\n", grade(v)),
                    3 => format!("event = \"{}\"\n", EVENTS[usize::from(v) % 2]),
                    _ => format!("outcome = \"{}\"\n", if v % 2 == 0 { "won" } else { "lost" }),
                };
            }
        }
        out
    }

    proptest! {
        // More cases than the default: several stages firing at once, which tells the latest
        // apart, is not the common case.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn auto_moves_go_forward_and_keep_the_rules(
            specs in proptest::collection::vec(stage_spec(), 2..8),
            current in 0..8usize,
            trigger in (0..4usize, any::<u8>(), any::<u8>()),
            owner in any::<bool>(),
            company in any::<bool>(),
        ) {
            let source = source(&specs);
            let pipeline = Pipeline::parse(&source).map_err(|e| TestCaseError::fail(format!("{e}\n{source}")))?;
            let stages = pipeline.stages();
            let current = &stages[current % stages.len()];
            let event = EventType::parse(EVENTS[usize::from(trigger.1) % 2]).unwrap();
            let trigger = match trigger.0 {
                0 => Trigger::BecameMql,
                1 => Trigger::Scored { total: f64::from(trigger.1 % 100), grade: grade(trigger.2) },
                2 => Trigger::Event(&event),
                _ => Trigger::Outcome(if trigger.1 % 2 == 0 { OutcomeKind::Won } else { OutcomeKind::Lost }),
            };
            let mut profile = Profile::new(leadflow_core::Email::parse("ana@acme.example").unwrap());
            profile.owner = owner.then(|| "rep".to_string());
            profile.company = company.then(|| "Acme".to_string());

            let position = |id: &str| stages.iter().position(|s| s.id() == id).unwrap();
            let from = position(current.id());
            let fires_and_allowed = |i: usize| {
                stages[i].enter_when().iter().any(|w| w.fires(&trigger))
                    && pipeline.check_move(Some(current.id()), stages[i].id(), &profile, None).is_ok()
            };
            match pipeline.auto_move(current.id(), &trigger, &profile) {
                Some(to) => {
                    let to = position(to.id());
                    prop_assert!(to > from, "moved back from s{from} to s{to}\n{source}");
                    prop_assert!(!current.kind().is_closed(), "moved out of closed s{from}\n{source}");
                    prop_assert!(fires_and_allowed(to), "s{from} to s{to}\n{source}");
                    prop_assert!(!(to + 1..stages.len()).any(fires_and_allowed), "a later stage was allowed\n{source}");
                }
                None => prop_assert!(
                    current.kind().is_closed() || !(from + 1..stages.len()).any(fires_and_allowed),
                    "no move from s{from}, though a stage fires and is allowed\n{source}"
                ),
            }
        }
    }
}

#[test]
fn a_stage_gives_leads_entering_it_their_next_tasks() {
    use leadflow_core::sla::SlaDuration;
    use leadflow_core::task::{Priority, TaskKind};
    let inbound = parse(INBOUND);
    let first = &inbound.stage("new").unwrap().tasks()[0];
    assert_eq!((first.kind, first.title.as_str(), first.priority), (TaskKind::Call, "First call", Priority::High));
    assert_eq!(first.due, SlaDuration::WorkingTime(4 * 3_600_000));
    assert_eq!(inbound.stage("meeting").unwrap().tasks()[0].due, SlaDuration::WorkingDays(1));
    assert!(inbound.stage("working").unwrap().tasks().is_empty());

    let with_tasks = |tasks: &str| format!("{TWO_STAGES}[[stages.tasks]]\n{tasks}");
    let calendar = parse(&with_tasks("title = \"Check in\"\ndue = \"2d\"\nclock = \"calendar\"\n"));
    let task = &calendar.stage("gone").unwrap().tasks()[0];
    assert_eq!(
        (task.kind, task.priority, task.due),
        (TaskKind::Call, Priority::Normal, SlaDuration::Elapsed(2 * 86_400_000))
    );
    assert_eq!(
        problems(&with_tasks("kind = \"fax\"\ntitle = \" \"\npriority = \"urgent\"\ndue = \"soon\"\nwhen = 1\n")),
        [
            "line 10, column 8: stages[1].tasks[0].kind: `fax` is not a task kind (expected call, email, meeting or todo)",
            "line 11, column 9: stages[1].tasks[0].title: blank (say what to do: \"Call about the demo\")",
            "line 12, column 12: stages[1].tasks[0].priority: `urgent` is not a priority (expected low, normal or high)",
            "line 13, column 7: stages[1].tasks[0].due: `soon` is not a duration (expected whole days, hours and minutes such as \"4h\", \"90m\", \"1h30m\" or \"2d\")",
            "line 14, column 1: stages[1].tasks[0].when: unknown key (expected one of: kind, title, priority, due, clock)",
        ]
    );
    assert_eq!(
        problems(&with_tasks("title = \"Call\"\n")),
        [
            "line 9, column 1: stages[1].tasks[0].due: missing (required): when the task is due after the move, such as \"4h\""
        ]
    );
}
