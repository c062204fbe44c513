//! Reading a model file (TOML) into a validated [`Model`], reporting every problem with its
//! place in the file.
//!
//! We walk toml's span-carrying document by hand rather than deriving `Deserialize`: serde stops
//! at the first error, while a marketer fixing a model wants all of them, each with a line.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::*;
use crate::lead::{Field, is_identifier};

/// One thing wrong with a model file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelProblem {
    /// 1-based line and column of the offending key or value.
    pub line: usize,
    pub column: usize,
    /// Dotted path of the offending item, e.g. `fit.rules[2].field`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ModelProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
        } else {
            write!(f, "line {}, column {}: {}: {}", self.line, self.column, self.path, self.message)
        }
    }
}

/// An error type for a rejected rule file: every problem found, in file order, shown under a
/// line that names the file (`the pipeline has 2 problems:`).
macro_rules! file_error {
    ($(#[$doc:meta])* $name:ident, $has:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
        pub struct $name {
            pub problems: Vec<$crate::model::ModelProblem>,
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let n = self.problems.len();
                writeln!(f, concat!($has, " {} problem{}:"), n, if n == 1 { "" } else { "s" })?;
                for p in &self.problems {
                    writeln!(f, "  {p}")?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use file_error;

file_error!(
    /// A rejected model file: every problem found, in file order.
    ModelError,
    "the model has"
);

/// Reads a rule file (a model, a pipeline, assignment rules, an SLA policy): its TOML with every
/// value's place, walked by `read`, which reports what is wrong through the context and goes on
/// past it to find the rest. What `read` built when nothing was reported, else every problem in
/// file order. Of syntax errors only the first is reported: the parser's recovery after it
/// reports its echoes (one unclosed `[table` gave ten), not mistakes of their own.
pub(crate) fn read_file<T>(
    source: &str,
    read: impl FnOnce(&mut Ctx<'_>, &Table<'_, '_>) -> T,
) -> Result<T, Vec<ModelProblem>> {
    let mut ctx = Ctx { source, problems: Vec::new() };
    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    if let Some(e) = syntax_errors.first() {
        let at = e.span().map_or(0, |s| s.start);
        ctx.problem(at, "", format!("TOML syntax: {}", e.message().trim()));
        return Err(ctx.into_problems());
    }
    let root = Table { table: doc.get_ref(), span: doc.span(), path: String::new() };
    let built = read(&mut ctx, &root);
    if ctx.problems.is_empty() { Ok(built) } else { Err(ctx.into_problems()) }
}

impl Model {
    /// Parses and validates a model file.
    pub fn parse(source: &str) -> Result<Model, ModelError> {
        let model = read_file(source, read_model).map_err(|problems| ModelError { problems })?;
        Ok(model.expect("a model is built whenever no problem was reported"))
    }
}

pub(crate) struct Ctx<'s> {
    pub(crate) source: &'s str,
    pub(crate) problems: Vec<ModelProblem>,
}

impl Ctx<'_> {
    pub(crate) fn problem(&mut self, at: usize, path: &str, message: impl Into<String>) {
        let at = at.min(self.source.len());
        let before = &self.source[..at];
        let line = before.matches('\n').count() + 1;
        let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
        self.problems.push(ModelProblem { line, column, path: path.to_string(), message: message.into() });
    }

    fn into_problems(mut self) -> Vec<ModelProblem> {
        self.problems.sort_by_key(|p| (p.line, p.column));
        self.problems
    }
}

pub(crate) struct Table<'a, 'i> {
    pub(crate) table: &'a DeTable<'i>,
    pub(crate) span: Range<usize>,
    pub(crate) path: String,
}

pub(crate) type Value<'a, 'i> = &'a Spanned<DeValue<'i>>;

impl<'a, 'i> Table<'a, 'i> {
    /// A rule file's `name`: required, an identifier (reported, and kept as given, when not).
    pub(crate) fn file_name(&self, ctx: &mut Ctx<'_>) -> String {
        match self.required_str(ctx, "name") {
            Some((n, at)) if !is_identifier(&n) => {
                ctx.problem(at, "name", IDENTIFIER);
                n
            }
            Some((n, _)) => n,
            None => String::new(),
        }
    }

    /// The array of tables under `key`, which must have at least one: `missing` says what they
    /// are when the key is absent, `empty` when the array is.
    pub(crate) fn required_tables(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        missing: &str,
        empty: &str,
    ) -> Vec<Table<'a, 'i>> {
        match self.tables(ctx, key) {
            Some(tables) => {
                if tables.is_empty() {
                    ctx.problem(self.get(key).map_or(self.span.start, |v| v.span().start), key, empty);
                }
                tables
            }
            None => {
                if self.get(key).is_none() {
                    ctx.problem(self.span.start, key, format!("missing (required): {missing}"));
                }
                Vec::new()
            }
        }
    }

    pub(crate) fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Value<'a, 'i>> {
        self.table.get(key)
    }

    /// Reports keys that are not in `allowed`, so that a typo never silently does nothing.
    pub(crate) fn check_keys(&self, ctx: &mut Ctx<'_>, allowed: &[&str]) {
        for (k, _) in self.table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                ctx.problem(
                    k.span().start,
                    &self.child_path(k.get_ref()),
                    format!("unknown key (expected one of: {})", allowed.join(", ")),
                );
            }
        }
    }

    pub(crate) fn str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(String, usize)> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span().start)),
            other => {
                ctx.problem(
                    v.span().start,
                    &self.child_path(key),
                    format!("expected a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn required_str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(String, usize)> {
        if self.get(key).is_none() {
            ctx.problem(self.span.start, &self.child_path(key), "missing (required)");
            return None;
        }
        self.str(ctx, key)
    }

    pub(crate) fn number(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(f64, usize)> {
        let v = self.get(key)?;
        let at = v.span().start;
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok().map(|n| n as f64),
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok().filter(|x| x.is_finite()),
            other => {
                ctx.problem(at, &self.child_path(key), format!("expected a number, found {}", other.type_str()));
                return None;
            }
        };
        if parsed.is_none() {
            ctx.problem(at, &self.child_path(key), "expected a finite number");
        }
        parsed.map(|x| (x, at))
    }

    fn required_number(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(f64, usize)> {
        if self.get(key).is_none() {
            ctx.problem(self.span.start, &self.child_path(key), "missing (required)");
            return None;
        }
        self.number(ctx, key)
    }

    pub(crate) fn whole_number(&self, ctx: &mut Ctx<'_>, key: &str, min: u32) -> Option<(u32, usize)> {
        let (x, at) = self.number(ctx, key)?;
        if x.fract() != 0.0 || x < f64::from(min) || x > f64::from(u32::MAX) {
            ctx.problem(at, &self.child_path(key), format!("expected a whole number of at least {min}"));
            return None;
        }
        Some((x as u32, at))
    }

    pub(crate) fn bool(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(bool, usize)> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some((*b, v.span().start)),
            other => {
                ctx.problem(
                    v.span().start,
                    &self.child_path(key),
                    format!("expected true or false, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    fn strings(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<(Vec<String>, usize)> {
        let v = self.get(key)?;
        let at = v.span().start;
        match v.get_ref() {
            DeValue::String(s) => Some((vec![s.to_string()], at)),
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => ctx.problem(
                            item.span().start,
                            &format!("{}[{i}]", self.child_path(key)),
                            format!("expected a string, found {}", other.type_str()),
                        ),
                    }
                }
                Some((out, at))
            }
            other => {
                ctx.problem(
                    at,
                    &self.child_path(key),
                    format!("expected a list of strings, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn table(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Table<'a, 'i>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Table { table: t, span: v.span(), path: self.child_path(key) }),
            other => {
                ctx.problem(
                    v.span().start,
                    &self.child_path(key),
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// An array of tables (`[[fit.rules]]` or `rules = [{...}]`).
    pub(crate) fn tables(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Vec<Table<'a, 'i>>> {
        let v = self.get(key)?;
        let path = self.child_path(key);
        match v.get_ref() {
            DeValue::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| match item.get_ref() {
                        DeValue::Table(t) => Some(Table { table: t, span: item.span(), path: format!("{path}[{i}]") }),
                        other => {
                            ctx.problem(
                                item.span().start,
                                &format!("{path}[{i}]"),
                                format!("expected a table, found {}", other.type_str()),
                            );
                            None
                        }
                    })
                    .collect(),
            ),
            other => {
                ctx.problem(v.span().start, &path, format!("expected an array of tables, found {}", other.type_str()));
                None
            }
        }
    }
}

fn read_model(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Option<Model> {
    root.check_keys(
        ctx,
        &["name", "description", "trained_on", "fit", "engagement", "total", "buckets", "grades", "mql"],
    );
    let name = root.required_str(ctx, "name").and_then(|(n, at)| {
        if n.trim().is_empty() {
            ctx.problem(at, "name", "must not be empty");
            None
        } else {
            Some(n.trim().to_string())
        }
    });
    let description = root.str(ctx, "description").map(|(d, _)| d);
    let trained_on = match root.str(ctx, "trained_on") {
        None => Some(crate::LeadIds::default()),
        Some((ids, at)) => match crate::LeadIds::parse(&ids) {
            Ok(ids) => Some(ids),
            Err(e) => {
                ctx.problem(at, "trained_on", e.to_string());
                None
            }
        },
    };

    let mut rule_ids = RuleIds::default();
    let total = read_total(ctx, root);
    let fit = match root.table(ctx, "fit") {
        Some(t) => read_fit(ctx, &t, &mut rule_ids, total),
        None => {
            if root.get("fit").is_none() {
                ctx.problem(root.span.start, "fit", "missing (required): the fit score's bounds and rules");
            }
            None
        }
    };
    let engagement = match root.table(ctx, "engagement") {
        Some(t) => read_engagement(ctx, &t, &mut rule_ids),
        None => {
            if root.get("engagement").is_none() {
                ctx.problem(root.span.start, "engagement", "missing (required): the engagement score's rules");
            }
            None
        }
    };
    let buckets = read_buckets(ctx, root, total);
    let grades = read_grades(ctx, root, fit.as_ref().map(|f| f.bounds));
    let mql = root.table(ctx, "mql").and_then(|t| read_mql(ctx, &t, total, grades.as_deref()));

    Some(Model {
        name: name?,
        description,
        fit: fit?,
        engagement: engagement?,
        total: total?,
        buckets: buckets?,
        grades: grades?,
        mql,
        trained_on: trained_on?,
    })
}

#[derive(Default)]
struct RuleIds(HashSet<String>);

impl RuleIds {
    fn read(&mut self, ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<String> {
        let (id, at) = t.required_str(ctx, "id")?;
        if !is_identifier(&id) {
            ctx.problem(at, &t.child_path("id"), "expected 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`");
            return None;
        }
        if !self.0.insert(id.clone()) {
            ctx.problem(
                at,
                &t.child_path("id"),
                format!("duplicate rule id `{id}` (ids must be unique across the model)"),
            );
            return None;
        }
        Some(id)
    }
}

fn read_bounds(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, required: bool) -> Option<Bounds> {
    let (min, max) = if required {
        (t.required_number(ctx, "min"), t.required_number(ctx, "max"))
    } else {
        (t.number(ctx, "min"), t.number(ctx, "max"))
    };
    let lo = min.map_or(f64::NEG_INFINITY, |(x, _)| x);
    let hi = max.map_or(f64::INFINITY, |(x, _)| x);
    if required && (min.is_none() || max.is_none()) {
        return None;
    }
    if lo >= hi {
        let at = min.or(max).map_or(t.span.start, |(_, at)| at);
        ctx.problem(at, &t.child_path("min"), format!("min ({lo}) must be below max ({hi})"));
        return None;
    }
    Some(Bounds { min: lo, max: hi })
}

fn read_total(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Option<Bounds> {
    match root.table(ctx, "total") {
        Some(t) => {
            t.check_keys(ctx, &["min", "max"]);
            read_bounds(ctx, &t, true)
        }
        None if root.get("total").is_none() => Some(Bounds { min: 0.0, max: 100.0 }),
        None => None,
    }
}

fn read_points(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<f64> {
    t.required_number(ctx, "points").map(|(p, _)| p)
}

/// What a name in a file must be, for problems to say.
pub(crate) const IDENTIFIER: &str = "expected 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`";

/// A string of a list, with its place.
pub(crate) struct Listed {
    pub(crate) text: String,
    pub(crate) at: usize,
    pub(crate) path: String,
}

/// A list of strings, each with its place; a single string is a list of one (as in models).
pub(crate) fn listed(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Option<Vec<Listed>> {
    let v = t.get(key)?;
    let path = t.child_path(key);
    match v.get_ref() {
        DeValue::String(s) => Some(vec![Listed { text: s.to_string(), at: v.span().start, path }]),
        DeValue::Array(items) => Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let path = format!("{path}[{i}]");
                    match item.get_ref() {
                        DeValue::String(s) => Some(Listed { text: s.to_string(), at: item.span().start, path }),
                        other => {
                            ctx.problem(
                                item.span().start,
                                &path,
                                format!("expected a string, found {}", other.type_str()),
                            );
                            None
                        }
                    }
                })
                .collect(),
        ),
        other => {
            ctx.problem(v.span().start, &path, format!("expected a list of strings, found {}", other.type_str()));
            None
        }
    }
}

/// A list of reasons as a file gives it: each trimmed, none blank, none twice (ignoring case),
/// in the file's order; what is wrong is reported at its place.
pub(crate) fn distinct_reasons(ctx: &mut Ctx<'_>, reasons: Vec<Listed>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in reasons {
        let reason = l.text.trim();
        if reason.is_empty() {
            ctx.problem(l.at, &l.path, "must not be empty");
        } else if out.iter().any(|r| r.to_lowercase() == reason.to_lowercase()) {
            ctx.problem(l.at, &l.path, format!("`{reason}` is listed twice"));
        } else {
            out.push(reason.to_string());
        }
    }
    out
}

/// The field `name` names, or a problem listing the names there are.
pub(crate) fn field_ref(ctx: &mut Ctx<'_>, at: usize, path: &str, name: &str) -> Option<FieldRef> {
    let parsed = FieldRef::parse(name);
    if parsed.is_none() {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
        ctx.problem(
            at,
            path,
            format!("unknown field `{name}` (expected one of: {}, or custom.<name>)", names.join(", ")),
        );
    }
    parsed
}

pub(crate) const CONDITION_KEYS: [&str; 6] = ["op", "value", "values", "min", "max", "not"];
const OPS: &str = "equals, in, contains_phrase, contains, between, exists";

/// Reads `op` with its operands (`value`/`values`, or `min`/`max`) and `not`.
pub(crate) fn read_condition(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Condition> {
    let (op, op_at) = t.required_str(ctx, "op")?;
    let negate = t.bool(ctx, "not").is_some_and(|(b, _)| b);
    let operands = |ctx: &mut Ctx<'_>| -> Option<Vec<String>> {
        let single = t.get("value").is_some();
        let many = t.get("values").is_some();
        match (single, many) {
            (true, true) => {
                ctx.problem(op_at, &t.path, "give either `value` or `values`, not both");
                None
            }
            (false, false) => {
                ctx.problem(op_at, &t.path, format!("op `{op}` needs `value` or `values`"));
                None
            }
            _ => {
                let key = if single { "value" } else { "values" };
                let (vals, at) = t.strings(ctx, key)?;
                if vals.is_empty() || vals.iter().any(|v| v.is_empty()) {
                    ctx.problem(at, &t.child_path(key), "values must be non-empty strings");
                    return None;
                }
                Some(vals)
            }
        }
    };
    let forbid = |ctx: &mut Ctx<'_>, keys: &[&str]| {
        for k in keys {
            if let Some(v) = t.get(k) {
                ctx.problem(v.span().start, &t.child_path(k), format!("not used by op `{op}`"));
            }
        }
    };
    let lower = |vals: Vec<String>| vals.into_iter().map(|v| v.to_lowercase()).collect();
    let test = match op.as_str() {
        "equals" | "in" => {
            forbid(ctx, &["min", "max"]);
            Test::In(lower(operands(ctx)?))
        }
        "contains_phrase" => {
            forbid(ctx, &["min", "max"]);
            Test::ContainsPhrase(lower(operands(ctx)?))
        }
        "contains" => {
            forbid(ctx, &["min", "max"]);
            Test::Contains(operands(ctx)?)
        }
        "between" => {
            forbid(ctx, &["value", "values"]);
            let min = t.number(ctx, "min");
            let max = t.number(ctx, "max");
            match (min, max) {
                (None, None) => {
                    ctx.problem(op_at, &t.path, "op `between` needs `min`, `max` or both");
                    return None;
                }
                (Some((lo, at)), Some((hi, _))) if lo > hi => {
                    ctx.problem(at, &t.child_path("min"), format!("min ({lo}) is above max ({hi})"));
                    return None;
                }
                _ => Test::Between { min: min.map(|(x, _)| x), max: max.map(|(x, _)| x) },
            }
        }
        "exists" => {
            forbid(ctx, &["value", "values", "min", "max"]);
            Test::Exists
        }
        _ => {
            ctx.problem(op_at, &t.child_path("op"), format!("unknown operator `{op}` (expected one of: {OPS})"));
            return None;
        }
    };
    Some(Condition { test, negate })
}

fn read_fit(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, ids: &mut RuleIds, total: Option<Bounds>) -> Option<FitSection> {
    t.check_keys(ctx, &["min", "max", "rules"]);
    let bounds = read_bounds(ctx, t, true);
    let mut rules = Vec::new();
    let mut ok = true;
    for r in t.tables(ctx, "rules").unwrap_or_default() {
        let allowed: Vec<&str> = ["id", "field", "points"].into_iter().chain(CONDITION_KEYS).collect();
        r.check_keys(ctx, &allowed);
        let id = ids.read(ctx, &r);
        let field = r.required_str(ctx, "field").and_then(|(f, at)| {
            let parsed = FieldRef::parse(&f);
            if parsed.is_none() {
                let names: Vec<&str> = crate::lead::Field::ALL.iter().map(|f| f.name()).collect();
                ctx.problem(
                    at,
                    &r.child_path("field"),
                    format!("unknown field `{f}` (expected one of: {}, or custom.<name>)", names.join(", ")),
                );
            }
            parsed
        });
        let condition = read_condition(ctx, &r);
        let points = read_points(ctx, &r);
        match (id, field, condition, points) {
            (Some(id), Some(field), Some(condition), Some(points)) => {
                rules.push(FitRule { id, field, condition, points })
            }
            _ => ok = false,
        }
    }
    let bounds = bounds?;
    if let Some(total) = total {
        // Demographics never make up more than half of the total: the most fit can add.
        let positive: f64 = rules.iter().map(|r| r.points.max(0.0)).sum();
        let reachable = bounds.max.min(positive);
        let half = (total.max - total.min) / 2.0;
        if reachable > half + 1e-9 {
            let at = t.get("max").map_or(t.span.start, |v| v.span().start);
            ctx.problem(
                at,
                &t.child_path("max"),
                format!(
                    "fit can reach {reachable}, over half of the total's range ({half}): demographics may make up at most half of the score; lower fit.max or the fit points"
                ),
            );
        }
        // Nor may they take away more than half: a fit floor of -500 would zero any lead.
        let negative: f64 = rules.iter().map(|r| r.points.min(0.0)).sum();
        let lowest = bounds.min.max(negative);
        if -lowest > half + 1e-9 {
            let at = t.get("min").map_or(t.span.start, |v| v.span().start);
            ctx.problem(
                at,
                &t.child_path("min"),
                format!(
                    "fit can take away {}, over half of the total's range ({half}): demographics may make up at most half of the score either way; raise fit.min or the negative fit points",
                    -lowest
                ),
            );
        }
    }
    ok.then_some(FitSection { bounds, rules })
}

fn read_engagement(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, ids: &mut RuleIds) -> Option<EngagementSection> {
    t.check_keys(ctx, &["min", "max", "half_life_days", "rules", "inactivity"]);
    let bounds = read_bounds(ctx, t, false);
    let default_decay = read_half_life(ctx, t).unwrap_or(Decay::None);
    let mut ok = true;
    let rule_tables = t.tables(ctx, "rules").unwrap_or_default();
    if rule_tables.len() > MAX_ENGAGEMENT_RULES {
        ctx.problem(t.span.start, &t.child_path("rules"), format!("at most {MAX_ENGAGEMENT_RULES} engagement rules"));
        ok = false;
    }
    let mut rules = Vec::new();
    for r in rule_tables {
        r.check_keys(ctx, &["id", "event", "where", "points", "max_count", "per", "half_life_days", "decay"]);
        let id = ids.read(ctx, &r);
        let event = read_event_type(ctx, &r, "event", false).map(|e| e.expect("required"));
        let mut conditions = Some(Vec::new());
        for c in r.tables(ctx, "where").unwrap_or_default() {
            let allowed: Vec<&str> = ["property"].into_iter().chain(CONDITION_KEYS).collect();
            c.check_keys(ctx, &allowed);
            let property = c.required_str(ctx, "property").and_then(|(p, at)| {
                if is_identifier(&p) {
                    Some(p)
                } else {
                    ctx.problem(
                        at,
                        &c.child_path("property"),
                        "expected 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`",
                    );
                    None
                }
            });
            match (property, read_condition(ctx, &c)) {
                (Some(property), Some(condition)) => {
                    if let Some(cs) = conditions.as_mut() {
                        cs.push(PropertyCondition { property, condition });
                    }
                }
                _ => conditions = None,
            }
        }
        let points = read_points(ctx, &r);
        let cap = read_cap(ctx, &r);
        let decay = read_rule_decay(ctx, &r, default_decay);
        match (id, event, conditions, points, cap, decay) {
            (Some(id), Some(event), Some(conditions), Some(points), Some(cap), Some(decay)) => {
                rules.push(EngagementRule { id, event, conditions, points, cap, decay })
            }
            _ => ok = false,
        }
    }
    let inactivity_tables = t.tables(ctx, "inactivity").unwrap_or_default();
    if inactivity_tables.len() > MAX_INACTIVITY_RULES {
        ctx.problem(
            t.span.start,
            &t.child_path("inactivity"),
            format!("at most {MAX_INACTIVITY_RULES} inactivity rules"),
        );
        ok = false;
    }
    let mut inactivity = Vec::new();
    for r in inactivity_tables {
        r.check_keys(ctx, &["id", "event", "days", "points"]);
        let id = ids.read(ctx, &r);
        let event = read_event_type(ctx, &r, "event", true);
        let days = match r.get("days") {
            None => {
                ctx.problem(r.span.start, &r.child_path("days"), "missing (required)");
                None
            }
            Some(_) => r.whole_number(ctx, "days", 1).map(|(d, _)| d),
        };
        let points = r.required_number(ctx, "points").and_then(|(p, at)| {
            if p > 0.0 {
                ctx.problem(
                    at,
                    &r.child_path("points"),
                    "an inactivity rule is a penalty: points must be zero or negative",
                );
                None
            } else {
                Some(p)
            }
        });
        match (id, event, days, points) {
            (Some(id), Some(event), Some(days), Some(points)) => {
                inactivity.push(InactivityRule { id, event, days, points })
            }
            _ => ok = false,
        }
    }
    let bounds = bounds?;
    ok.then_some(EngagementSection { bounds, rules, inactivity })
}

/// Reads an event type; with `any_allowed`, `"any"` gives `Some(None)`.
fn read_event_type(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str, any_allowed: bool) -> Option<Option<EventType>> {
    let (s, at) = t.required_str(ctx, key)?;
    if any_allowed && s == "any" {
        return Some(None);
    }
    match EventType::parse(&s) {
        Ok(e) => Some(Some(e)),
        Err(e) => {
            ctx.problem(at, &t.child_path(key), e.to_string());
            None
        }
    }
}

fn read_half_life(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Decay> {
    let (h, at) = t.number(ctx, "half_life_days")?;
    if h <= 0.0 {
        ctx.problem(at, &t.child_path("half_life_days"), "must be above 0 (leave it out for no decay)");
        return None;
    }
    Some(Decay::HalfLifeDays(h))
}

fn read_rule_decay(ctx: &mut Ctx<'_>, r: &Table<'_, '_>, default: Decay) -> Option<Decay> {
    let disabled = r.bool(ctx, "decay");
    match (disabled, r.get("half_life_days")) {
        (Some((false, at)), Some(_)) => {
            ctx.problem(at, &r.child_path("decay"), "`decay = false` contradicts `half_life_days`");
            None
        }
        (Some((false, _)), None) => Some(Decay::None),
        (_, Some(_)) => read_half_life(ctx, r),
        (Some((true, at)), None) if default == Decay::None => {
            ctx.problem(at, &r.child_path("decay"), "`decay = true` needs `half_life_days` here or in [engagement]");
            None
        }
        _ => Some(default),
    }
}

fn read_cap(ctx: &mut Ctx<'_>, r: &Table<'_, '_>) -> Option<Cap> {
    let count = match r.get("max_count") {
        None => None,
        Some(_) => Some(r.whole_number(ctx, "max_count", 1)?.0),
    };
    let per = match r.str(ctx, "per") {
        None => None,
        Some((p, at)) => Some(match p.as_str() {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => {
                ctx.problem(at, &r.child_path("per"), format!("unknown period `{p}` (expected day, week or month)"));
                return None;
            }
        }),
    };
    match (count, per) {
        (None, None) => Some(Cap::EveryTime),
        (Some(n), None) => Some(Cap::MostRecent(n)),
        (Some(n), Some(p)) => Some(Cap::PerPeriod(n, p)),
        (None, Some(_)) => {
            let at = r.get("per").map_or(r.span.start, |v| v.span().start);
            ctx.problem(at, &r.child_path("per"), "`per` needs `max_count` (how many events per period count)");
            None
        }
    }
}

fn read_buckets(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, total: Option<Bounds>) -> Option<Vec<Bucket>> {
    let Some(tables) = root.tables(ctx, "buckets") else {
        if root.get("buckets").is_some() {
            return None;
        }
        return Some(vec![
            Bucket { name: "hot".into(), min: Some(80.0) },
            Bucket { name: "warm".into(), min: Some(30.0) },
            Bucket { name: "cold".into(), min: None },
        ]);
    };
    if !(3..=5).contains(&tables.len()) {
        let at = root.get("buckets").map_or(0, |v| v.span().start);
        ctx.problem(at, "buckets", format!("expected 3 to 5 buckets, found {}", tables.len()));
        return None;
    }
    let mut out: Vec<Bucket> = Vec::new();
    let mut ok = true;
    let last = tables.len() - 1;
    for (i, b) in tables.iter().enumerate() {
        b.check_keys(ctx, &["name", "min"]);
        let name = b.required_str(ctx, "name").and_then(|(n, at)| {
            if !is_identifier(&n) {
                ctx.problem(at, &b.child_path("name"), "expected 1-64 characters of A-Z, a-z, 0-9, `_`, `.`, `-`");
                None
            } else if out.iter().any(|o| o.name == n) {
                ctx.problem(at, &b.child_path("name"), format!("duplicate bucket `{n}`"));
                None
            } else {
                Some(n)
            }
        });
        let min = b.number(ctx, "min");
        let min = match (i == last, min) {
            (true, Some((_, at))) => {
                ctx.problem(
                    at,
                    &b.child_path("min"),
                    "the last bucket takes every score below the others: leave out its min",
                );
                ok = false;
                None
            }
            (false, None) => {
                ctx.problem(b.span.start, &b.child_path("min"), "missing (every bucket but the last needs a min)");
                ok = false;
                None
            }
            (_, m) => m,
        };
        if let (Some((m, at)), Some(prev)) = (min, out.last().and_then(|p| p.min))
            && m >= prev
        {
            ctx.problem(
                at,
                &b.child_path("min"),
                format!("buckets overlap: min {m} is not below the previous bucket's min {prev} (list buckets from hottest to coldest)"),
            );
            ok = false;
        }
        if let (Some((m, at)), Some(total)) = (min, total)
            && (m > total.max || m <= total.min)
        {
            ctx.problem(
                at,
                &b.child_path("min"),
                format!(
                    "min {m} is outside the total's range ({}, {}]: the bucket would always or never apply",
                    total.min, total.max
                ),
            );
            ok = false;
        }
        match name {
            Some(name) => out.push(Bucket { name, min: min.map(|(m, _)| m) }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_grades(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, fit: Option<Bounds>) -> Option<Vec<GradeBand>> {
    let Some(tables) = root.tables(ctx, "grades") else {
        if root.get("grades").is_some() {
            return None;
        }
        // Default bands as shares of the fit maximum.
        let max = fit?.max;
        return Some(vec![
            GradeBand { grade: Grade::A, min_fit: Some(0.7 * max) },
            GradeBand { grade: Grade::B, min_fit: Some(0.4 * max) },
            GradeBand { grade: Grade::C, min_fit: Some(0.2 * max) },
            GradeBand { grade: Grade::D, min_fit: Some(0.0) },
            GradeBand { grade: Grade::F, min_fit: None },
        ]);
    };
    if !(2..=6).contains(&tables.len()) {
        let at = root.get("grades").map_or(0, |v| v.span().start);
        ctx.problem(at, "grades", format!("expected 2 to 6 grades, found {}", tables.len()));
        return None;
    }
    let mut out: Vec<GradeBand> = Vec::new();
    let mut ok = true;
    let last = tables.len() - 1;
    for (i, g) in tables.iter().enumerate() {
        g.check_keys(ctx, &["grade", "min_fit"]);
        let grade = g.required_str(ctx, "grade").and_then(|(s, at)| match Grade::parse(&s) {
            None => {
                ctx.problem(at, &g.child_path("grade"), format!("unknown grade `{s}` (expected A, B, C, D, E or F)"));
                None
            }
            Some(gr) if out.last().is_some_and(|p| p.grade >= gr) => {
                ctx.problem(at, &g.child_path("grade"), "grades must be listed best first, each once (A, B, ..., F)");
                None
            }
            Some(gr) => Some(gr),
        });
        let min = g.number(ctx, "min_fit");
        let min = match (i == last, min) {
            (true, Some((_, at))) => {
                ctx.problem(
                    at,
                    &g.child_path("min_fit"),
                    "the last grade takes every fit below the others: leave out its min_fit",
                );
                ok = false;
                None
            }
            (false, None) => {
                ctx.problem(
                    g.span.start,
                    &g.child_path("min_fit"),
                    "missing (every grade but the last needs a min_fit)",
                );
                ok = false;
                None
            }
            (_, m) => m,
        };
        if let (Some((m, at)), Some(prev)) = (min, out.last().and_then(|p| p.min_fit))
            && m >= prev
        {
            ctx.problem(
                at,
                &g.child_path("min_fit"),
                format!("grades overlap: min_fit {m} is not below the previous grade's {prev}"),
            );
            ok = false;
        }
        match grade {
            Some(grade) => out.push(GradeBand { grade, min_fit: min.map(|(m, _)| m) }),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_mql(
    ctx: &mut Ctx<'_>,
    t: &Table<'_, '_>,
    total: Option<Bounds>,
    grades: Option<&[GradeBand]>,
) -> Option<MqlRule> {
    t.check_keys(ctx, &["min_total", "min_grade"]);
    let (min_total, at) = t.required_number(ctx, "min_total")?;
    if let Some(total) = total
        && (min_total <= total.min || min_total > total.max)
    {
        ctx.problem(
            at,
            &t.child_path("min_total"),
            format!("must be within the total's range ({}, {}]", total.min, total.max),
        );
        return None;
    }
    let min_grade = match t.str(ctx, "min_grade") {
        None => None,
        Some((s, at)) => match Grade::parse(&s) {
            Some(g) if grades.is_none_or(|gs| gs.iter().any(|b| b.grade == g)) => Some(g),
            _ => {
                ctx.problem(at, &t.child_path("min_grade"), format!("`{s}` is not one of the model's grades"));
                return None;
            }
        },
    };
    Some(MqlRule { min_total, min_grade })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "m"
[fit]
min = -10
max = 50
[[fit.rules]]
id = "exec"
field = "job_title"
op = "contains_phrase"
values = ["ceo", "vp"]
points = 20
[engagement]
half_life_days = 30
[[engagement.rules]]
id = "pricing"
event = "page_view"
where = [{ property = "url", op = "contains", value = "/pricing" }]
points = 10
max_count = 3
[[engagement.inactivity]]
id = "quiet"
event = "any"
days = 30
points = -5
"#;

    #[test]
    fn minimal_model_with_defaults() {
        let m = Model::parse(MINIMAL).unwrap();
        assert_eq!(m.total, Bounds { min: 0.0, max: 100.0 });
        assert_eq!(m.buckets.len(), 3);
        assert_eq!(m.bucket_for(80.0), "hot");
        assert_eq!(m.bucket_for(79.9), "warm");
        assert_eq!(m.bucket_for(0.0), "cold");
        assert_eq!(m.grade_for(35.0), Grade::A);
        assert_eq!(m.grade_for(-1.0), Grade::F);
        assert_eq!(m.engagement.rules[0].cap, Cap::MostRecent(3));
        assert_eq!(m.engagement.rules[0].decay, Decay::HalfLifeDays(30.0));
        assert_eq!(m.engagement.inactivity[0].event, None);
        assert!(m.mql.is_none());
    }

    fn problems(src: &str) -> Vec<String> {
        Model::parse(src).unwrap_err().problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn a_learned_model_names_the_leads_it_learned_from() {
        assert!(Model::parse(MINIMAL).unwrap().trained_on.is_empty());
        let learned = format!("trained_on = \"1-20, 31\"\n{MINIMAL}");
        let ids = Model::parse(&learned).unwrap().trained_on;
        assert!(ids.contains(crate::LeadId(20)) && ids.contains(crate::LeadId(31)) && !ids.contains(crate::LeadId(25)));
        let bad = problems(&format!("trained_on = \"20-1\"\n{MINIMAL}"));
        assert!(bad.len() == 1 && bad[0].contains("line 1") && bad[0].contains("trained_on"), "{bad:?}");
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let bad = MINIMAL
            .replace("field = \"job_title\"", "field = \"jobtitle\"")
            .replace("op = \"contains\"", "op = \"like\"")
            .replace("max_count = 3", "max_count = 3\nrepeat = \"often\"");
        let p = problems(&bad);
        assert_eq!(p.len(), 3, "{p:#?}");
        assert!(p[0].starts_with("line 8, column 9: fit.rules[0].field: unknown field `jobtitle`"), "{}", p[0]);
        assert!(p[1].contains("unknown operator `like`"), "{}", p[1]);
        assert!(p[2].contains("engagement.rules[0].repeat: unknown key"), "{}", p[2]);
    }

    #[test]
    fn rejects_fit_over_half_of_total() {
        let bad = MINIMAL.replace("max = 50", "max = 60").replace("points = 20", "points = 60");
        let p = problems(&bad);
        assert!(p[0].contains("fit.max: fit can reach 60, over half"), "{p:?}");
        // A high fit.max is fine when the rules cannot reach it.
        assert!(Model::parse(&MINIMAL.replace("max = 50", "max = 60")).is_ok());
        // The negative side too: a floor far below zero with rules that reach it.
        let bad = MINIMAL.replace("min = -10", "min = -500").replace("points = 20", "points = -500");
        let p = problems(&bad);
        assert!(p.iter().any(|s| s.contains("fit.min: fit can take away 500, over half")), "{p:?}");
        assert!(Model::parse(&MINIMAL.replace("min = -10", "min = -500")).is_ok(), "unreachable floors are fine");
    }

    #[test]
    fn rejects_overlapping_buckets_and_bad_grades() {
        let src = format!(
            "{MINIMAL}\n[[buckets]]\nname = \"hot\"\nmin = 30\n[[buckets]]\nname = \"warm\"\nmin = 30\n[[buckets]]\nname = \"cold\"\n\
             [[grades]]\ngrade = \"B\"\nmin_fit = 10\n[[grades]]\ngrade = \"A\"\n"
        );
        let p = problems(&src);
        assert!(p.iter().any(|s| s.contains("buckets overlap")), "{p:?}");
        assert!(p.iter().any(|s| s.contains("best first")), "{p:?}");
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let p = problems("name = \"x\"\n[fit\n");
        assert!(p[0].starts_with("line 2"), "{p:?}");
        // One unclosed table header in a real model: one problem, not its echoes.
        let p = problems(&MINIMAL.replacen("[engagement]", "[engagement", 1));
        assert_eq!(p.len(), 1, "{p:#?}");
        let p = problems(&MINIMAL.replacen("values = [\"ceo\", \"vp\"]", "values = [\"ceo\",, \"vp\"]", 1));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].contains("TOML syntax"));
    }

    #[test]
    fn rejects_missing_sections_and_bad_values() {
        let p = problems("name = \"\"\n");
        assert!(p.iter().any(|s| s.contains("name: must not be empty")), "{p:?}");
        assert!(p.iter().any(|s| s.contains("fit: missing")), "{p:?}");
        assert!(p.iter().any(|s| s.contains("engagement: missing")), "{p:?}");
        let p = problems(&MINIMAL.replace("\ndays = 30", "\ndays = 0").replace("points = -5", "points = 5"));
        assert_eq!(p.len(), 2, "{p:?}");
        let p = problems(&MINIMAL.replace("max_count = 3", "per = \"week\""));
        assert!(p[0].contains("`per` needs `max_count`"), "{p:?}");
        let p = problems(&MINIMAL.replace("id = \"pricing\"", "id = \"exec\""));
        assert!(p[0].contains("duplicate rule id `exec`"), "{p:?}");
    }

    #[test]
    fn mql_rule() {
        let m = Model::parse(&format!("{MINIMAL}\n[mql]\nmin_total = 70\nmin_grade = \"B\"\n")).unwrap();
        assert!(m.qualifies_mql(70.0, Grade::A));
        assert!(m.qualifies_mql(70.0, Grade::B));
        assert!(!m.qualifies_mql(70.0, Grade::C));
        assert!(!m.qualifies_mql(69.0, Grade::A));
        let p = problems(&format!("{MINIMAL}\n[mql]\nmin_total = 170\n"));
        assert!(p[0].contains("mql.min_total"), "{p:?}");
    }
}
