//! The model lab: scoring leads whose outcomes are known, as of a moment before those outcomes,
//! to see how well a model would have ranked them.

use leadflow_store::prelude::*;
use std::collections::BTreeSet;

use rayon::prelude::*;

use leadflow_core::scoring::{self, Explanation};
use leadflow_core::{
    Activity, CustomValue, EventMatch, EventShape, Field, FieldRef, FieldValue, LeadFacts, LeadId, LeadRef, Model,
    Outcome, ScoreCard, Timestamp,
};
use leadflow_ml::evaluate::{self, Judged, Report};
use leadflow_store::{RescoreItem, ScanRequest, ScanScope, ShapeId, Store, StoreError, Transaction};
use rustc_hash::FxHashMap;

use crate::rescore::shape_matches;
use crate::{Engine, EngineError, Progress};

/// When each lead is scored: what the model could have known then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cutoff {
    /// Everyone at one instant. Leads created after it, or whose outcome came before it, are
    /// left out.
    AsOf(Timestamp),
    /// Each lead this many days before its own outcome, so that the activity of the sales
    /// conversation itself does not count.
    BeforeOutcome { days: u32 },
}

/// One lead of a backtest.
#[derive(Clone, Debug, PartialEq)]
pub struct Backtested {
    pub lead: LeadId,
    pub outcome: Outcome,
    pub scored_at: Timestamp,
    pub card: ScoreCard,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Backtest {
    pub leads: Vec<Backtested>,
    /// Leads with an outcome that the cutoff leaves out.
    pub left_out: usize,
    /// Leads judged that the model learned from (known for trees): its figures on them are
    /// in-sample, better than it will do on new leads.
    pub in_sample: usize,
    pub report: Report,
}

/// A lead that two models put in different buckets, and the rules that moved it most.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub lead: LeadId,
    pub converted: bool,
    pub from: String,
    pub to: String,
    pub total_a: f64,
    pub total_b: f64,
    /// (rule, points under A, points under B), largest difference first, at most three.
    pub reasons: Vec<(String, f64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub a: Backtest,
    pub b: Backtest,
    /// Leads per (bucket under A, bucket under B).
    pub transitions: Vec<(String, String, usize)>,
    /// Every lead that changed bucket, largest change of total first.
    pub moves: Vec<Move>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("no lead has an outcome: record some (`leadflow leads outcome`, or an outcome column in an import)")]
    NoOutcomes,
    #[error("the cutoff leaves no lead with an outcome ({0} left out)")]
    NothingLeft(usize),
}

/// Profile fields a learned model may use, as (text fields, number fields, date fields): the
/// standard ones and every custom field the leads carry: text and booleans as categories,
/// numbers, and dates (which only trees read: recency, month, weekday). Owner and stage are
/// left out: sales sets them while working a lead, so they would leak the outcome.
pub(crate) fn learnable_fields(cases: &[Case]) -> (Vec<FieldRef>, Vec<FieldRef>, Vec<FieldRef>) {
    let mut text: Vec<FieldRef> = [
        Field::JobTitle,
        Field::Department,
        Field::Industry,
        Field::Country,
        Field::City,
        Field::CompanyType,
        Field::Source,
    ]
    .map(FieldRef::Standard)
    .to_vec();
    let mut number: Vec<FieldRef> = [Field::Employees, Field::AnnualRevenue].map(FieldRef::Standard).to_vec();
    let (mut custom_text, mut custom_number, mut custom_date) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for c in cases {
        for (k, v) in &c.item.profile.custom {
            match v {
                CustomValue::Number(_) => custom_number.insert(k.clone()),
                CustomValue::Text(_) | CustomValue::Bool(_) => custom_text.insert(k.clone()),
                CustomValue::Date(_) => custom_date.insert(k.clone()),
            };
        }
    }
    text.extend(custom_text.into_iter().map(FieldRef::Custom));
    number.extend(custom_number.into_iter().map(FieldRef::Custom));
    (text, number, custom_date.into_iter().map(FieldRef::Custom).collect())
}

/// A profile value as learned models read text: trimmed and lower-cased, `None` when empty;
/// a boolean as `true`/`false` (what a rule's `in` matches it by).
pub(crate) fn text_of(v: FieldValue<'_>) -> Option<String> {
    match v {
        FieldValue::Text(s) if !s.trim().is_empty() => Some(s.trim().to_lowercase()),
        FieldValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What training should say about its features: those that alone separate the classes (most
/// likely filled because of the outcome), and a cross-validated AUC too good to be true.
pub(crate) fn leakage_warnings(table: &leadflow_ml::Table, y: &[bool], auc: Option<f64>) -> Vec<String> {
    let mut out: Vec<String> = leadflow_ml::leakage::separating_columns(table, y)
        .into_iter()
        .map(|s| {
            format!(
                "`{}` alone separates won from lost (AUC {:.3}{}): it was most likely filled because of the \
                 outcome, and a model learned on it fails on new leads; leave it out of the import (map it to \
                 \"ignore\") or learn as of a cutoff before it was filled",
                s.column,
                s.auc,
                if s.by_presence { ", by having a value at all" } else { "" }
            )
        })
        .collect();
    if let Some(auc) = auc.filter(|a| *a > 0.99) {
        out.push(format!(
            "an AUC of {auc:.4} is too good to be true for leads: look for a field that leaks the outcome"
        ));
    }
    out
}

/// Each stored shape's event type, by shape id.
pub(crate) fn event_types(shapes: &[(ShapeId, EventShape)]) -> FxHashMap<ShapeId, String> {
    shapes.iter().map(|(id, s)| (*id, s.event_type.as_str().to_string())).collect()
}

/// The distinct event types among `types`, sorted.
pub(crate) fn distinct_types(types: &FxHashMap<ShapeId, String>) -> Vec<String> {
    let mut names: Vec<String> = types.values().cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// Scores each case under `model` at its own instant; `matches` is `model`'s rule matches for
/// every stored shape.
pub(crate) fn score_cases(
    model: &Model,
    matches: &[Option<EventMatch>],
    cases: &[Case],
) -> Result<Vec<Backtested>, EngineError> {
    let scored: Result<Vec<Backtested>, StoreError> = cases
        .par_iter()
        .map(|c| {
            let facts = LeadFacts { profile: &c.item.profile, created_at: c.item.created_at };
            let activity = activity(matches, &c.item, c.scored_at)?;
            let card = scoring::score(model, facts, &activity, c.scored_at);
            Ok(Backtested { lead: c.lead, outcome: c.outcome, scored_at: c.scored_at, card })
        })
        .collect();
    Ok(scored?)
}

/// A lead with an outcome, ready to be scored under any model.
pub(crate) struct Case {
    pub(crate) lead: LeadId,
    pub(crate) outcome: Outcome,
    pub(crate) scored_at: Timestamp,
    pub(crate) item: RescoreItem,
}

fn activity(
    matches: &[Option<EventMatch>],
    item: &RescoreItem,
    before: Timestamp,
) -> Result<Vec<Activity>, StoreError> {
    item.activity
        .iter()
        .filter(|(ts, _)| *ts <= before)
        .map(|(ts, shape)| match matches.get(*shape as usize).copied().flatten() {
            Some(matched) => Ok(Activity { ts: *ts, matched }),
            None => Err(StoreError::Corrupt(format!("an event refers to shape {shape}, which does not exist"))),
        })
        .collect()
}

fn judge(model: &Model, b: &Backtested) -> Judged {
    Judged {
        score: b.card.total,
        converted: b.outcome.converted(),
        bucket: Some(b.card.bucket_name(model).to_string()),
        grade: Some(b.card.grade.letter().to_string()),
        mql: b.card.qualifies_mql,
        probability: None,
    }
}

fn report(model: &Model, leads: &[Backtested]) -> Report {
    let judged: Vec<Judged> = leads.iter().map(|b| judge(model, b)).collect();
    let buckets: Vec<String> = model.buckets.iter().map(|b| b.name.clone()).collect();
    let grades: Vec<String> = ["A", "B", "C", "D", "E", "F"].map(String::from).to_vec();
    evaluate::report(&judged, &buckets, &grades)
}

impl<S: Store> Engine<S> {
    /// Records how a lead ended (`None` clears it).
    pub fn set_outcome(&mut self, lead: &LeadRef, outcome: Option<Outcome>) -> Result<LeadId, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let id = tx.resolve_lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        tx.set_outcome(id, outcome, now)?;
        tx.commit()?;
        Ok(id)
    }

    /// The leads with outcomes, each with its profile and events, and the instant it is scored at.
    pub(crate) fn cases(&mut self, cutoff: Cutoff, progress: &dyn Progress) -> Result<(Vec<Case>, usize), EngineError> {
        let outcomes: FxHashMap<LeadId, Outcome> = self.store.outcomes()?.into_iter().collect();
        self.cases_of(&outcomes, cutoff, progress)
    }

    /// The leads with these outcomes as cases, each seen as of the cutoff.
    pub(crate) fn cases_of(
        &mut self,
        outcomes: &FxHashMap<LeadId, Outcome>,
        cutoff: Cutoff,
        progress: &dyn Progress,
    ) -> Result<(Vec<Case>, usize), EngineError> {
        let mut cases = Vec::with_capacity(outcomes.len());
        let left_out = self.for_each_case(outcomes, cutoff, progress, &mut |case| cases.push(case))?;
        Ok((cases, left_out))
    }

    /// The leads with these outcomes, each given to `each` as a case as it is read (none kept);
    /// how many were left out by the cutoff. Refused when there is none to give.
    pub(crate) fn for_each_case(
        &mut self,
        outcomes: &FxHashMap<LeadId, Outcome>,
        cutoff: Cutoff,
        progress: &dyn Progress,
        each: &mut dyn FnMut(Case),
    ) -> Result<usize, EngineError> {
        if outcomes.is_empty() {
            return Err(LabError::NoOutcomes.into());
        }
        progress.start(outcomes.len() as u64);
        let request = ScanRequest { scope: ScanScope::All, states_of: None, batch: 20_000 };
        let (mut given, mut left_out) = (0usize, 0);
        self.store.scan_for_rescore(request, &mut |_, items| {
            for item in items {
                let Some(outcome) = outcomes.get(&item.id).copied() else { continue };
                progress.advance(1);
                let scored_at = match cutoff {
                    Cutoff::AsOf(t) if item.created_at > t || outcome.at <= t => {
                        left_out += 1;
                        continue;
                    }
                    Cutoff::AsOf(t) => t,
                    Cutoff::BeforeOutcome { days } => {
                        Timestamp::from_millis(outcome.at.millis() - i64::from(days) * 86_400_000)
                    }
                };
                given += 1;
                each(Case { lead: item.id, outcome, scored_at, item });
            }
            Ok(())
        })?;
        if given == 0 {
            return Err(LabError::NothingLeft(left_out).into());
        }
        Ok(left_out)
    }

    /// Scores every lead with an outcome under `model` at the cutoff, and reports how well the
    /// scores ranked the outcomes. The profile is the lead's current one (profiles keep no
    /// history); events are only those up to the cutoff.
    pub fn backtest(
        &mut self,
        model: &Model,
        cutoff: Cutoff,
        progress: &dyn Progress,
    ) -> Result<Backtest, EngineError> {
        self.keep_properties_of(model)?;
        let (cases, left_out) = self.cases(cutoff, progress)?;
        let leads = score_cases(model, &shape_matches(model, &self.store.shapes()?), &cases)?;
        let report = report(model, &leads);
        Ok(Backtest { leads, left_out, in_sample: in_sample(model, &cases), report })
    }

    /// Backtests two models on the same leads, and says which leads change bucket and why.
    pub fn compare(
        &mut self,
        a: &Model,
        b: &Model,
        cutoff: Cutoff,
        progress: &dyn Progress,
    ) -> Result<Comparison, EngineError> {
        self.keep_properties_of(a)?;
        self.keep_properties_of(b)?;
        let (cases, left_out) = self.cases(cutoff, progress)?;
        let shapes = self.store.shapes()?;
        let (matches_a, matches_b) = (shape_matches(a, &shapes), shape_matches(b, &shapes));
        let (leads_a, leads_b) = (score_cases(a, &matches_a, &cases)?, score_cases(b, &matches_b, &cases)?);
        let mut transitions: FxHashMap<(String, String), usize> = FxHashMap::default();
        let mut moves = Vec::new();
        for ((case, x), y) in cases.iter().zip(&leads_a).zip(&leads_b) {
            let (from, to) = (x.card.bucket_name(a).to_string(), y.card.bucket_name(b).to_string());
            *transitions.entry((from.clone(), to.clone())).or_default() += 1;
            if from != to {
                let facts = LeadFacts { profile: &case.item.profile, created_at: case.item.created_at };
                let ea = scoring::explain(a, facts, &activity(&matches_a, &case.item, case.scored_at)?, case.scored_at);
                let eb = scoring::explain(b, facts, &activity(&matches_b, &case.item, case.scored_at)?, case.scored_at);
                moves.push(Move {
                    lead: case.lead,
                    converted: case.outcome.converted(),
                    from,
                    to,
                    total_a: x.card.total,
                    total_b: y.card.total,
                    reasons: reasons(&ea, &eb),
                });
            }
        }
        moves.sort_by(|m, n| (n.total_b - n.total_a).abs().total_cmp(&(m.total_b - m.total_a).abs()));
        let mut transitions: Vec<(String, String, usize)> =
            transitions.into_iter().map(|((f, t), n)| (f, t, n)).collect();
        transitions.sort();
        let (report_a, report_b) = (report(a, &leads_a), report(b, &leads_b));
        Ok(Comparison {
            a: Backtest { leads: leads_a, left_out, in_sample: in_sample(a, &cases), report: report_a },
            b: Backtest { leads: leads_b, left_out, in_sample: in_sample(b, &cases), report: report_b },
            transitions,
            moves,
        })
    }
}

/// How many of the cases `model` learned from (none for a model written by hand).
fn in_sample(model: &Model, cases: &[Case]) -> usize {
    cases.iter().filter(|c| model.trained_on.contains(c.lead)).count()
}

/// Each rule's points under both explanations, the largest differences first (three at most).
fn reasons(a: &Explanation, b: &Explanation) -> Vec<(String, f64, f64)> {
    let mut points: FxHashMap<String, (f64, f64)> = FxHashMap::default();
    for (e, side) in [(a, 0), (b, 1)] {
        let lines = e
            .fit
            .iter()
            .map(|l| (l.rule.clone(), l.points))
            .chain(e.engagement.iter().map(|l| (l.rule.clone(), l.points_after_decay)))
            .chain(e.inactivity.iter().map(|l| (l.rule.clone(), l.points)));
        for (rule, p) in lines {
            let entry = points.entry(rule).or_default();
            if side == 0 { entry.0 += p } else { entry.1 += p }
        }
    }
    let mut out: Vec<(String, f64, f64)> =
        points.into_iter().filter(|(_, (x, y))| (x - y).abs() > 1e-9).map(|(r, (x, y))| (r, x, y)).collect();
    out.sort_by(|p, q| (q.2 - q.1).abs().total_cmp(&(p.2 - p.1).abs()).then(p.0.cmp(&q.0)));
    out.truncate(3);
    out
}
