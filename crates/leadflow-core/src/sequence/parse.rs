//! Reading a sequence file (TOML) into a checked [`Sequence`], reporting every problem with its
//! place in the file, as a model's and a pipeline's are read (`crate::model::parse`).

use std::collections::HashMap;

use toml::de::DeValue;

use super::*;
use crate::lead::is_identifier;
use crate::model::ModelProblem;
use crate::model::parse::{
    CONDITION_KEYS, Ctx, IDENTIFIER, Listed, Table, field_ref, file_error, listed, read_condition, read_file,
};
use crate::pipeline::read_stage_task;

/// One thing wrong with a sequence file, and where: placed and worded as a model's problems are.
pub type SequenceProblem = ModelProblem;

file_error!(
    /// A rejected sequence file: every problem found, in file order.
    SequenceError,
    "the sequence has"
);

impl Sequence {
    /// Parses and checks a sequence file.
    pub fn parse(source: &str) -> Result<Sequence, SequenceError> {
        read_file(source, read_sequence).map_err(|problems| SequenceError { problems })
    }
}

const STEP_ACTIONS: [&str; 9] = ["send", "variants", "wait", "branch", "task", "stage", "enroll", "webhook", "exit"];

fn read_sequence(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Sequence {
    root.check_keys(
        ctx,
        &["name", "description", "priority", "reenroll", "reenroll_after_days", "enroll", "exit", "steps"],
    );
    let name = root.file_name(ctx);
    let description = root.str(ctx, "description").map(|(d, _)| d);
    let priority = root.whole_number(ctx, "priority", 0).map_or(0, |(p, _)| p);
    let reenroll = read_reenroll(ctx, root);
    let enroll = root.table(ctx, "enroll").map(|t| read_enroll(ctx, &t));
    let exits = match root.table(ctx, "exit") {
        Some(t) => read_exits(ctx, &t),
        None => Exits { on: ExitTrigger::ALL.to_vec(), stages: Vec::new() },
    };
    let tables = root.required_tables(
        ctx,
        "steps",
        "the sequence's steps, as [[steps]] tables in the order they run",
        "no steps: a sequence needs at least one",
    );
    let read: Vec<ReadStep> = tables.iter().map(|t| read_step(ctx, t)).collect();
    check_steps(ctx, &read);
    let steps = read.into_iter().filter_map(|r| r.step).collect();
    Sequence { name, description, priority, reenroll, enroll, exits, steps }
}

fn read_reenroll(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Reenroll {
    let days = root.whole_number(ctx, "reenroll_after_days", 0);
    let days_say = |ctx: &mut Ctx<'_>, why: &str| {
        if let Some((_, at)) = days {
            ctx.problem(at, "reenroll_after_days", why);
        }
    };
    match root.str(ctx, "reenroll") {
        None => {
            if root.get("reenroll").is_none() {
                days_say(ctx, "goes with reenroll = \"after_exit\"");
            }
            Reenroll::Never
        }
        Some((policy, at)) => match policy.as_str() {
            "never" => {
                days_say(ctx, "a sequence that never re-enrolls has no days to wait");
                Reenroll::Never
            }
            "after_exit" => Reenroll::AfterExit { days: days.map_or(0, |(d, _)| d) },
            other => {
                ctx.problem(at, "reenroll", format!("unknown policy `{other}` (expected never or after_exit)"));
                Reenroll::Never
            }
        },
    }
}

fn read_enroll(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> EnrollRule {
    let criteria = ["stages", "buckets", "grades", "score_at_least", "when", "events", "outcomes", "quiet_days"];
    t.check_keys(ctx, &criteria);
    let (stages, buckets) = (listed(ctx, t, "stages"), listed(ctx, t, "buckets"));
    let grade_list = listed(ctx, t, "grades");
    let outcome_list = listed(ctx, t, "outcomes");
    let rule = EnrollRule {
        stages: identifiers(ctx, stages.unwrap_or_default(), "a stage id"),
        buckets: names(ctx, buckets.unwrap_or_default()),
        grades: grades(ctx, grade_list.unwrap_or_default()),
        score_at_least: t.number(ctx, "score_at_least").map(|(s, _)| s),
        when: field_conditions(ctx, t, "when"),
        events: t.tables(ctx, "events").unwrap_or_default().iter().filter_map(|e| read_interest(ctx, e)).collect(),
        outcomes: outcomes(ctx, outcome_list.unwrap_or_default()),
        quiet_days: t.whole_number(ctx, "quiet_days", 1).map(|(d, _)| d),
    };
    if !criteria.iter().any(|k| t.get(k).is_some()) {
        ctx.problem(
            t.span.start,
            &t.path,
            format!("enrolls every lead: give at least one of {} (or leave [enroll] out)", criteria.join(", ")),
        );
    }
    rule
}

fn read_interest(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<EventInterest> {
    t.check_keys(ctx, &["event", "url_contains", "at_least", "within_days"]);
    let event = t.required_str(ctx, "event").and_then(|(e, at)| event_type(ctx, at, &t.child_path("event"), &e));
    let url_contains = match t.str(ctx, "url_contains") {
        Some((u, at)) if u.is_empty() => {
            ctx.problem(at, &t.child_path("url_contains"), "must not be empty");
            None
        }
        other => other.map(|(u, _)| u),
    };
    let at_least = t.whole_number(ctx, "at_least", 1).map_or(1, |(n, _)| n);
    let within_days = t.whole_number(ctx, "within_days", 1).map(|(d, _)| d);
    Some(EventInterest { event: event?, url_contains, at_least, within_days })
}

fn read_exits(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Exits {
    t.check_keys(ctx, &["on", "stages"]);
    let on = match listed(ctx, t, "on") {
        None => ExitTrigger::ALL.to_vec(),
        Some(list) => {
            let mut on = Vec::new();
            for l in list {
                match ExitTrigger::parse(&l.text) {
                    Some(trigger) if on.contains(&trigger) => {
                        ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text))
                    }
                    Some(trigger) => on.push(trigger),
                    None => {
                        let known: Vec<&str> = ExitTrigger::ALL.iter().map(|t| t.as_str()).collect();
                        let always = ["unsubscribe", "hard_bounce", "bounce", "complaint"].contains(&l.text.as_str());
                        let message = if always {
                            format!("`{}` always ends an enrollment: leave it out", l.text)
                        } else {
                            format!("unknown exit `{}` (expected one of: {})", l.text, known.join(", "))
                        };
                        ctx.problem(l.at, &l.path, message);
                    }
                }
            }
            on
        }
    };
    let stages = listed(ctx, t, "stages").unwrap_or_default();
    let stages = identifiers(ctx, stages, "a stage id");
    Exits { on, stages }
}

/// A step as read, with the places the checks across steps report at.
struct ReadStep {
    step: Option<Step>,
    /// Its id, when valid and unique: only such steps can be named.
    id: Option<String>,
    at: usize,
    /// The steps it names (`next`, `then`, `else`), with their places.
    names: Vec<Listed>,
}

fn read_step(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> ReadStep {
    let allowed: Vec<&str> = ["id", "next"].into_iter().chain(STEP_ACTIONS).collect();
    t.check_keys(ctx, &allowed);
    let id = match t.required_str(ctx, "id") {
        Some((id, at)) if !is_identifier(&id) => {
            ctx.problem(at, &t.child_path("id"), IDENTIFIER);
            None
        }
        Some((id, _)) => Some(id),
        None => None,
    };
    let given: Vec<&str> = STEP_ACTIONS.into_iter().filter(|k| t.get(k).is_some()).collect();
    let mut names = Vec::new();
    let next = t.str(ctx, "next").map(|(n, at)| {
        names.push(Listed { text: n.clone(), at, path: t.child_path("next") });
        n
    });
    let action = match given.as_slice() {
        [] => {
            ctx.problem(
                t.span.start,
                &t.path,
                format!("a step does one thing: give one of {}", STEP_ACTIONS.join(", ")),
            );
            None
        }
        [one] => read_action(ctx, t, one, &mut names),
        [first, second, ..] => {
            let at = t.get(second).map_or(t.span.start, |v| v.span().start);
            ctx.problem(at, &t.child_path(second), format!("a step does one thing: `{first}` or `{second}`, not both"));
            None
        }
    };
    let ends = matches!(action, Some(StepAction::Exit));
    let branches = matches!(action, Some(StepAction::Branch(_)));
    if let (Some(v), true) = (t.get("next"), ends || branches) {
        names.retain(|n| n.path != t.child_path("next"));
        let why = if ends { "an exit step ends the enrollment" } else { "a branch goes on by `then` and `else`" };
        ctx.problem(v.span().start, &t.child_path("next"), format!("{why}: `next` says nothing here"));
    }
    let step = match (id.clone(), action) {
        (Some(id), Some(action)) => Some(Step { id, action, next: next.filter(|_| !ends && !branches) }),
        _ => None,
    };
    ReadStep { step, id, at: t.span.start, names }
}

fn read_action(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str, names: &mut Vec<Listed>) -> Option<StepAction> {
    let path = t.child_path(key);
    match key {
        "send" => {
            let (template, at) = t.str(ctx, "send")?;
            let template = identifier(ctx, at, &path, template, "a template's name")?;
            Some(StepAction::Send(Send { variants: vec![Variant { name: "a".into(), template, weight: 1 }] }))
        }
        "variants" => read_variants(ctx, t).map(StepAction::Send),
        "wait" => {
            let wait = t.table(ctx, "wait")?;
            read_wait(ctx, &wait).map(StepAction::Wait)
        }
        "branch" => {
            let branch = t.table(ctx, "branch")?;
            read_branch(ctx, &branch, names).map(StepAction::Branch)
        }
        "task" => {
            let task = t.table(ctx, "task")?;
            read_stage_task(ctx, &task).map(StepAction::Task)
        }
        "stage" => {
            let (stage, at) = t.str(ctx, "stage")?;
            identifier(ctx, at, &path, stage, "a stage id").map(StepAction::Stage)
        }
        "enroll" => {
            let (sequence, at) = t.str(ctx, "enroll")?;
            identifier(ctx, at, &path, sequence, "a sequence's name").map(StepAction::Enroll)
        }
        "webhook" | "exit" => match t.bool(ctx, key)? {
            (true, _) => Some(if key == "webhook" { StepAction::Webhook } else { StepAction::Exit }),
            (false, at) => {
                ctx.problem(at, &path, "only `true` means something here: leave the step out instead");
                None
            }
        },
        _ => unreachable!("every step action is read"),
    }
}

fn read_variants(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Send> {
    let tables = t.tables(ctx, "variants")?;
    if tables.len() < 2 {
        let at = t.get("variants").map_or(t.span.start, |v| v.span().start);
        ctx.problem(at, &t.child_path("variants"), "an A/B test needs two variants at least (one is `send`)");
    }
    let mut variants: Vec<Variant> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut ok = tables.len() >= 2;
    for v in &tables {
        v.check_keys(ctx, &["name", "template", "weight"]);
        let name = v.required_str(ctx, "name").and_then(|(n, at)| {
            let n = identifier(ctx, at, &v.child_path("name"), n, "a variant's name")?;
            if seen.contains(&n) {
                ctx.problem(at, &v.child_path("name"), format!("`{n}` names another variant too"));
                return None;
            }
            seen.push(n.clone());
            Some(n)
        });
        let template = v
            .required_str(ctx, "template")
            .and_then(|(n, at)| identifier(ctx, at, &v.child_path("template"), n, "a template's name"));
        let weight = match v.get("weight") {
            None => Some(1),
            Some(_) => v.whole_number(ctx, "weight", 1).map(|(w, _)| w),
        };
        match (name, template, weight) {
            (Some(name), Some(template), Some(weight)) => variants.push(Variant { name, template, weight }),
            _ => ok = false,
        }
    }
    let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
    if total > u64::from(u32::MAX) {
        ctx.problem(t.span.start, &t.child_path("variants"), "the weights add up to too much: keep them small");
        ok = false;
    }
    ok.then_some(Send { variants })
}

const WAIT_KEYS: [&str; 4] = ["days", "business_days", "until", "weekday"];

fn read_wait(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Wait> {
    t.check_keys(ctx, &["days", "business_days", "until", "weekday", "at"]);
    if let (Some(v), false) = (t.get("at"), t.get("weekday").is_some()) {
        ctx.problem(v.span().start, &t.child_path("at"), "goes with weekday");
    }
    let given: Vec<&str> = WAIT_KEYS.into_iter().filter(|k| t.get(k).is_some()).collect();
    match given.as_slice() {
        [] => {
            ctx.problem(t.span.start, &t.path, format!("say how long: one of {}", WAIT_KEYS.join(", ")));
            None
        }
        [first, second, ..] => {
            let at = t.get(second).map_or(t.span.start, |v| v.span().start);
            ctx.problem(at, &t.child_path(second), format!("one way to wait: `{first}` or `{second}`, not both"));
            None
        }
        ["days"] => t.whole_number(ctx, "days", 1).map(|(d, _)| Wait::Days(d)),
        ["business_days"] => t.whole_number(ctx, "business_days", 1).map(|(d, _)| Wait::BusinessDays(d)),
        ["until"] => {
            let (until, at) = t.str(ctx, "until")?;
            match Timestamp::parse(&until) {
                Ok(at) => Some(Wait::Until(at)),
                Err(e) => {
                    ctx.problem(at, &t.child_path("until"), e.to_string());
                    None
                }
            }
        }
        [_weekday] => {
            let (day, day_at) = t.str(ctx, "weekday")?;
            let weekday = day.parse::<chrono::Weekday>().ok().or_else(|| {
                ctx.problem(day_at, &t.child_path("weekday"), format!("`{day}` is not a weekday (monday to sunday)"));
                None
            });
            let (hour, minute) = match t.str(ctx, "at") {
                None if t.get("at").is_none() => {
                    ctx.problem(
                        day_at,
                        &t.child_path("at"),
                        "missing (required with weekday): a local time, \"10:00\"",
                    );
                    None
                }
                None => None,
                Some((time, at)) => local_time(&time).or_else(|| {
                    ctx.problem(at, &t.child_path("at"), format!("`{time}` is not a time of day (HH:MM, 24-hour)"));
                    None
                }),
            }?;
            Some(Wait::Next { weekday: weekday?, hour, minute })
        }
    }
}

/// `HH:MM`, 24-hour.
fn local_time(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    let (hour, minute) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
    (h.len() == 2 && m.len() == 2 && hour < 24 && minute < 60).then_some((hour, minute))
}

const BRANCH_TABLE_KEYS: [&str; 6] = ["score_at_least", "buckets", "grades", "stages", "event", "field"];

fn read_branch(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, names: &mut Vec<Listed>) -> Option<Branch> {
    t.check_keys(ctx, &["if", "then", "else"]);
    let mut named = |ctx: &mut Ctx<'_>, key: &str| {
        let (n, at) = t.str(ctx, key)?;
        names.push(Listed { text: n.clone(), at, path: t.child_path(key) });
        Some(n)
    };
    let then = match named(ctx, "then") {
        None if t.get("then").is_none() => {
            ctx.problem(t.span.start, &t.child_path("then"), "missing (required): the step to go to when `if` holds");
            None
        }
        other => other,
    };
    let otherwise = named(ctx, "else");
    let condition = match t.get("if") {
        None => {
            ctx.problem(t.span.start, &t.child_path("if"), "missing (required): what to look at");
            None
        }
        Some(v) if matches!(v.get_ref(), DeValue::String(_)) => {
            let (word, at) = t.str(ctx, "if")?;
            match word.as_str() {
                "opened" => Some(BranchCondition::Opened),
                "clicked" => Some(BranchCondition::Clicked),
                "replied" => Some(BranchCondition::Replied),
                other => {
                    ctx.problem(
                        at,
                        &t.child_path("if"),
                        format!(
                            "unknown condition `{other}` (expected opened, clicked, replied, or a table with one of: {})",
                            BRANCH_TABLE_KEYS.join(", ")
                        ),
                    );
                    None
                }
            }
        }
        Some(_) => {
            let table = t.table(ctx, "if")?;
            read_branch_table(ctx, &table)
        }
    };
    Some(Branch { condition: condition?, then: then?, otherwise })
}

fn read_branch_table(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<BranchCondition> {
    let given: Vec<&str> = BRANCH_TABLE_KEYS.into_iter().filter(|k| t.get(k).is_some()).collect();
    let only = |ctx: &mut Ctx<'_>, keys: &[&str]| t.check_keys(ctx, keys);
    match given.as_slice() {
        [] => {
            t.check_keys(ctx, &BRANCH_TABLE_KEYS);
            ctx.problem(t.span.start, &t.path, format!("say what to look at: one of {}", BRANCH_TABLE_KEYS.join(", ")));
            None
        }
        [first, second, ..] => {
            let at = t.get(second).map_or(t.span.start, |v| v.span().start);
            ctx.problem(
                at,
                &t.child_path(second),
                format!("one condition a branch: `{first}` or `{second}`, not both"),
            );
            None
        }
        ["score_at_least"] => {
            only(ctx, &["score_at_least"]);
            t.number(ctx, "score_at_least").map(|(s, _)| BranchCondition::ScoreAtLeast(s))
        }
        ["buckets"] => {
            only(ctx, &["buckets"]);
            let list = nonempty(ctx, t, "buckets")?;
            Some(BranchCondition::Buckets(names(ctx, list)))
        }
        ["grades"] => {
            only(ctx, &["grades"]);
            let list = nonempty(ctx, t, "grades")?;
            Some(BranchCondition::Grades(grades(ctx, list)))
        }
        ["stages"] => {
            only(ctx, &["stages"]);
            let list = nonempty(ctx, t, "stages")?;
            Some(BranchCondition::Stages(identifiers(ctx, list, "a stage id")))
        }
        ["event"] => {
            only(ctx, &["event"]);
            let (e, at) = t.str(ctx, "event")?;
            event_type(ctx, at, &t.child_path("event"), &e).map(BranchCondition::Event)
        }
        [_field] => field_condition(ctx, t).map(BranchCondition::Field),
    }
}

/// Conditions on profile fields under `key`, written as a model's fit rules.
fn field_conditions(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Vec<RoutingCondition> {
    t.tables(ctx, key).unwrap_or_default().iter().filter_map(|c| field_condition(ctx, c)).collect()
}

fn field_condition(ctx: &mut Ctx<'_>, c: &Table<'_, '_>) -> Option<RoutingCondition> {
    let allowed: Vec<&str> = ["field"].into_iter().chain(CONDITION_KEYS).collect();
    c.check_keys(ctx, &allowed);
    let field = c.required_str(ctx, "field").and_then(|(f, at)| field_ref(ctx, at, &c.child_path("field"), &f));
    let condition = read_condition(ctx, c);
    Some(RoutingCondition { field: field?, condition: condition? })
}

fn nonempty(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Option<Vec<Listed>> {
    let list = listed(ctx, t, key)?;
    if list.is_empty() {
        let at = t.get(key).map_or(t.span.start, |v| v.span().start);
        ctx.problem(at, &t.child_path(key), "an empty list never holds");
        return None;
    }
    Some(list)
}

fn identifier(ctx: &mut Ctx<'_>, at: usize, path: &str, text: String, what: &str) -> Option<String> {
    if is_identifier(&text) {
        Some(text)
    } else {
        ctx.problem(at, path, format!("{IDENTIFIER} ({what})"));
        None
    }
}

/// Identifiers, each once.
fn identifiers(ctx: &mut Ctx<'_>, list: Vec<Listed>, what: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in list {
        if let Some(id) = identifier(ctx, l.at, &l.path, l.text, what) {
            if out.contains(&id) {
                ctx.problem(l.at, &l.path, format!("`{id}` is listed twice"));
            } else {
                out.push(id);
            }
        }
    }
    out
}

/// Bucket names: not empty, each once.
fn names(ctx: &mut Ctx<'_>, list: Vec<Listed>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in list {
        if l.text.trim().is_empty() {
            ctx.problem(l.at, &l.path, "must not be empty");
        } else if out.contains(&l.text) {
            ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text));
        } else {
            out.push(l.text);
        }
    }
    out
}

fn grades(ctx: &mut Ctx<'_>, list: Vec<Listed>) -> Vec<Grade> {
    let mut out = Vec::new();
    for l in list {
        match Grade::parse(&l.text) {
            Some(g) if out.contains(&g) => ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text)),
            Some(g) => out.push(g),
            None => ctx.problem(l.at, &l.path, format!("`{}` is not a grade (A to F)", l.text)),
        }
    }
    out
}

fn outcomes(ctx: &mut Ctx<'_>, list: Vec<Listed>) -> Vec<OutcomeKind> {
    let mut out = Vec::new();
    for l in list {
        match OutcomeKind::parse(&l.text) {
            Some(o) if out.contains(&o) => ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text)),
            Some(o) => out.push(o),
            None => ctx.problem(l.at, &l.path, format!("`{}` is not an outcome (won or lost)", l.text)),
        }
    }
    out
}

fn event_type(ctx: &mut Ctx<'_>, at: usize, path: &str, name: &str) -> Option<EventType> {
    EventType::parse(name).map_err(|e| ctx.problem(at, path, e.to_string())).ok()
}

/// Checks across steps: ids unique, every name a step's, every step reachable from the first,
/// no loop that runs without a wait between its turns.
fn check_steps(ctx: &mut Ctx<'_>, read: &[ReadStep]) {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, r) in read.iter().enumerate() {
        if let Some(id) = &r.id {
            if index.contains_key(id.as_str()) {
                ctx.problem(r.at, "steps", format!("two steps have the id `{id}`"));
            } else {
                index.insert(id, i);
            }
        }
    }
    let mut names_ok = true;
    for r in read {
        for name in r.names.iter().filter(|n| !index.contains_key(n.text.as_str())) {
            names_ok = false;
            let known: Vec<&str> = read.iter().filter_map(|r| r.id.as_deref()).collect();
            ctx.problem(name.at, &name.path, format!("no step `{}` (steps: {})", name.text, known.join(", ")));
        }
    }
    let steps: Vec<&Step> = read.iter().filter_map(|r| r.step.as_ref()).collect();
    if !names_ok || steps.len() < read.len() {
        // What follows needs every step and every name.
        return;
    }
    // Where each step may go: the steps it names, and the next in the file when it falls
    // through (the end of the file ends the enrollment).
    let edges: Vec<Vec<usize>> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let named = |id: &str| index[id];
            let following = (i + 1 < steps.len()).then_some(i + 1);
            match &step.action {
                StepAction::Exit => Vec::new(),
                StepAction::Branch(b) => [Some(named(&b.then)), b.otherwise.as_deref().map(named).or(following)]
                    .into_iter()
                    .flatten()
                    .collect(),
                _ => step.next.as_deref().map(named).or(following).into_iter().collect(),
            }
        })
        .collect();
    let mut reached = vec![false; read.len()];
    let mut todo = vec![0];
    while let Some(i) = todo.pop() {
        if i < read.len() && !reached[i] {
            reached[i] = true;
            todo.extend(&edges[i]);
        }
    }
    for (i, r) in read.iter().enumerate() {
        if !reached[i] {
            let id = r.id.as_deref().unwrap_or_default();
            ctx.problem(r.at, "steps", format!("step `{id}` is never reached: no step leads to it"));
        }
    }
    let waits: Vec<bool> =
        read.iter().map(|r| matches!(r.step, Some(Step { action: StepAction::Wait(_), .. }))).collect();
    if let Some(cycle) = loop_without_wait(&edges, &waits) {
        let ids: Vec<&str> = cycle.iter().map(|&i| read[i].id.as_deref().unwrap_or_default()).collect();
        ctx.problem(
            read[cycle[0]].at,
            "steps",
            format!("the steps {} go round without a wait: put a wait step in the loop", ids.join(" -> ")),
        );
    }
}

/// A loop of steps none of which waits (its steps in order, back to the first), if any.
fn loop_without_wait(edges: &[Vec<usize>], waits: &[bool]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        i: usize,
        edges: &[Vec<usize>],
        waits: &[bool],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[i] = Mark::OnPath;
        path.push(i);
        for &j in &edges[i] {
            if waits[j] {
                continue;
            }
            match marks[j] {
                Mark::OnPath => {
                    let start = path.iter().position(|&p| p == j).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(j, edges, waits, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    (0..edges.len())
        .filter(|&i| !waits[i])
        .find_map(|i| if marks[i] == Mark::New { visit(i, edges, waits, &mut marks, &mut Vec::new()) } else { None })
}
