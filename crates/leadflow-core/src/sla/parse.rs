//! Reading an SLA policy file (TOML) into a validated [`SlaPolicy`], reporting every problem
//! with its place in the file.
//!
//! The walk is the model file's and the pipeline file's (`crate::model::parse`): toml's
//! span-carrying tables read by hand, so that whoever fixes a policy sees all its problems at
//! once, each with a line. `applies_to.when` is read by the model's condition reader, so it is
//! written as a fit rule is and means the same.

use std::collections::HashMap;

use toml::de::DeValue;

use super::*;
use crate::lead::is_identifier;
use crate::model::ModelProblem;
use crate::model::parse::{
    CONDITION_KEYS, Ctx, IDENTIFIER, Table, distinct_reasons, field_ref, file_error, listed, read_condition, read_file,
};

/// One thing wrong with an SLA policy file, and where: placed and worded as a model's problems are.
pub type SlaProblem = ModelProblem;

file_error!(
    /// A rejected SLA policy file: every problem found, in file order.
    SlaError,
    "the SLA policy has"
);

impl SlaPolicy {
    /// Parses and validates an SLA policy file.
    pub fn parse(source: &str) -> Result<SlaPolicy, SlaError> {
        read_file(source, read_policy).map_err(|problems| SlaError { problems })
    }
}

/// Where a key's value is, or else its table: where a problem with it is reported.
fn place(t: &Table<'_, '_>, key: &str) -> usize {
    t.get(key).map_or(t.span.start, |v| v.span().start)
}

fn read_policy(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> SlaPolicy {
    root.check_keys(ctx, &["name", "description", "reject_reasons", "rules"]);
    let name = root.file_name(ctx);
    let description = root.str(ctx, "description").map(|(d, _)| d);
    let reject_reasons = read_reject_reasons(ctx, root);
    let rule_tables = root.required_tables(
        ctx,
        "rules",
        "the policy's rules, as [[rules]] tables",
        "no rules: a policy needs at least one",
    );
    let read: Vec<ReadRule> = rule_tables.iter().map(|t| read_rule(ctx, t)).collect();
    check_ids(ctx, &read);
    SlaPolicy { name, description, reject_reasons, rules: read.into_iter().filter_map(|r| r.rule).collect() }
}

fn read_reject_reasons(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Vec<String> {
    let Some(reasons) = listed(ctx, root, "reject_reasons") else {
        return Vec::new();
    };
    if reasons.is_empty() {
        ctx.problem(
            place(root, "reject_reasons"),
            "reject_reasons",
            "no reasons: leave `reject_reasons` out to let reps give any",
        );
    }
    distinct_reasons(ctx, reasons)
}

/// A rule as read, with what the check across rules needs.
struct ReadRule {
    /// `None` when the rule had a problem.
    rule: Option<SlaRule>,
    /// The id, when it was a valid one: only those are checked for repeats.
    id: Option<String>,
    at: usize,
    path: String,
}

const RULE_KEYS: [&str; 9] = ["id", "name", "starts", "stage", "met_by", "within", "clock", "escalate", "applies_to"];
const STARTS: [&str; 4] = ["assigned", "mql", "stage_entered", "last_touch"];

fn read_rule(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> ReadRule {
    t.check_keys(ctx, &RULE_KEYS);
    let id = match t.required_str(ctx, "id") {
        Some((id, at)) if !is_identifier(&id) => {
            ctx.problem(at, &t.child_path("id"), IDENTIFIER);
            None
        }
        Some((id, _)) => Some(id),
        None => None,
    };
    let name = match t.str(ctx, "name") {
        Some((n, at)) if n.trim().is_empty() => {
            ctx.problem(at, &t.child_path("name"), "must not be empty (leave it out to show the id)");
            None
        }
        Some((n, _)) => Some(n.trim().to_string()),
        None => id.clone(),
    };
    let starts = read_starts(ctx, t);
    let met_by = read_met_by(ctx, t, starts.as_ref());
    let clock = read_clock(ctx, t);
    let within = match read_duration(ctx, t, "within", clock) {
        None if t.get("within").is_none() => {
            ctx.problem(
                t.span.start,
                &t.child_path("within"),
                "missing (required): how long the owner has, such as \"4h\"",
            );
            None
        }
        Some(SlaDuration::WorkingTime(0) | SlaDuration::Elapsed(0)) => {
            ctx.problem(
                place(t, "within"),
                &t.child_path("within"),
                "must be more than 0: a clock due as it starts cannot be met on time",
            );
            None
        }
        within => within,
    };
    let escalate = read_escalate(ctx, t, clock);
    let applies_to = match t.table(ctx, "applies_to") {
        Some(a) => read_applies_to(ctx, &a),
        None => Some(AppliesTo::default()),
    };
    let rule = match (id.clone(), name, starts, met_by, within, escalate, applies_to) {
        (Some(id), Some(name), Some(starts), Some(met_by), Some(within), Some(escalate), Some(applies_to)) => {
            Some(SlaRule { id, name, starts, met_by, within, escalate, applies_to })
        }
        _ => None,
    };
    ReadRule { rule, id, at: place(t, "id"), path: t.path.clone() }
}

/// `starts`, with `stage` for `stage_entered` (and only for it).
fn read_starts(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<ClockStart> {
    let stage = t.str(ctx, "stage");
    let Some((starts, at)) = t.required_str(ctx, "starts") else {
        // Whether `stage` belongs here depends on the start, which has its own problem.
        return None;
    };
    let path = t.child_path("starts");
    match starts.trim() {
        "assigned" | "mql" | "last_touch" if t.get("stage").is_some() => {
            ctx.problem(
                place(t, "stage"),
                &t.child_path("stage"),
                format!(
                    "only a clock that starts at `stage_entered` names a stage, not one that starts at `{}`",
                    starts.trim()
                ),
            );
            None
        }
        "assigned" => Some(ClockStart::Assigned),
        "mql" => Some(ClockStart::Mql),
        "last_touch" => Some(ClockStart::LastTouch),
        "stage_entered" => match stage {
            Some((s, at)) if !is_identifier(&s) => {
                ctx.problem(at, &t.child_path("stage"), format!("not a stage id: {IDENTIFIER}"));
                None
            }
            Some((s, _)) => Some(ClockStart::StageEntered(s)),
            None => {
                if t.get("stage").is_none() {
                    ctx.problem(
                        at,
                        &t.child_path("stage"),
                        "missing (required with `starts = \"stage_entered\"`): the id of the pipeline stage whose entering starts the clock",
                    );
                }
                None
            }
        },
        _ => {
            ctx.problem(at, &path, format!("unknown start `{starts}` (expected one of: {})", STARTS.join(", ")));
            None
        }
    }
}

/// `met_by`, which must be able to stop a clock with this start.
fn read_met_by(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, starts: Option<&ClockStart>) -> Option<MetBy> {
    let path = t.child_path("met_by");
    let Some((m, at)) = t.str(ctx, "met_by") else {
        return match starts {
            // A follow-up is met by the next touch, and by nothing else.
            Some(ClockStart::LastTouch) => Some(MetBy::Touched),
            _ if t.get("met_by").is_some() => None,
            _ => {
                let names: Vec<&str> = MetBy::ALL.iter().map(|m| m.as_str()).collect();
                ctx.problem(
                    t.span.start,
                    &path,
                    format!("missing (required): what stops the clock, one of {}", names.join(", ")),
                );
                None
            }
        };
    };
    let Some(met_by) = MetBy::parse(&m) else {
        let names: Vec<&str> = MetBy::ALL.iter().map(|m| m.as_str()).collect();
        ctx.problem(at, &path, format!("unknown `{m}` (expected one of: {})", names.join(", ")));
        return None;
    };
    match (starts, met_by) {
        (Some(ClockStart::LastTouch), MetBy::Touched) => Some(met_by),
        (Some(ClockStart::LastTouch), _) => {
            ctx.problem(
                at,
                &path,
                "a follow-up (`starts = \"last_touch\"`) is met by the next touch: `met_by` can only be \"touched\" (or left out)",
            );
            None
        }
        (Some(ClockStart::StageEntered(_)), MetBy::StageLeft) => Some(met_by),
        (Some(_), MetBy::StageLeft) => {
            ctx.problem(
                at,
                &path,
                "`stage_left` only stops a clock that starts at `stage_entered`: the stage left is the one entered",
            );
            None
        }
        _ => Some(met_by),
    }
}

/// The units of a duration, in the order they are written.
const UNITS: [char; 3] = ['d', 'h', 'm'];
const MAX_DAYS: i64 = 366;
const DURATION_FORM: &str = "whole days, hours and minutes such as \"4h\", \"90m\", \"1h30m\" or \"2d\"";

/// Days, hours and minutes of `2d`, `4h`, `90m`, `1h30m`: each unit at most once, in order.
fn duration_parts(text: &str) -> Option<[i64; 3]> {
    let mut parts = [0i64; 3];
    let mut rest = text.trim();
    let mut next_unit = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // Nine digits are far more than a year in any unit, and keep the total from overflowing.
        if digits == 0 || digits > 9 {
            return None;
        }
        let (number, after) = rest.split_at(digits);
        let unit = UNITS.iter().position(|&u| after.starts_with(u)).filter(|&u| u >= next_unit)?;
        parts[unit] = number.parse().ok()?;
        next_unit = unit + 1;
        rest = &after[1..];
    }
    Some(parts)
}

/// A duration on `clock` (none when the clock was not valid: what the text means depends on
/// it).
fn read_duration(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str, clock: Option<Clock>) -> Option<SlaDuration> {
    let v = t.get(key)?;
    let (at, path) = (v.span().start, t.child_path(key));
    let DeValue::String(text) = v.get_ref() else {
        ctx.problem(
            at,
            &path,
            format!("expected a duration as a string of {DURATION_FORM}, found {}", v.get_ref().type_str()),
        );
        return None;
    };
    let Some([days, hours, minutes]) = duration_parts(text) else {
        ctx.problem(at, &path, format!("`{text}` is not a duration (expected {DURATION_FORM})"));
        return None;
    };
    let total_minutes = days * MINUTES_PER_DAY + hours * MINUTES_PER_HOUR + minutes;
    if total_minutes > MAX_DAYS * MINUTES_PER_DAY {
        ctx.problem(at, &path, format!("`{text}` is more than a year ({MAX_DAYS} days)"));
        return None;
    }
    let ms = total_minutes * MILLIS_PER_MINUTE;
    match clock? {
        Clock::Calendar => Some(SlaDuration::Elapsed(ms)),
        Clock::Working if days > 0 && hours + minutes > 0 => {
            ctx.problem(
                at,
                &path,
                format!(
                    "`{text}` mixes working days and working hours, which do not add up (a working day is as long as the owner's hours make it): give days alone, or hours and minutes"
                ),
            );
            None
        }
        Clock::Working if days > 0 => Some(SlaDuration::WorkingDays(days as u32)),
        Clock::Working => Some(SlaDuration::WorkingTime(ms)),
    }
}

/// `clock`: what a duration counts, the owner's working time by default.
fn read_clock(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Clock> {
    match t.str(ctx, "clock") {
        None if t.get("clock").is_none() => Some(Clock::Working),
        None => None,
        Some((c, at)) => {
            let clock = Clock::parse(&c);
            if clock.is_none() {
                ctx.problem(at, &t.child_path("clock"), format!("unknown clock `{c}` (expected working or calendar)"));
            }
            clock
        }
    }
}

/// A duration under `key` on the clock under `clock` ("working" by default) of the same table:
/// what a pipeline stage's task reads its `due` as. `None` when either had a problem, or the
/// duration is missing (reported as `missing`).
pub(crate) fn read_clocked_duration(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    key: &str,
    missing: &str,
) -> Option<SlaDuration> {
    let clock = read_clock(ctx, t);
    if t.get(key).is_none() {
        ctx.problem(t.span.start, &t.child_path(key), missing);
        return None;
    }
    read_duration(ctx, t, key, clock)
}

/// `[[rules.escalate]]`; `None` when some step had a problem.
fn read_escalate(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, clock: Option<Clock>) -> Option<Vec<EscalationStep>> {
    let Some(tables) = t.tables(ctx, "escalate") else {
        return if t.get("escalate").is_some() { None } else { Some(Vec::new()) };
    };
    if tables.is_empty() {
        ctx.problem(place(t, "escalate"), &t.child_path("escalate"), "no steps: leave `escalate` out for none");
    }
    let mut steps: Vec<EscalationStep> = Vec::new();
    let mut complete = true;
    for s in tables {
        s.check_keys(ctx, &["after", "action"]);
        let after = read_duration(ctx, &s, "after", clock);
        if s.get("after").is_none() {
            ctx.problem(
                s.span.start,
                &s.child_path("after"),
                "missing (required): how long after the deadline, such as \"0m\" for at once",
            );
        }
        let action = s.required_str(ctx, "action").and_then(|(a, at)| {
            let action = EscalationAction::parse(&a);
            if action.is_none() {
                let names: Vec<&str> = EscalationAction::ALL.iter().map(|a| a.as_str()).collect();
                ctx.problem(
                    at,
                    &s.child_path("action"),
                    format!("unknown action `{a}` (expected one of: {})", names.join(", ")),
                );
            }
            action
        });
        match (after, action) {
            (Some(after), Some(action)) => {
                let step = EscalationStep { after, action };
                if steps.contains(&step) {
                    ctx.problem(
                        place(&s, "action"),
                        &s.path,
                        format!("the same step twice: {} after {after}", action.as_str()),
                    );
                }
                steps.push(step);
            }
            _ => complete = false,
        }
    }
    complete.then_some(steps)
}

/// `[rules.applies_to]`; `None` when it had a problem.
fn read_applies_to(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<AppliesTo> {
    t.check_keys(ctx, &["pipelines", "when"]);
    let problems_before = ctx.problems.len();
    let pipelines = listed(ctx, t, "pipelines").map(|names| {
        if names.is_empty() {
            ctx.problem(
                place(t, "pipelines"),
                &t.child_path("pipelines"),
                "no pipelines: leave `pipelines` out for leads in any",
            );
        }
        let mut out: Vec<String> = Vec::new();
        for l in names {
            if !is_identifier(&l.text) {
                ctx.problem(l.at, &l.path, format!("not a pipeline name: {IDENTIFIER}"));
            } else if out.contains(&l.text) {
                ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text));
            } else {
                out.push(l.text);
            }
        }
        out
    });
    let when = t.tables(ctx, "when").map(|tables| {
        if tables.is_empty() {
            ctx.problem(place(t, "when"), &t.child_path("when"), "an empty `when` holds for every lead: leave it out");
        }
        let allowed: Vec<&str> = ["field"].into_iter().chain(CONDITION_KEYS).collect();
        let mut conditions = Vec::new();
        for c in tables {
            c.check_keys(ctx, &allowed);
            let field = c.required_str(ctx, "field").and_then(|(f, at)| field_ref(ctx, at, &c.child_path("field"), &f));
            if let (Some(field), Some(condition)) = (field, read_condition(ctx, &c)) {
                conditions.push(RoutingCondition { field, condition });
            }
        }
        conditions
    });
    (ctx.problems.len() == problems_before).then(|| AppliesTo { pipelines, when: when.unwrap_or_default() })
}

fn check_ids(ctx: &mut Ctx<'_>, rules: &[ReadRule]) {
    let mut first_with_id: HashMap<&str, &ReadRule> = HashMap::new();
    for r in rules {
        let Some(id) = r.id.as_deref() else { continue };
        match first_with_id.get(id) {
            Some(first) => {
                ctx.problem(r.at, &format!("{}.id", r.path), format!("duplicate rule id `{id}` (also {})", first.path))
            }
            None => {
                first_with_id.insert(id, r);
            }
        }
    }
}
