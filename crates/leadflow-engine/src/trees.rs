//! Predictive scoring with gradient-boosted trees: a calibrated probability of converting per
//! lead, with the factors that pushed it up or down.
//!
//! Features are the lead's profile fields and its engagement as of the moment scored: events
//! per type, days since the last of each type and of any, days since creation, and a decayed
//! count of everything (30-day half-life). The probability is calibrated on out-of-fold
//! predictions (Platt scaling), so that "30%" means about three in ten convert.

use leadflow_core::{FieldRef, FieldValue, LeadIds, Profile, Timestamp};
use leadflow_ml::evaluate::ScoreMapping;
use leadflow_ml::gbdt;
use leadflow_ml::linear::{Logistic, Matrix};
use leadflow_ml::metrics::roc_auc;
use leadflow_ml::{Column, Table};
use leadflow_store::prelude::*;
use leadflow_store::{RescoreItem, Store, Transaction};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::lab::{Case, Cutoff, distinct_types, event_types, leakage_warnings, learnable_fields, text_of};
use crate::{Engine, EngineError, Progress};

const DAY_MS: f64 = 86_400_000.0;
const FOLDS: usize = 5;

/// Which columns a lead becomes, fixed at training so that predictions read the same ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    /// Field references as written in model files (`industry`, `custom.plan`).
    pub text_fields: Vec<String>,
    pub number_fields: Vec<String>,
    pub event_types: Vec<String>,
    /// Custom date fields: days since, month and weekday each. (Older trees have none.)
    #[serde(default)]
    pub date_fields: Vec<String>,
}

/// The version of the trees' file format this build writes and reads. Files from before it had
/// none, and are the same as version 1.
pub const TREES_FORMAT: u32 = 1;

fn first_format() -> u32 {
    1
}

/// A trained tree model with what it needs to score and explain a lead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearnedTrees {
    /// [`TREES_FORMAT`] when written.
    #[serde(default = "first_format")]
    pub format: u32,
    pub name: String,
    pub trained_at: Timestamp,
    pub leads: usize,
    pub converted: usize,
    pub spec: FeatureSpec,
    pub model: gbdt::Model,
    /// From the trees' log-odds to a calibrated probability.
    pub calibration: ScoreMapping,
    /// ROC AUC of out-of-fold predictions (5 folds over the training leads).
    pub cross_validated_auc: Option<f64>,
    /// What training found suspicious (features that leak the outcome).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The leads it learned from, as ranges of ids (first, last), so that a backtest on them
    /// can say it is in-sample.
    #[serde(default, skip_serializing_if = "LeadIds::is_empty")]
    pub trained_on: LeadIds,
}

/// A lead's predicted chance of converting, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub probability: f64,
    /// (feature, push on the log-odds), largest first.
    pub factors: Vec<(String, f64)>,
}

fn field(name: &str) -> FieldRef {
    FieldRef::parse(name).expect("names come from FieldRef's own Display")
}

impl FeatureSpec {
    fn from_cases(cases: &[Case], shapes: &FxHashMap<u32, String>) -> FeatureSpec {
        let (text, number, dates) = learnable_fields(cases);
        let names = |fields: Vec<FieldRef>| fields.iter().map(ToString::to_string).collect();
        FeatureSpec {
            text_fields: names(text),
            number_fields: names(number),
            event_types: distinct_types(shapes),
            date_fields: names(dates),
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.text_fields.iter().chain(&self.number_fields).cloned().collect();
        for f in &self.date_fields {
            names.extend([format!("days since {f}"), format!("{f} month"), format!("{f} weekday")]);
        }
        for t in &self.event_types {
            names.push(format!("{t} events"));
            names.push(format!("days since last {t}"));
        }
        names.extend(
            ["days since any activity", "days since created", "recent activity (30-day decay)"].map(String::from),
        );
        names
    }

    /// Whether each column [`table`](Self::table) makes is numeric (else categorical), in order.
    fn numeric_columns(&self) -> Vec<bool> {
        std::iter::empty()
            .chain(self.text_fields.iter().map(|_| false))
            .chain(self.number_fields.iter().map(|_| true))
            .chain(self.date_fields.iter().flat_map(|_| [true, false, false]))
            .chain(self.event_types.iter().flat_map(|_| [true, true]))
            .chain([true; 3])
            .collect()
    }

    fn table(&self, leads: &[Seen<'_>]) -> Table {
        let mut columns: Vec<Column> = Vec::new();
        for f in &self.text_fields {
            let f = field(f);
            columns.push(Column::Categorical(leads.iter().map(|l| text_of(l.profile.value(&f))).collect()));
        }
        for f in &self.number_fields {
            let f = field(f);
            columns.push(Column::Numeric(
                leads
                    .iter()
                    .map(|l| match l.profile.value(&f) {
                        FieldValue::Number(n) => n,
                        _ => f64::NAN,
                    })
                    .collect(),
            ));
        }
        let days = |from: Timestamp, to: Timestamp| (to.millis() - from.millis()) as f64 / DAY_MS;
        for f in &self.date_fields {
            let f = field(f);
            let date = |l: &Seen<'_>| match l.profile.value(&f) {
                FieldValue::Date(t) => Some(t),
                _ => None,
            };
            columns.push(Column::Numeric(leads.iter().map(|l| date(l).map_or(f64::NAN, |t| days(t, l.at))).collect()));
            columns.push(Column::Categorical(leads.iter().map(|l| date(l).map(|t| t.month().to_string())).collect()));
            columns.push(Column::Categorical(leads.iter().map(|l| date(l).map(|t| t.weekday().to_string())).collect()));
        }
        // Per event type: how many up to the instant, and days since the last; one pass a lead.
        let types = self.event_types.len();
        let mut counts = vec![Vec::with_capacity(leads.len()); types];
        let mut since = vec![Vec::with_capacity(leads.len()); types];
        let position: FxHashMap<&str, usize> =
            self.event_types.iter().enumerate().map(|(i, t)| (t.as_str(), i)).collect();
        for Seen { activity, at, .. } in leads {
            let mut per_type: Vec<(usize, Option<Timestamp>)> = vec![(0, None); types];
            for (ts, kind) in activity.iter().filter(|(ts, _)| ts <= at) {
                if let Some(&i) = position.get(kind) {
                    let (n, last) = &mut per_type[i];
                    *n += 1;
                    *last = Some(last.map_or(*ts, |l| l.max(*ts)));
                }
            }
            for (i, (n, last)) in per_type.into_iter().enumerate() {
                counts[i].push(n as f64);
                since[i].push(last.map_or(f64::NAN, |l| days(l, *at)));
            }
        }
        for (count, since) in counts.into_iter().zip(since) {
            columns.push(Column::Numeric(count));
            columns.push(Column::Numeric(since));
        }
        let (mut since_any, mut since_created, mut decayed) = (Vec::new(), Vec::new(), Vec::new());
        for Seen { created_at, activity, at, .. } in leads {
            let before: Vec<Timestamp> = activity.iter().map(|(ts, _)| *ts).filter(|ts| ts <= at).collect();
            since_any.push(before.iter().max().map_or(f64::NAN, |l| days(*l, *at)));
            since_created.push(days(*created_at, *at));
            decayed.push(before.iter().map(|ts| 0.5f64.powf(days(*ts, *at) / 30.0)).sum());
        }
        columns.extend([Column::Numeric(since_any), Column::Numeric(since_created), Column::Numeric(decayed)]);
        let names = self.names();
        Table::new(names.into_iter().zip(columns).collect()).expect("one column per name, all of one length")
    }
}

/// A lead as of the moment it is scored.
struct Seen<'a> {
    profile: &'a Profile,
    created_at: Timestamp,
    /// (time, event type), every event; those after `at` do not count.
    activity: Vec<(Timestamp, &'a str)>,
    at: Timestamp,
}

/// The cases as tree features see them: each as of its own scoring instant.
fn seen<'a>(cases: &'a [Case], shapes: &'a FxHashMap<u32, String>) -> Vec<Seen<'a>> {
    cases
        .iter()
        .map(|c| Seen {
            profile: &c.item.profile,
            created_at: c.item.created_at,
            activity: activity_types(&c.item, shapes),
            at: c.scored_at,
        })
        .collect()
}

fn activity_types<'a>(item: &RescoreItem, shapes: &'a FxHashMap<u32, String>) -> Vec<(Timestamp, &'a str)> {
    item.activity.iter().filter_map(|(ts, shape)| shapes.get(shape).map(|t| (*ts, t.as_str()))).collect()
}

impl LearnedTrees {
    fn probability(&self, raw: f64) -> f64 {
        self.calibration.probability(raw)
    }

    /// The trees' file: JSON, of format [`TREES_FORMAT`].
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("trees always serialize")
    }

    /// Trees from their file (or a stored artifact), refused with the reason when the bytes are
    /// not trees this build can use: not JSON of trees, a newer format, or trees that do not fit
    /// their own features.
    pub fn read(bytes: &[u8]) -> Result<LearnedTrees, EngineError> {
        let bad = |why: String| EngineError::InvalidTrees(why);
        let learned: LearnedTrees = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if learned.format > TREES_FORMAT {
            return Err(bad(format!(
                "format {} is newer than this leadflow reads ({TREES_FORMAT}): upgrade leadflow",
                learned.format
            )));
        }
        learned.model.check().map_err(bad)?;
        let spec = &learned.spec;
        for name in spec.text_fields.iter().chain(&spec.number_fields).chain(&spec.date_fields) {
            if FieldRef::parse(name).is_none() {
                return Err(bad(format!("`{name}` is not a field")));
            }
        }
        let expected = spec.numeric_columns();
        let found: Vec<bool> =
            learned.model.mappers.iter().map(|m| matches!(m, leadflow_ml::bins::BinMapper::Numeric { .. })).collect();
        if expected != found {
            return Err(bad(format!(
                "the trees have {} features and the feature list describes {} (or their kinds differ)",
                found.len(),
                expected.len()
            )));
        }
        Ok(learned)
    }
}

impl<S: Store> Engine<S> {
    /// Learns gradient-boosted trees from the leads with outcomes, each seen as of `cutoff`;
    /// calibrates them on out-of-fold predictions and reports their cross-validated AUC.
    pub fn train_trees(
        &mut self,
        cutoff: Cutoff,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<LearnedTrees, EngineError> {
        let (cases, _) = self.cases(cutoff, progress)?;
        let shapes = event_types(&self.store.shapes()?);
        let spec = FeatureSpec::from_cases(&cases, &shapes);
        let table = spec.table(&seen(&cases, &shapes));
        let y: Vec<bool> = cases.iter().map(|c| c.outcome.converted()).collect();
        let params = gbdt::Params::default();

        // Out-of-fold log-odds, for an honest AUC and for calibration.
        let mut raw = vec![0.0; y.len()];
        // Folds by a hash of the lead id: deterministic, and blind to any order the ids carry.
        let fold_of = |i: usize| {
            let h = (cases[i].lead.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (h >> 32) as usize % FOLDS
        };
        for k in 0..FOLDS {
            let train: Vec<usize> = (0..y.len()).filter(|&i| fold_of(i) != k).collect();
            let test: Vec<usize> = (0..y.len()).filter(|&i| fold_of(i) == k).collect();
            let y_train: Vec<bool> = train.iter().map(|&i| y[i]).collect();
            if test.is_empty() || y_train.iter().all(|v| *v) || y_train.iter().all(|v| !*v) {
                continue;
            }
            let model = gbdt::Model::train(&table.take(&train), &y_train, &params);
            for (&i, r) in test.iter().zip(model.predict_raw(&table.take(&test))) {
                raw[i] = r;
            }
        }
        let cross_validated_auc = roc_auc(&raw, &y);
        let warnings = leakage_warnings(&table, &y, cross_validated_auc);
        let platt = Logistic::fit(&Matrix { width: 1, values: raw.clone() }, &y, 1e-6);
        let calibration = ScoreMapping { intercept: platt.intercept, slope: platt.weights[0] };
        let model = gbdt::Model::train(&table, &y, &params);
        Ok(LearnedTrees {
            format: TREES_FORMAT,
            name: name.to_string(),
            trained_at: self.now(),
            leads: y.len(),
            converted: y.iter().filter(|v| **v).count(),
            spec,
            model,
            calibration,
            cross_validated_auc,
            warnings,
            trained_on: LeadIds::of(cases.iter().map(|c| c.lead)),
        })
    }

    /// Backtests trees like a points model: the leads with outcomes, each as of `cutoff`, judged
    /// by their calibrated probabilities. The leads the trees learned from score better than new
    /// ones would: the result counts them (`in_sample`).
    pub fn backtest_trees(
        &mut self,
        learned: &LearnedTrees,
        cutoff: Cutoff,
        progress: &dyn Progress,
    ) -> Result<crate::Backtest, EngineError> {
        let (cases, left_out) = self.cases(cutoff, progress)?;
        let in_sample = cases.iter().filter(|c| learned.trained_on.contains(c.lead)).count();
        let shapes = event_types(&self.store.shapes()?);
        let raw = learned.model.predict_raw(&learned.spec.table(&seen(&cases, &shapes)));
        let judged: Vec<leadflow_ml::evaluate::Judged> = cases
            .iter()
            .zip(raw)
            .map(|(c, r)| {
                let p = learned.probability(r);
                leadflow_ml::evaluate::Judged {
                    score: p * 100.0,
                    converted: c.outcome.converted(),
                    bucket: None,
                    grade: None,
                    mql: false,
                    probability: Some(p),
                }
            })
            .collect();
        Ok(crate::Backtest {
            leads: Vec::new(),
            left_out,
            in_sample,
            report: leadflow_ml::evaluate::report(&judged, &[], &[]),
        })
    }

    /// Stores trees (their artifact, as the caller encodes them) as a new version, makes it the
    /// active predictive model, and predicts every lead with it; returns the version and how
    /// many leads were predicted.
    pub fn apply_trees(
        &mut self,
        learned: &LearnedTrees,
        artifact: &[u8],
        progress: &dyn Progress,
    ) -> Result<(i64, u64), EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_trained(&learned.name, artifact, now)?;
        tx.activate_trained(version, now)?;
        tx.commit()?;
        let predicted = self.refresh_predictions(learned, version, progress)?;
        Ok((version, predicted))
    }

    /// The active trained model, read back from its stored artifact, with its version.
    pub fn active_trees(&self) -> Result<Option<(LearnedTrees, i64)>, EngineError> {
        let Some(active) = self.store.trained_models()?.into_iter().find(|m| m.active) else {
            return Ok(None);
        };
        let learned = LearnedTrees::read(&active.artifact).map_err(|e| match e {
            EngineError::InvalidTrees(why) => {
                EngineError::InvalidTrees(format!("stored trained model {} is unreadable: {why}", active.version))
            }
            other => other,
        })?;
        Ok(Some((learned, active.version)))
    }

    /// Predicts every lead as of now with `learned` (stored as `version`), and keeps the results.
    pub fn refresh_predictions(
        &mut self,
        learned: &LearnedTrees,
        version: i64,
        progress: &dyn Progress,
    ) -> Result<u64, EngineError> {
        let now = self.now();
        let shapes = event_types(&self.store.shapes()?);
        progress.start(self.store.count_for_rescore(leadflow_store::ScanScope::All)?);
        let request =
            leadflow_store::ScanRequest { scope: leadflow_store::ScanScope::All, states_of: None, batch: 20_000 };
        let mut predicted = 0u64;
        self.store.scan_for_rescore(request, &mut |store, items| {
            let rows: Vec<Seen<'_>> = items
                .iter()
                .map(|item| Seen {
                    profile: &item.profile,
                    created_at: item.created_at,
                    activity: activity_types(item, &shapes),
                    at: now,
                })
                .collect();
            let raw = learned.model.predict_raw(&learned.spec.table(&rows));
            let predictions: Vec<(leadflow_core::LeadId, f64)> =
                items.iter().zip(raw).map(|(item, r)| (item.id, learned.probability(r))).collect();
            store.write_predictions(version, now, &predictions)?;
            predicted += predictions.len() as u64;
            progress.advance(predictions.len() as u64);
            Ok(())
        })?;
        Ok(predicted)
    }

    /// Stored trained models, oldest first.
    pub fn trained_models(&self) -> Result<Vec<leadflow_store::TrainedRecord>, EngineError> {
        Ok(self.store.trained_models()?)
    }

    /// The calibrated chance that each of `leads` converts, as of `as_of`, with its factors.
    pub fn predict(
        &self,
        learned: &LearnedTrees,
        leads: &[leadflow_core::LeadId],
        as_of: Timestamp,
    ) -> Result<Vec<Prediction>, EngineError> {
        let mut found = Vec::with_capacity(leads.len());
        for id in leads {
            let record = self
                .store
                .lead(&leadflow_core::LeadRef::Id(*id))?
                .ok_or(EngineError::NoSuchLead(leadflow_core::LeadRef::Id(*id)))?;
            let activity = self.store.activity(*id)?;
            found.push((record, activity));
        }
        let rows: Vec<_> = found
            .iter()
            .map(|(r, activity)| {
                let activity = activity.iter().map(|(ts, shape)| (*ts, shape.event_type.as_str())).collect();
                Seen { profile: &r.profile, created_at: r.created_at, activity, at: as_of }
            })
            .collect();
        let table = learned.spec.table(&rows);
        let names = learned.spec.names();
        let raw = learned.model.predict_raw(&table);
        Ok((0..rows.len())
            .map(|i| {
                let (_, pushes) = learned.model.contributions(&table, i);
                Prediction {
                    probability: learned.probability(raw[i]),
                    factors: pushes.into_iter().take(5).map(|(f, p)| (names[f].clone(), p)).collect(),
                }
            })
            .collect())
    }
}
