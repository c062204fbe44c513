//! Reading an assignment file (TOML) into validated [`AssignmentRules`], reporting every problem
//! with its place in the file.
//!
//! The walk is the model's and the pipeline's (`crate::model::parse`): toml's span-carrying
//! tables read by hand, so that a sales manager fixing the rules sees all their problems at
//! once, each with a line. `when` is read by the model's condition reader, so it is written as a
//! pipeline's routing `when` is and means the same.

use std::collections::HashMap;
use std::fmt;

use toml::de::DeValue;

use super::assignment::{AssignOn, AssignmentRules, Rule, Strategy};
use super::user::{TeamName, UserName};
use crate::lead::is_identifier;
use crate::model::ModelProblem;
use crate::model::parse::{CONDITION_KEYS, Ctx, IDENTIFIER, Table, field_ref, file_error, read_condition, read_file};
use crate::pipeline::RoutingCondition;

/// One thing wrong with an assignment file, and where: placed and worded as a model's problems are.
pub type AssignmentProblem = ModelProblem;

file_error!(
    /// A rejected assignment file: every problem found, in file order.
    AssignmentError,
    "the assignment rules have"
);

impl AssignmentRules {
    /// Parses and validates an assignment file. User and team names are checked to be names,
    /// not to be users: see [`AssignmentRules::unknown_names`].
    pub fn parse(source: &str) -> Result<AssignmentRules, AssignmentError> {
        read_file(source, read_file_rules).map_err(|problems| AssignmentError { problems })
    }
}

fn read_file_rules(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> AssignmentRules {
    root.check_keys(ctx, &["name", "description", "rules"]);
    let name = root.file_name(ctx);
    let description = root.str(ctx, "description").map(|(d, _)| d);
    let rule_tables = root.required_tables(
        ctx,
        "rules",
        "the rules, as [[rules]] tables in the order they are tried",
        "no rules: an assignment file needs at least one",
    );
    let read: Vec<ReadRule> = rule_tables.iter().map(|t| read_rule(ctx, t)).collect();
    check_rules(ctx, &read);
    AssignmentRules { name, description, rules: read.into_iter().map(|r| r.rule).collect() }
}

/// A rule as read, with what the checks across rules need.
struct ReadRule {
    rule: Rule,
    /// Whether its id was valid: only such ids are compared.
    id_ok: bool,
    /// Whether `on` was valid: only then does the rule shadow or get shadowed.
    on_ok: bool,
    /// Whether it gives `when`, `pipeline` or `score_at_least`, valid or not: a rule whose
    /// condition has a problem is not taken for one without conditions.
    conditional: bool,
    /// Where its id is (the rule's start when it has none).
    at: usize,
    path: String,
}

const RULE_KEYS: [&str; 9] =
    ["id", "on", "when", "pipeline", "score_at_least", "strategy", "users", "teams", "fallback_owner"];

fn read_rule(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> ReadRule {
    t.check_keys(ctx, &RULE_KEYS);
    let (id, id_ok) = match t.required_str(ctx, "id") {
        Some((id, at)) if !is_identifier(&id) => {
            ctx.problem(at, &t.child_path("id"), IDENTIFIER);
            (id, false)
        }
        Some((id, _)) => (id, true),
        None => (String::new(), false),
    };
    let on = match t.str(ctx, "on") {
        Some((on, at)) => {
            let parsed = AssignOn::parse(&on);
            if parsed.is_none() {
                ctx.problem(at, &t.child_path("on"), format!("unknown `{on}` (expected created, mql or any)"));
            }
            parsed
        }
        None => {
            if t.get("on").is_none() {
                ctx.problem(
                    t.span.start,
                    &t.child_path("on"),
                    "missing (required): when the rule applies: \"created\" (a new lead), \"mql\" (a lead that became marketing-qualified) or \"any\"",
                );
            }
            None
        }
    };
    let when = read_when(ctx, t);
    let pipeline = t.str(ctx, "pipeline").map(|(p, at)| {
        if !is_identifier(&p) {
            ctx.problem(at, &t.child_path("pipeline"), format!("{IDENTIFIER} (a pipeline's name)"));
        }
        p
    });
    let score_at_least = t.number(ctx, "score_at_least").map(|(s, _)| s);
    let strategy = read_strategy(ctx, t);
    let users: Vec<UserName> = read_names(ctx, t, "users", UserName::parse);
    let teams: Vec<TeamName> = read_names(ctx, t, "teams", TeamName::parse);
    check_pool(ctx, t, strategy);
    let fallback_owner = t.str(ctx, "fallback_owner").and_then(|(n, at)| match UserName::parse(&n) {
        Ok(name) => Some(name),
        Err(e) => {
            ctx.problem(at, &t.child_path("fallback_owner"), e.to_string());
            None
        }
    });
    let rule = Rule {
        id,
        on: on.unwrap_or(AssignOn::Any),
        when,
        pipeline,
        score_at_least,
        strategy: strategy.unwrap_or_default(),
        users,
        teams,
        fallback_owner,
    };
    ReadRule {
        rule,
        id_ok,
        on_ok: on.is_some(),
        conditional: ["when", "pipeline", "score_at_least"].iter().any(|k| t.get(k).is_some()),
        at: t.get("id").map_or(t.span.start, |v| v.span().start),
        path: t.path.clone(),
    }
}

/// The rule's profile conditions, as a pipeline's routing reads them.
fn read_when(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Vec<RoutingCondition> {
    let Some(tables) = t.tables(ctx, "when") else { return Vec::new() };
    if tables.is_empty() {
        let at = t.get("when").map_or(t.span.start, |v| v.span().start);
        ctx.problem(
            at,
            &t.child_path("when"),
            "an empty `when` has no conditions: leave it out for a rule without any",
        );
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
}

/// `None` when `strategy` was given and is not one: checks that depend on it are skipped.
fn read_strategy(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Strategy> {
    let Some((s, at)) = t.str(ctx, "strategy") else {
        return t.get("strategy").is_none().then_some(Strategy::default());
    };
    let strategy = Strategy::parse(&s);
    if strategy.is_none() {
        let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        ctx.problem(
            at,
            &t.child_path("strategy"),
            format!("unknown strategy `{s}` (expected one of: {})", names.join(", ")),
        );
    }
    strategy
}

/// A list of names (a single string is a list of one, as in models), each checked by `parse`
/// and given once.
fn read_names<N: PartialEq + fmt::Display, E: fmt::Display>(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    key: &str,
    parse: impl Fn(&str) -> Result<N, E>,
) -> Vec<N> {
    let Some(v) = t.get(key) else { return Vec::new() };
    let path = t.child_path(key);
    let items: Vec<(String, usize, String)> = match v.get_ref() {
        DeValue::String(s) => vec![(s.to_string(), v.span().start, path)],
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let path = format!("{path}[{i}]");
                match item.get_ref() {
                    DeValue::String(s) => Some((s.to_string(), item.span().start, path)),
                    other => {
                        ctx.problem(item.span().start, &path, format!("expected a string, found {}", other.type_str()));
                        None
                    }
                }
            })
            .collect(),
        other => {
            ctx.problem(v.span().start, &path, format!("expected a list of strings, found {}", other.type_str()));
            return Vec::new();
        }
    };
    let mut names: Vec<N> = Vec::new();
    for (text, at, path) in items {
        match parse(&text) {
            Err(e) => ctx.problem(at, &path, e.to_string()),
            Ok(name) if names.contains(&name) => ctx.problem(at, &path, format!("`{name}` is listed twice")),
            Ok(name) => names.push(name),
        }
    }
    names
}

/// A rule needs someone to give leads to; `fixed` needs exactly one user.
fn check_pool(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, strategy: Option<Strategy>) {
    let given = |key: &str| t.get(key).map(|v| (v, list_len(v.get_ref())));
    let (users, teams) = (given("users"), given("teams"));
    if strategy == Some(Strategy::Fixed) {
        if let Some((v, _)) = teams {
            ctx.problem(
                v.span().start,
                &t.child_path("teams"),
                "a `fixed` rule gives every lead to one user: name them in `users`, without `teams`",
            );
        }
        match users {
            None => ctx.problem(
                t.span.start,
                &t.child_path("users"),
                "missing: a `fixed` rule gives every lead to the one user `users` names",
            ),
            Some((v, len)) if len != 1 => ctx.problem(
                v.span().start,
                &t.child_path("users"),
                format!("a `fixed` rule gives every lead to one user: list exactly one (this lists {len}), or use another strategy to share them"),
            ),
            Some(_) => {}
        }
        return;
    }
    match (users, teams) {
        (None, None) => ctx.problem(
            t.span.start,
            &t.child_path("users"),
            "no one to assign to: give `users`, `teams` or both (the rule's candidates)",
        ),
        (Some((v, 0)), None | Some((_, 0))) => {
            ctx.problem(v.span().start, &t.child_path("users"), "no one to assign to: the rule's candidates are empty")
        }
        (None, Some((v, 0))) => {
            ctx.problem(v.span().start, &t.child_path("teams"), "no one to assign to: the rule's candidates are empty")
        }
        _ => {}
    }
}

/// How many items a list has (a string is a list of one; other values were reported).
fn list_len(value: &DeValue<'_>) -> usize {
    match value {
        DeValue::Array(items) => items.len(),
        _ => 1,
    }
}

/// The checks across rules: unique ids, and no rule that an earlier one keeps from matching.
fn check_rules(ctx: &mut Ctx<'_>, rules: &[ReadRule]) {
    let mut first_with_id: HashMap<&str, &ReadRule> = HashMap::new();
    for r in rules.iter().filter(|r| r.id_ok) {
        match first_with_id.get(r.rule.id()) {
            Some(first) => ctx.problem(
                r.at,
                &format!("{}.id", r.path),
                format!("duplicate rule id `{}` (also {}): cursors are kept by rule id", r.rule.id(), first.path),
            ),
            None => {
                first_with_id.insert(r.rule.id(), r);
            }
        }
    }
    for (i, r) in rules.iter().enumerate().filter(|(_, r)| r.on_ok) {
        let shadow = rules[..i].iter().find(|e| e.on_ok && !e.conditional && e.rule.on().includes(r.rule.on()));
        if let Some(earlier) = shadow {
            ctx.problem(
                r.at,
                &format!("{}.id", r.path),
                format!(
                    "never matches: {} comes first, with no conditions, and takes every lead on `{}`; move this rule above it",
                    earlier.path,
                    earlier.rule.on().as_str()
                ),
            );
        }
    }
}
