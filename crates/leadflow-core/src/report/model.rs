//! The model over time: does the score still separate good leads from bad? For the leads that
//! first qualified (entered an MQL stage) in each month (or quarter), the bucket and grade their score had
//! at that instant (from the score history: what sales saw then, never a later score), and how
//! many of each were won by the as-of instant; the MQL rule's precision (qualified leads that
//! were won) by period of qualifying and recall (won leads that had qualified before) by period
//! of winning; and a warning wherever a bucket or grade converted no better than the one below
//! it, with enough leads in both to say so.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::Timestamp;
use crate::lead::LifecycleStage;
use crate::model::{Grade, Model};
use crate::pipeline::{Pipeline, StageKind};

use super::interval::wilson;
use super::month::ReportPeriod;
use super::names::{Name, Names};
use super::places::{LeadPlaces, Visit, visits};

/// Leads a bucket or grade needs, in a period and in the one it is compared with, before a
/// warning says one converted no better than the other.
pub const DRIFT_MIN_LEADS: u64 = 30;

/// A score as the history recorded it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScorePoint {
    pub at: Timestamp,
    pub total: f64,
    pub bucket: Name,
    pub grade: Grade,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelReport {
    pub pipeline: String,
    pub as_of: Timestamp,
    pub period: ReportPeriod,
    /// Every period from the first MQL to the last.
    pub periods: Vec<ModelPeriod>,
    /// All periods together.
    pub buckets: Vec<Split>,
    pub grades: Vec<Split>,
    /// The scored MQLs of all periods in ten equal groups by their total at the MQL, lowest
    /// first (fewer when there are fewer than ten).
    pub deciles: Vec<Decile>,
    /// Where the score did not separate: a higher bucket or grade converting no better than the
    /// next lower one.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelPeriod {
    /// `YYYY-MM`, or `YYYY-Qn`.
    pub period: String,
    /// Leads that first qualified in the period, and of them those won by `as_of`.
    pub mqls: u64,
    pub won: u64,
    /// `won / mqls`: the MQL rule's precision.
    pub precision: Option<f64>,
    /// Leads won in the period, and of them those that had qualified before.
    pub won_in_period: u64,
    pub won_after_mql: u64,
    /// `won_after_mql / won_in_period`: the MQL rule's recall.
    pub recall: Option<f64>,
    /// By the bucket (the model's order, best first; `unscored` last) and grade at the MQL.
    pub buckets: Vec<Split>,
    pub grades: Vec<Split>,
}

/// A tenth of the scored MQLs by their total as they qualified.
#[derive(Clone, Debug, PartialEq)]
pub struct Decile {
    /// 1 (the lowest totals) to 10.
    pub decile: u32,
    pub min_total: f64,
    pub max_total: f64,
    pub leads: u64,
    pub won: u64,
    pub rate: Option<f64>,
    pub interval: Option<(f64, f64)>,
}

/// One bucket's or grade's leads and how many were won, with the rate's 95% interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub name: String,
    pub leads: u64,
    pub won: u64,
    pub rate: Option<f64>,
    pub interval: Option<(f64, f64)>,
}

#[derive(Debug, Default)]
struct Tally {
    mqls: u64,
    won: u64,
    won_in_period: u64,
    won_after_mql: u64,
    /// By bucket name (`None`: unscored) and by grade (`None`: unscored): leads, won.
    buckets: FxHashMap<Option<Name>, (u64, u64)>,
    grades: FxHashMap<Option<Grade>, (u64, u64)>,
}

/// Folds leads and their score histories into a [`ModelReport`].
#[derive(Debug)]
pub struct ModelReporter {
    name: String,
    pipeline: Name,
    as_of: Timestamp,
    period: ReportPeriod,
    /// By [`Name::index`] of a stage id: (qualified, won).
    stage_meaning: Vec<(bool, bool)>,
    buckets: Vec<String>,
    periods: BTreeMap<i32, Tally>,
    /// Each scored MQL's total as it qualified, and whether it was won.
    totals: Vec<(f64, bool)>,
    visits: Vec<Visit>,
}

impl ModelReporter {
    /// The report on `pipeline`'s leads under `model`'s buckets, as of `as_of`, by `period`;
    /// names interned in `names`, which the leads and score points must be read with.
    pub fn new(
        pipeline: &Pipeline,
        model: &Model,
        as_of: Timestamp,
        period: ReportPeriod,
        names: &mut Names,
    ) -> ModelReporter {
        let mut stage_meaning = Vec::new();
        for stage in pipeline.stages() {
            let name = names.intern(stage.id());
            if stage_meaning.len() <= name.index() {
                stage_meaning.resize(name.index() + 1, (false, false));
            }
            stage_meaning[name.index()] =
                (stage.lifecycle() == Some(LifecycleStage::Mql), stage.kind() == StageKind::Won);
        }
        ModelReporter {
            name: pipeline.name().to_string(),
            pipeline: names.intern(pipeline.name()),
            as_of,
            period,
            stage_meaning,
            buckets: model.buckets.iter().map(|b| b.name.clone()).collect(),
            periods: BTreeMap::new(),
            totals: Vec::new(),
            visits: Vec::new(),
        }
    }

    fn meaning(&self, stage: Name) -> (bool, bool) {
        self.stage_meaning.get(stage.index()).copied().unwrap_or((false, false))
    }

    /// Adds a lead with its score history (oldest first).
    pub fn add(&mut self, lead: &LeadPlaces<'_>, scores: &[ScorePoint]) {
        let mut buffer = std::mem::take(&mut self.visits);
        visits(lead, self.pipeline, self.as_of, &mut buffer);
        let first =
            |want: fn((bool, bool)) -> bool| buffer.iter().find(|v| want(self.meaning(v.stage))).map(|v| v.entered);
        let (qualified, won) = (first(|m| m.0), first(|m| m.1));
        if let Some(at) = qualified {
            let score = scores.iter().rfind(|p| p.at <= at);
            let month = self.periods.entry(self.period.of(at)).or_default();
            let won = u64::from(won.is_some());
            month.mqls += 1;
            month.won += won;
            let bucket = month.buckets.entry(score.map(|s| s.bucket)).or_default();
            (bucket.0, bucket.1) = (bucket.0 + 1, bucket.1 + won);
            let grade = month.grades.entry(score.map(|s| s.grade)).or_default();
            (grade.0, grade.1) = (grade.0 + 1, grade.1 + won);
            if let Some(score) = score {
                self.totals.push((score.total, won == 1));
            }
        }
        if let Some(at) = won {
            let month = self.periods.entry(self.period.of(at)).or_default();
            month.won_in_period += 1;
            month.won_after_mql += u64::from(qualified.is_some_and(|q| q <= at));
        }
        self.visits = buffer;
    }

    pub fn finish(mut self, names: &Names) -> ModelReport {
        let deciles = deciles(&mut self.totals);
        let bucket_names: Vec<(Option<Name>, String)> = self
            .buckets
            .iter()
            .map(|b| (names.get(b), b.clone()))
            .chain(std::iter::once((None, "unscored".to_string())))
            .collect();
        let grade_names: Vec<(Option<Grade>, String)> = Grade::ALL
            .iter()
            .map(|g| (Some(*g), g.letter().to_string()))
            .chain(std::iter::once((None, "unscored".to_string())))
            .collect();
        let mut all_buckets: FxHashMap<Option<Name>, (u64, u64)> = FxHashMap::default();
        let mut all_grades: FxHashMap<Option<Grade>, (u64, u64)> = FxHashMap::default();
        let mut warnings = Vec::new();
        let (Some(&first), Some(&last)) = (self.periods.keys().next(), self.periods.keys().next_back()) else {
            return ModelReport {
                pipeline: self.name,
                as_of: self.as_of,
                period: self.period,
                periods: Vec::new(),
                buckets: splits(&bucket_names, &all_buckets),
                grades: splits(&grade_names, &all_grades),
                deciles,
                warnings,
            };
        };
        let mut periods = Vec::new();
        let empty = Tally::default();
        for m in first..=last {
            let month = self.periods.get(&m).unwrap_or(&empty);
            for (k, v) in &month.buckets {
                let t = all_buckets.entry(*k).or_default();
                (t.0, t.1) = (t.0 + v.0, t.1 + v.1);
            }
            for (k, v) in &month.grades {
                let t = all_grades.entry(*k).or_default();
                (t.0, t.1) = (t.0 + v.0, t.1 + v.1);
            }
            let buckets = splits(&bucket_names, &month.buckets);
            let grades = splits(&grade_names, &month.grades);
            let name = self.period.name(m);
            warnings.extend(drift(&name, "bucket", &buckets));
            warnings.extend(drift(&name, "grade", &grades));
            periods.push(ModelPeriod {
                period: name,
                mqls: month.mqls,
                won: month.won,
                precision: rate(month.won, month.mqls),
                won_in_period: month.won_in_period,
                won_after_mql: month.won_after_mql,
                recall: rate(month.won_after_mql, month.won_in_period),
                buckets,
                grades,
            });
        }
        let buckets = splits(&bucket_names, &all_buckets);
        let grades = splits(&grade_names, &all_grades);
        warnings.extend(drift("all periods", "bucket", &buckets));
        warnings.extend(drift("all periods", "grade", &grades));
        if let (Some(bottom), Some(top)) = (deciles.first(), deciles.last())
            && deciles.len() == 10
            && bottom.leads >= DRIFT_MIN_LEADS
            && top.rate <= bottom.rate
        {
            warnings.push(format!(
                "all periods: the top tenth of totals converted {:.1}%, no better than the bottom tenth at {:.1}%",
                top.rate.unwrap_or(0.0) * 100.0,
                bottom.rate.unwrap_or(0.0) * 100.0
            ));
        }
        ModelReport {
            pipeline: self.name,
            as_of: self.as_of,
            period: self.period,
            periods,
            buckets,
            grades,
            deciles,
            warnings,
        }
    }
}

/// Ten groups of as equal a size as may be, by total (ties split by order), lowest first.
fn deciles(totals: &mut [(f64, bool)]) -> Vec<Decile> {
    totals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = totals.len();
    let groups = n.min(10);
    (0..groups)
        .map(|g| {
            let part = &totals[g * n / groups..(g + 1) * n / groups];
            let won = part.iter().filter(|(_, won)| *won).count() as u64;
            let leads = part.len() as u64;
            Decile {
                decile: (g + 1) as u32,
                min_total: part[0].0,
                max_total: part[part.len() - 1].0,
                leads,
                won,
                rate: rate(won, leads),
                interval: wilson(won, leads),
            }
        })
        .collect()
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn splits<K: std::hash::Hash + Eq + Copy>(
    order: &[(Option<K>, String)],
    counts: &FxHashMap<Option<K>, (u64, u64)>,
) -> Vec<Split> {
    order
        .iter()
        .map(|(key, name)| {
            let (leads, won) = counts.get(key).copied().unwrap_or((0, 0));
            Split { name: name.clone(), leads, won, rate: rate(won, leads), interval: wilson(won, leads) }
        })
        .collect()
}

/// A warning for each scored bucket (or grade) that converted no better than the next lower one
/// with enough leads in both.
fn drift(period: &str, what: &str, splits: &[Split]) -> Vec<String> {
    let scored: Vec<&Split> = splits.iter().filter(|s| s.name != "unscored" && s.leads >= DRIFT_MIN_LEADS).collect();
    scored
        .windows(2)
        .filter_map(|pair| {
            let (higher, lower) = (pair[0], pair[1]);
            let (h, l) = (higher.rate?, lower.rate?);
            (h <= l).then(|| {
                format!(
                    "{period}: {what} `{}` converted {:.1}% of {} leads, no better than `{}` at {:.1}% of {}: the score does not separate them",
                    higher.name,
                    h * 100.0,
                    higher.leads,
                    lower.name,
                    l * 100.0,
                    lower.leads
                )
            })
        })
        .collect()
}
