use super::*;

const TRIAL: &str = include_str!("../../../../examples/sequence-trial.toml");

fn problems(source: &str) -> Vec<String> {
    match Sequence::parse(source) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

/// `problems`, expecting exactly these, each containing its text.
#[track_caller]
fn assert_problems(source: &str, expected: &[&str]) {
    let found = problems(source);
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(found.contains(expected), "{found:?} does not say {expected:?}");
    }
}

#[test]
fn the_example_reads_with_every_key() {
    let s = Sequence::parse(TRIAL).unwrap();
    assert_eq!((s.name(), s.priority(), s.reenroll()), ("trial-nurture", 10, Reenroll::AfterExit { days: 90 }));
    let rule = s.enroll_rule().unwrap();
    assert_eq!(rule.stages, ["new", "working"]);
    assert_eq!(rule.grades, [Grade::A, Grade::B, Grade::C]);
    assert_eq!((rule.score_at_least, rule.when.len()), (Some(20.0), 1));
    assert_eq!(
        rule.events,
        [EventInterest {
            event: EventType::parse("page_view").unwrap(),
            url_contains: Some("/pricing".into()),
            at_least: 2,
            within_days: Some(30),
        }]
    );
    assert_eq!(s.exits().stages, ["meeting"]);
    assert_eq!(s.templates(), ["trial-welcome", "tips-short", "tips-long", "case-study", "still-there"]);
    assert!(s.sends());
    assert_eq!(
        s.step("until-tuesday").unwrap().action(),
        &StepAction::Wait(Wait::Next { weekday: chrono::Weekday::Tue, hour: 10, minute: 0 })
    );
    assert_eq!(s.step("two-days").unwrap().action(), &StepAction::Wait(Wait::BusinessDays(2)));
    // The way through: a branch goes to `then` or `else`, `next` jumps, a branch without
    // `else` falls through, `exit` ends.
    let after = |id: &str, held: bool| s.after(id, held).map(|s| s.id());
    assert_eq!(after("welcome", false), Some("two-days"));
    assert_eq!((after("engaged", true), after("engaged", false)), (Some("case-study"), Some("nudge")));
    assert_eq!(after("case-study", false), Some("week"));
    assert_eq!((after("hot-now", true), after("hot-now", false)), (Some("call"), Some("tell-the-crm")));
    assert_eq!(after("goodbye", true), None);
    assert_eq!(after("to-sales", false), None, "the last step ends it");
}

#[test]
fn defaults_are_once_every_exit_and_no_rule() {
    let s = Sequence::parse("name = \"n\"\n[[steps]]\nid = \"a\"\nsend = \"t\"\n").unwrap();
    assert_eq!((s.priority(), s.reenroll(), s.enroll_rule()), (0, Reenroll::Never, None));
    assert_eq!(s.exits().on, ExitTrigger::ALL);
    let StepAction::Send(send) = s.steps()[0].action() else { panic!() };
    assert_eq!(send.variants().len(), 1);
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let source = r#"name = "bad name"
priority = -1
reenroll = "sometimes"
colour = "red"

[enroll]

[exit]
on = ["reply", "unsubscribe", "party", "reply"]

[[steps]]
id = "a"
send = "welcome"
wait = { days = 2 }

[[steps]]
id = "b"
wait = { days = 2, weekday = "monday" }

[[steps]]
id = "c"
wait = { weekday = "someday", at = "25:00" }

[[steps]]
id = "d"
branch = { if = "smiled", then = "nowhere" }

[[steps]]
id = "e"
exit = true
next = "a"

[[steps]]
id = "f"
"#;
    assert_problems(
        source,
        &[
            "line 1, column 8: name: expected 1-64 characters",
            "line 2, column 12: priority: expected a whole number of at least 0",
            "line 3, column 12: reenroll: unknown policy `sometimes`",
            "line 4, column 1: colour: unknown key",
            "line 6, column 1: enroll: enrolls every lead",
            "line 9, column 16: exit.on[1]: `unsubscribe` always ends an enrollment",
            "line 9, column 31: exit.on[2]: unknown exit `party`",
            "line 9, column 40: exit.on[3]: `reply` is listed twice",
            "line 14, column 8: steps[0].wait: a step does one thing: `send` or `wait`, not both",
            "line 18, column 30: steps[1].wait.weekday: one way to wait: `days` or `weekday`, not both",
            "line 22, column 20: steps[2].wait.weekday: `someday` is not a weekday",
            "line 22, column 36: steps[2].wait.at: `25:00` is not a time of day",
            "line 26, column 17: steps[3].branch.if: unknown condition `smiled`",
            "line 26, column 34: steps[3].branch.then: no step `nowhere` (steps: a, b, c, d, e, f)",
            "line 31, column 8: steps[4].next: an exit step ends the enrollment: `next` says nothing here",
            "line 33, column 1: steps[5]: a step does one thing",
        ],
    );
}

#[test]
fn names_of_steps_must_be_steps_and_ids_unique() {
    let source = r#"name = "n"
[[steps]]
id = "a"
send = "t"
next = "z"

[[steps]]
id = "a"
send = "u"
"#;
    assert_problems(
        source,
        &["line 5, column 8: steps[0].next: no step `z` (steps: a, a)", "two steps have the id `a`"],
    );
}

#[test]
fn a_step_no_step_leads_to_is_an_error() {
    let source = r#"name = "n"
[[steps]]
id = "a"
send = "t"
next = "c"

[[steps]]
id = "b"
send = "u"

[[steps]]
id = "c"
exit = true
"#;
    assert_problems(source, &["line 7, column 1: steps: step `b` is never reached"]);
}

#[test]
fn a_loop_without_a_wait_is_an_error_and_one_with_a_wait_is_not() {
    let spinning = r#"name = "n"
[[steps]]
id = "a"
send = "t"

[[steps]]
id = "again"
branch = { if = "opened", then = "done", else = "a" }

[[steps]]
id = "done"
exit = true
"#;
    assert_problems(spinning, &["the steps a -> again -> a go round without a wait"]);
    let waiting = spinning.replace(
        "[[steps]]\nid = \"again\"",
        "[[steps]]\nid = \"pause\"\nwait = { days = 3 }\n\n[[steps]]\nid = \"again\"",
    );
    assert_eq!(problems(&waiting), Vec::<String>::new());
    // A step that names itself is a loop too.
    let itself = "name = \"n\"\n[[steps]]\nid = \"a\"\nwebhook = true\nnext = \"a\"\n";
    assert_problems(itself, &["the steps a -> a go round without a wait"]);
}

#[test]
fn variants_need_two_distinct_names_and_positive_weights() {
    let source = r#"name = "n"
[[steps]]
id = "a"
[[steps.variants]]
name = "x"
template = "t1"
weight = 0
[[steps.variants]]
name = "x"
template = "not a name"
"#;
    assert_problems(
        source,
        &[
            "line 7, column 10: steps[0].variants[0].weight: expected a whole number of at least 1",
            "line 9, column 8: steps[0].variants[1].name: `x` names another variant too",
            "line 10, column 12: steps[0].variants[1].template: expected 1-64 characters",
        ],
    );
    let one = "name = \"n\"\n[[steps]]\nid = \"a\"\n[[steps.variants]]\nname = \"x\"\ntemplate = \"t\"\n";
    assert_problems(one, &["an A/B test needs two variants at least"]);
}

#[test]
fn branch_conditions_read_as_tables() {
    let cases = [
        ("{ score_at_least = 50 }", BranchCondition::ScoreAtLeast(50.0)),
        ("{ buckets = [\"hot\"] }", BranchCondition::Buckets(vec!["hot".into()])),
        ("{ grades = [\"a\", \"B\"] }", BranchCondition::Grades(vec![Grade::A, Grade::B])),
        ("{ stages = [\"sql\"] }", BranchCondition::Stages(vec!["sql".into()])),
        ("{ event = \"demo_requested\" }", BranchCondition::Event(EventType::parse("demo_requested").unwrap())),
        ("\"replied\"", BranchCondition::Replied),
        ("\"opened\"", BranchCondition::Opened),
    ];
    for (condition, expected) in cases {
        let source = format!(
            "name = \"n\"\n[[steps]]\nid = \"b\"\nbranch = {{ if = {condition}, then = \"e\" }}\n[[steps]]\nid = \"e\"\nexit = true\n"
        );
        let s = Sequence::parse(&source).unwrap_or_else(|e| panic!("{condition}: {e}"));
        let StepAction::Branch(b) = s.steps()[0].action() else { panic!() };
        assert_eq!(b.condition, expected, "{condition}");
    }
    let field = "name = \"n\"\n[[steps]]\nid = \"b\"\nbranch = { if = { field = \"industry\", op = \"equals\", value = \"saas\" }, then = \"e\" }\n[[steps]]\nid = \"e\"\nexit = true\n";
    let s = Sequence::parse(field).unwrap();
    assert!(matches!(s.steps()[0].action(), StepAction::Branch(Branch { condition: BranchCondition::Field(_), .. })));
    let two = "name = \"n\"\n[[steps]]\nid = \"b\"\nbranch = { if = { buckets = [\"hot\"], grades = [\"A\"] }, then = \"b\" }\n";
    assert_problems(two, &["one condition a branch: `buckets` or `grades`, not both"]);
    let empty = "name = \"n\"\n[[steps]]\nid = \"b\"\nbranch = { if = { buckets = [] }, then = \"b\" }\n";
    assert_problems(empty, &["an empty list never holds"]);
}

#[test]
fn reenroll_days_go_with_after_exit() {
    assert_problems(
        "name = \"n\"\nreenroll_after_days = 3\n[[steps]]\nid = \"a\"\nsend = \"t\"\n",
        &["goes with reenroll"],
    );
    assert_problems(
        "name = \"n\"\nreenroll = \"never\"\nreenroll_after_days = 3\n[[steps]]\nid = \"a\"\nsend = \"t\"\n",
        &["never re-enrolls has no days"],
    );
    let s = Sequence::parse("name = \"n\"\nreenroll = \"after_exit\"\n[[steps]]\nid = \"a\"\nsend = \"t\"\n").unwrap();
    assert_eq!(s.reenroll(), Reenroll::AfterExit { days: 0 });
}

#[test]
fn waits_read_every_way() {
    let wait = |w: &str| {
        let source = format!("name = \"n\"\n[[steps]]\nid = \"w\"\nwait = {w}\n");
        Sequence::parse(&source).map(|s| s.steps()[0].action().clone()).map_err(|e| e.to_string())
    };
    assert_eq!(wait("{ days = 3 }"), Ok(StepAction::Wait(Wait::Days(3))));
    assert_eq!(
        wait("{ until = \"2027-01-05T09:00:00Z\" }"),
        Ok(StepAction::Wait(Wait::Until(Timestamp::parse("2027-01-05T09:00:00Z").unwrap())))
    );
    assert!(wait("{ days = 0 }").unwrap_err().contains("at least 1"));
    assert!(wait("{ until = \"soon\" }").is_err());
    assert!(wait("{ weekday = \"friday\" }").unwrap_err().contains("missing (required with weekday)"));
    assert!(wait("{ days = 1, at = \"10:00\" }").unwrap_err().contains("goes with weekday"));
    assert!(wait("{}").unwrap_err().contains("say how long"));
}

/// The split follows the weights over many enrollments, and an enrollment keeps its variant.
#[test]
fn variants_split_enrollments_by_weight() {
    let send = Send {
        variants: vec![
            Variant { name: "a".into(), template: "t".into(), weight: 3 },
            Variant { name: "b".into(), template: "u".into(), weight: 1 },
        ],
    };
    let a = (0..10_000u64).filter(|&id| send.variant_for(id).name == "a").count();
    assert!((7_200..7_800).contains(&a), "{a} of 10000 in the 75% variant");
    assert!((0..100u64).all(|id| send.variant_for(id) == send.variant_for(id)));
}
