//! Reading a pipeline file (TOML) into a validated [`Pipeline`], reporting every problem with
//! its place in the file.
//!
//! The walk is the model file's (`crate::model::parse`): toml's span-carrying tables read by
//! hand, so that a sales manager fixing a pipeline sees all its problems at once, each with a
//! line. Routing conditions are read by the model's condition reader, so `when` is written as a
//! fit rule is and means the same.

use std::collections::HashMap;

use super::*;
use crate::lead::is_identifier;
use crate::model::ModelProblem;
use crate::model::parse::{
    CONDITION_KEYS, Ctx, IDENTIFIER, Listed, Table, distinct_reasons, field_ref, file_error, listed, read_condition,
    read_file,
};

/// One thing wrong with a pipeline file, and where: placed and worded as a model's problems are.
pub type PipelineProblem = ModelProblem;

file_error!(
    /// A rejected pipeline file: every problem found, in file order.
    PipelineError,
    "the pipeline has"
);

impl Pipeline {
    /// Parses and validates a pipeline file.
    pub fn parse(source: &str) -> Result<Pipeline, PipelineError> {
        read_file(source, read_pipeline).map_err(|problems| PipelineError { problems })
    }
}

fn read_pipeline(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Pipeline {
    root.check_keys(ctx, &["name", "description", "max_cycle_days", "on_cycle_end", "enter_at", "routing", "stages"]);
    let name = root.file_name(ctx);
    let description = root.str(ctx, "description").map(|(d, _)| d);
    let routing = match root.table(ctx, "routing") {
        Some(t) => read_routing(ctx, &t),
        None => Routing::default(),
    };
    let stage_tables = root.required_tables(
        ctx,
        "stages",
        "the pipeline's stages, as [[stages]] tables in the order a lead goes through them",
        "no stages: a pipeline needs at least one open stage",
    );
    let read: Vec<ReadStage> = stage_tables.iter().map(|t| read_stage(ctx, t)).collect();
    check_stages(ctx, &read);
    let entry = read_entry(ctx, root, &read);
    let cycle = read_cycle(ctx, root, &read);
    Pipeline { name, description, routing, stages: read.into_iter().map(|r| r.stage).collect(), entry, cycle }
}

fn read_routing(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Routing {
    t.check_keys(ctx, &["priority", "when"]);
    let priority = t.whole_number(ctx, "priority", 0).map_or(0, |(p, _)| p);
    let when = t.tables(ctx, "when").map(|tables| {
        if tables.is_empty() {
            let at = t.get("when").map_or(t.span.start, |v| v.span().start);
            ctx.problem(
                at,
                &t.child_path("when"),
                "an empty `when` takes every lead: leave it out to make this the fallback pipeline",
            );
        }
        let mut conditions = Vec::new();
        for c in tables {
            let allowed: Vec<&str> = ["field"].into_iter().chain(CONDITION_KEYS).collect();
            c.check_keys(ctx, &allowed);
            let field = c.required_str(ctx, "field").and_then(|(f, at)| field_ref(ctx, at, &c.child_path("field"), &f));
            if let (Some(field), Some(condition)) = (field, read_condition(ctx, &c)) {
                conditions.push(RoutingCondition { field, condition });
            }
        }
        conditions
    });
    Routing { priority, when }
}

/// A stage as read, with the places the checks across stages report at.
struct ReadStage {
    stage: Stage,
    /// Whether its id was valid and unique: only such stages can be referred to.
    id_ok: bool,
    /// `None` when the kind was not valid: checks that depend on it are skipped.
    kind: Option<(StageKind, usize)>,
    at: usize,
    path: String,
    to: Vec<Listed>,
    /// Where `enter_when` is, when given.
    enter_when_at: Option<usize>,
}

const STAGE_KEYS: [&str; 11] = [
    "id",
    "name",
    "kind",
    "probability",
    "rotting_days",
    "lifecycle",
    "to",
    "requires",
    "enter_when",
    "reasons",
    "tasks",
];

fn read_stage(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> ReadStage {
    t.check_keys(ctx, &STAGE_KEYS);
    let (id, id_ok) = match t.required_str(ctx, "id") {
        Some((id, at)) if !is_identifier(&id) => {
            ctx.problem(at, &t.child_path("id"), IDENTIFIER);
            (id, false)
        }
        Some((id, _)) => (id, true),
        None => (String::new(), false),
    };
    let name = match t.str(ctx, "name") {
        Some((n, at)) if n.trim().is_empty() => {
            ctx.problem(at, &t.child_path("name"), "must not be empty (leave it out to show the id)");
            id.clone()
        }
        Some((n, _)) => n.trim().to_string(),
        None => id.clone(),
    };
    let kind = match t.str(ctx, "kind") {
        None if t.get("kind").is_none() => Some((StageKind::Open, t.span.start)),
        None => None,
        Some((k, at)) => match StageKind::parse(&k) {
            Some(kind) => Some((kind, at)),
            None => {
                let kinds: Vec<&str> = StageKind::ALL.iter().map(|k| k.as_str()).collect();
                ctx.problem(
                    at,
                    &t.child_path("kind"),
                    format!("unknown kind `{k}` (expected one of: {})", kinds.join(", ")),
                );
                None
            }
        },
    };
    let kind_only = kind.map(|(k, _)| k);
    let probability = read_probability(ctx, t, kind_only);
    let rotting_days = t.whole_number(ctx, "rotting_days", 1).and_then(|(d, at)| match kind_only {
        Some(k) if !k.is_active() => {
            ctx.problem(
                at,
                &t.child_path("rotting_days"),
                format!("only open stages rot: a lead in a {k} stage is not waiting for anyone"),
            );
            None
        }
        _ => Some(d),
    });
    let lifecycle = t.str(ctx, "lifecycle").and_then(|(l, at)| {
        let stage = LifecycleStage::parse(&l);
        if stage.is_none() {
            let names: Vec<&str> = LifecycleStage::ALL.iter().map(|s| s.name()).collect();
            ctx.problem(
                at,
                &t.child_path("lifecycle"),
                format!("unknown lifecycle stage `{l}` (expected one of: {})", names.join(", ")),
            );
        }
        stage
    });
    let to = listed(ctx, t, "to");
    let requires = read_requires(ctx, t);
    let reasons = read_reasons(ctx, t, kind_only);
    let enter_when: Vec<EnterWhen> =
        t.tables(ctx, "enter_when").unwrap_or_default().iter().filter_map(|w| read_enter_when(ctx, w)).collect();
    let tasks: Vec<StageTask> =
        t.tables(ctx, "tasks").unwrap_or_default().iter().filter_map(|w| read_stage_task(ctx, w)).collect();
    let stage = Stage {
        id,
        name,
        kind: kind_only.unwrap_or(StageKind::Open),
        probability,
        rotting_days,
        lifecycle,
        to: to.as_ref().map(|to| to.iter().map(|l| l.text.clone()).collect()),
        requires,
        enter_when,
        reasons,
        tasks,
    };
    ReadStage {
        stage,
        id_ok,
        kind,
        at: t.get("id").map_or(t.span.start, |v| v.span().start),
        path: t.path.clone(),
        to: to.unwrap_or_default(),
        enter_when_at: t.get("enter_when").map(|v| v.span().start),
    }
}

/// `[[stages.tasks]]`: one task a lead entering the stage gets; `None` when it had a problem.
pub(crate) fn read_stage_task(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<StageTask> {
    t.check_keys(ctx, &["kind", "title", "priority", "due", "clock"]);
    let kind = match t.str(ctx, "kind") {
        None if t.get("kind").is_none() => Some(TaskKind::Call),
        None => None,
        Some((k, at)) => {
            TaskKind::parse_or_error(&k).map_err(|e| ctx.problem(at, &t.child_path("kind"), e.to_string())).ok()
        }
    };
    let title = t.required_str(ctx, "title").and_then(|(title, at)| {
        // The error names the field itself, as the API's does; here the path names it.
        let said = |e: crate::task::TaskError| e.to_string().trim_start_matches("title: ").to_string();
        TaskTitle::parse(&title).map_err(|e| ctx.problem(at, &t.child_path("title"), said(e))).ok()
    });
    let priority = match t.str(ctx, "priority") {
        None if t.get("priority").is_none() => Some(Priority::Normal),
        None => None,
        Some((p, at)) => {
            Priority::parse_or_error(&p).map_err(|e| ctx.problem(at, &t.child_path("priority"), e.to_string())).ok()
        }
    };
    let due = crate::sla::read_clocked_duration(
        ctx,
        t,
        "due",
        "missing (required): when the task is due after the move, such as \"4h\"",
    );
    Some(StageTask { kind: kind?, title: title?, priority: priority?, due: due? })
}

fn read_probability(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, kind: Option<StageKind>) -> f64 {
    match t.number(ctx, "probability") {
        Some((p, at)) => {
            if !(0.0..=1.0).contains(&p) {
                ctx.problem(at, &t.child_path("probability"), format!("{p} is not a probability: expected 0 to 1"));
            }
            p
        }
        None => match kind.map(StageKind::default_probability) {
            Some(Some(default)) => default,
            Some(None) if t.get("probability").is_none() => {
                ctx.problem(
                    t.span.start,
                    &t.child_path("probability"),
                    "missing (required for open stages): the chance, 0 to 1, that a lead here is won",
                );
                0.0
            }
            _ => 0.0,
        },
    }
}

fn read_requires(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Vec<FieldRef> {
    let mut out: Vec<FieldRef> = Vec::new();
    for l in listed(ctx, t, "requires").unwrap_or_default() {
        if let Some(field) = field_ref(ctx, l.at, &l.path, &l.text) {
            if out.contains(&field) {
                ctx.problem(l.at, &l.path, format!("`{field}` is listed twice"));
            } else {
                out.push(field);
            }
        }
    }
    out
}

fn read_reasons(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, kind: Option<StageKind>) -> Vec<String> {
    let Some(reasons) = listed(ctx, t, "reasons") else {
        return Vec::new();
    };
    let at = t.get("reasons").map_or(t.span.start, |v| v.span().start);
    let path = t.child_path("reasons");
    if let Some(k) = kind.filter(|k| !k.takes_reasons()) {
        ctx.problem(at, &path, format!("only won, lost and disqualified stages have reasons, not {k} ones"));
    }
    if reasons.is_empty() {
        ctx.problem(at, &path, "no reasons: leave `reasons` out to allow moves here without one");
    }
    distinct_reasons(ctx, reasons)
}

const TRIGGERS: [&str; 5] = ["mql", "score_at_least", "grade_at_least", "event", "outcome"];

/// One `enter_when` entry: exactly one trigger.
fn read_enter_when(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<EnterWhen> {
    t.check_keys(ctx, &TRIGGERS);
    let given: Vec<&str> = TRIGGERS.into_iter().filter(|k| t.get(k).is_some()).collect();
    match given[..] {
        [] => {
            // Keys that are not triggers were reported as unknown already.
            if t.table.is_empty() {
                ctx.problem(t.span.start, &t.path, format!("no trigger: give one of {}", TRIGGERS.join(", ")));
            }
            None
        }
        [key] => read_trigger(ctx, t, key),
        [first, second, ..] => {
            let at = t.get(second).map_or(t.span.start, |v| v.span().start);
            ctx.problem(
                at,
                &t.child_path(second),
                format!(
                    "one trigger per entry (this one has `{first}` and `{second}`): write each as its own [[stages.enter_when]], any one of which moves the lead"
                ),
            );
            None
        }
    }
}

fn read_trigger(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Option<EnterWhen> {
    let path = t.child_path(key);
    match key {
        "mql" => match t.bool(ctx, key)? {
            (true, _) => Some(EnterWhen::BecameMql),
            (false, at) => {
                ctx.problem(at, &path, "only `mql = true` is a trigger (leave the entry out instead)");
                None
            }
        },
        "score_at_least" => t.number(ctx, key).map(|(x, _)| EnterWhen::ScoreAtLeast(x)),
        "grade_at_least" => {
            let (g, at) = t.str(ctx, key)?;
            let grade = Grade::parse(&g);
            if grade.is_none() {
                ctx.problem(at, &path, format!("unknown grade `{g}` (expected A, B, C, D, E or F)"));
            }
            grade.map(EnterWhen::GradeAtLeast)
        }
        "event" => {
            let (e, at) = t.str(ctx, key)?;
            match EventType::parse(&e) {
                Ok(e) => Some(EnterWhen::Event(e)),
                Err(err) => {
                    ctx.problem(at, &path, err.to_string());
                    None
                }
            }
        }
        _ => {
            let (o, at) = t.str(ctx, key)?;
            match o.trim() {
                "won" => Some(EnterWhen::Outcome(OutcomeKind::Won)),
                "lost" => Some(EnterWhen::Outcome(OutcomeKind::Lost)),
                _ => {
                    ctx.problem(at, &path, format!("unknown outcome `{o}` (expected won or lost)"));
                    None
                }
            }
        }
    }
}

/// The checks that look at several stages: unique ids, `to` naming stages, an open stage, one
/// recycled stage, and `enter_when` where it can fire.
fn check_stages(ctx: &mut Ctx<'_>, stages: &[ReadStage]) {
    let mut first_with_id: HashMap<&str, usize> = HashMap::new();
    for (i, s) in stages.iter().enumerate() {
        if !s.id_ok {
            continue;
        }
        if let Some(&first) = first_with_id.get(s.stage.id.as_str()) {
            ctx.problem(
                s.at,
                &format!("{}.id", s.path),
                format!("duplicate stage id `{}` (also {})", s.stage.id, stages[first].path),
            );
        } else {
            first_with_id.insert(&s.stage.id, i);
        }
    }
    // A stage with a bad id still answers to it here: its id has its problem already.
    let named = |id: &str| stages.iter().any(|s| s.stage.id == id);
    for s in stages {
        let mut seen: Vec<&str> = Vec::new();
        for l in &s.to {
            if l.text == s.stage.id {
                ctx.problem(l.at, &l.path, "a stage does not move to itself");
            } else if !named(&l.text) {
                ctx.problem(l.at, &l.path, format!("no stage `{}` in this pipeline", l.text));
            } else if seen.contains(&l.text.as_str()) {
                ctx.problem(l.at, &l.path, format!("`{}` is listed twice", l.text));
            }
            seen.push(&l.text);
        }
    }
    // Whether a kind is missing is only asked when every kind was valid: a misspelled kind may
    // be the one meant, and its own problem says so.
    let kinds: Vec<(StageKind, usize, &ReadStage)> =
        stages.iter().filter_map(|s| s.kind.map(|(k, at)| (k, at, s))).collect();
    if kinds.len() == stages.len() && !stages.is_empty() && !kinds.iter().any(|(k, _, _)| k.is_active()) {
        ctx.problem(
            stages[0].at,
            "stages",
            "no open stage: a pipeline needs at least one stage where leads are worked",
        );
    }
    let mut recycled = kinds.iter().filter(|(k, _, _)| *k == StageKind::Recycled);
    if let Some((_, _, first)) = recycled.next() {
        for (_, at, s) in recycled {
            ctx.problem(
                *at,
                &format!("{}.kind", s.path),
                format!(
                    "a second recycled stage (the first is `{}`): recycled leads wait in one stage",
                    first.stage.id
                ),
            );
        }
    }
    for (i, s) in stages.iter().enumerate() {
        let Some(at) = s.enter_when_at else { continue };
        let path = format!("{}.enter_when", s.path);
        if i == 0 {
            ctx.problem(at, &path, "never fires: automatic moves only go forward, and no stage comes before the first");
        } else if !s.stage.reasons.is_empty() {
            ctx.problem(
                at,
                &path,
                "never fires: a move to a stage with `reasons` needs a reason, which only a person gives",
            );
        }
    }
}

/// `enter_at`, or the first stage; either way an open one.
fn read_entry(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, stages: &[ReadStage]) -> usize {
    let Some((id, at)) = root.str(ctx, "enter_at") else {
        if let Some((kind, at)) = stages.first().and_then(|s| s.kind).filter(|(k, _)| !k.is_active()) {
            ctx.problem(
                at,
                &format!("{}.kind", stages[0].path),
                format!(
                    "leads enter at the first stage, and this one is {kind}: put an open stage first or name one with `enter_at`"
                ),
            );
        }
        return 0;
    };
    match stages.iter().position(|s| s.stage.id == id) {
        None => {
            ctx.problem(at, "enter_at", format!("no stage `{id}` in this pipeline"));
            0
        }
        Some(i) => {
            if let Some((kind, _)) = stages[i].kind.filter(|(k, _)| !k.is_active()) {
                ctx.problem(at, "enter_at", format!("`{id}` is a {kind} stage: leads enter at an open one"));
            }
            i
        }
    }
}

fn read_cycle(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, stages: &[ReadStage]) -> Option<Cycle> {
    let max_days = root.whole_number(ctx, "max_cycle_days", 1);
    let on_end = root.str(ctx, "on_cycle_end").and_then(|(s, at)| {
        let end = CycleEnd::parse(&s);
        match end {
            None => ctx.problem(at, "on_cycle_end", format!("unknown `{s}` (expected \"recycle\" or \"disqualify\")")),
            // (Not when some kind is invalid, as for open stages.)
            Some(end) if stages.iter().all(|st| st.kind.is_some_and(|(k, _)| k != end.kind())) => ctx.problem(
                at,
                "on_cycle_end",
                format!("`{s}` moves leads to a {} stage, and this pipeline has none", end.kind()),
            ),
            Some(_) => {}
        }
        end
    });
    match (root.get("max_cycle_days"), root.get("on_cycle_end")) {
        (Some(v), None) => ctx.problem(
            v.span().start,
            "max_cycle_days",
            "needs `on_cycle_end` (\"recycle\" or \"disqualify\"): what happens to a lead still open when its cycle ends",
        ),
        (None, Some(v)) => {
            ctx.problem(v.span().start, "on_cycle_end", "needs `max_cycle_days`: how many days a lead's cycle lasts")
        }
        _ => {}
    }
    Some(Cycle { max_days: max_days?.0, on_end: on_end? })
}
