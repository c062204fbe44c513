//! `leadflow train`: a points model learned from outcomes, written as a model file that the
//! rules engine runs unchanged and a marketer can read and edit.
//!
//! Every feature is one a rule can compute, so the file scores exactly what the regression
//! learned: a profile field having a value (`in`), a number within a band (`between`), and a
//! count of events of a type up to a cap (an engagement rule with `max_count`, without decay).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use leadflow_core::model::format_number;
use leadflow_core::{FieldRef, FieldValue, Model, Timestamp};
use leadflow_ml::Column;
use leadflow_ml::linear::{Logistic, Matrix};
use leadflow_ml::metrics::roc_auc;
use leadflow_store::Store;
use rustc_hash::FxHashMap;

use crate::lab::{Cutoff, distinct_types, event_types, leakage_warnings, learnable_fields, score_cases, text_of};
use crate::rescore::shape_matches;
use crate::{Engine, EngineError, Progress};

/// Events of a type counted per lead, at most.
const EVENT_CAP: usize = 5;
/// Values of a field learned at most (the most frequent).
const MAX_LEVELS: usize = 30;

#[derive(Clone, Debug, PartialEq)]
enum Feature {
    Is { field: FieldRef, value: String },
    Within { field: FieldRef, min: Option<f64>, max: Option<f64> },
    Events { event_type: String },
}

impl std::fmt::Display for Feature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Feature::Is { field, value } => write!(f, "{field} = {value}"),
            Feature::Within { field, min, max } => {
                write!(
                    f,
                    "{field} in {}..{}",
                    min.map_or(String::new(), format_number),
                    max.map_or(String::new(), format_number)
                )
            }
            Feature::Events { event_type } => write!(f, "{event_type} events"),
        }
    }
}

/// What training produced.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedPoints {
    /// The model file (TOML), already checked to parse.
    pub source: String,
    pub leads: usize,
    pub converted: usize,
    pub rules: usize,
    /// AUC of the learned points on the leads they were learned from (optimistic).
    pub auc_in_sample: Option<f64>,
    /// What training found suspicious or had to cut: features that leak the outcome, fields
    /// with more values than become features.
    pub warnings: Vec<String>,
}

fn number_of(v: FieldValue<'_>) -> Option<f64> {
    match v {
        FieldValue::Number(n) if n.is_finite() => Some(n),
        _ => None,
    }
}

/// Bands of about equal counts, as (min, max) of the values each holds.
fn bands(values: &mut [f64], count: usize) -> Vec<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    let mut out: Vec<(f64, f64)> = Vec::new();
    let n = values.len();
    let mut start = 0;
    for k in 1..=count {
        let mut end = (n * k / count).max(start);
        // Equal values stay in one band.
        while end < n && end > 0 && values[end] == values[end - 1] {
            end += 1;
        }
        if end > start {
            out.push((values[start], values[end - 1]));
            start = end;
        }
    }
    out
}

fn rule_id(taken: &mut FxHashMap<String, usize>, parts: &[&str]) -> String {
    let mut id: String =
        parts.join("_").to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    while id.contains("__") {
        id = id.replace("__", "_");
    }
    let mut id = id.trim_matches('_').chars().take(56).collect::<String>();
    if id.is_empty() {
        id = "rule".into();
    }
    let n = taken.entry(id.clone()).or_default();
    *n += 1;
    if *n > 1 { format!("{id}_{n}") } else { id }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

impl<S: Store> Engine<S> {
    /// Learns a points model from the leads with outcomes, each seen as of `cutoff`.
    pub fn train_points(
        &mut self,
        cutoff: Cutoff,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<LearnedPoints, EngineError> {
        let (cases, _) = self.cases(cutoff, progress)?;
        let stored_shapes = self.store.shapes()?;
        let shapes = event_types(&stored_shapes);
        let n = cases.len();
        let min_rows = 10.max(n / 200);

        // Candidate features, from what the leads carry.
        let (text_fields, number_fields, _) = learnable_fields(&cases);

        let mut features = Vec::new();
        let mut warnings = Vec::new();
        for field in &text_fields {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for c in &cases {
                if let Some(v) = text_of(c.item.profile.value(field)) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut levels: Vec<(String, usize)> = counts.into_iter().filter(|(_, k)| *k >= min_rows).collect();
            levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            if levels.len() > MAX_LEVELS {
                warnings.push(format!(
                    "{field} has {} values held by at least {min_rows} leads each; the {MAX_LEVELS} most common became features",
                    levels.len()
                ));
            }
            features.extend(
                levels.into_iter().take(MAX_LEVELS).map(|(value, _)| Feature::Is { field: field.clone(), value }),
            );
        }
        for field in &number_fields {
            let mut values: Vec<f64> = cases.iter().filter_map(|c| number_of(c.item.profile.value(field))).collect();
            if values.len() >= 4 * min_rows {
                for (lo, hi) in bands(&mut values, 4) {
                    features.push(Feature::Within { field: field.clone(), min: Some(lo), max: Some(hi) });
                }
            }
        }
        features.extend(distinct_types(&shapes).into_iter().map(|event_type| Feature::Events { event_type }));

        let width = features.len();
        let mut values = vec![0.0; n * width];
        for (i, c) in cases.iter().enumerate() {
            let row = &mut values[i * width..(i + 1) * width];
            let mut per_type: FxHashMap<&str, usize> = FxHashMap::default();
            for (ts, shape) in &c.item.activity {
                if *ts <= c.scored_at
                    && let Some(t) = shapes.get(shape)
                {
                    *per_type.entry(t.as_str()).or_default() += 1;
                }
            }
            for (x, f) in row.iter_mut().zip(&features) {
                *x = match f {
                    Feature::Is { field, value } => {
                        f64::from(u8::from(text_of(c.item.profile.value(field)).as_deref() == Some(value.as_str())))
                    }
                    Feature::Within { field, min, max } => {
                        let v = number_of(c.item.profile.value(field));
                        f64::from(u8::from(v.is_some_and(|v| min.is_none_or(|m| m <= v) && max.is_none_or(|m| v <= m))))
                    }
                    Feature::Events { event_type } => {
                        per_type.get(event_type.as_str()).copied().unwrap_or(0).min(EVENT_CAP) as f64
                    }
                };
            }
        }
        // Features no lead has teach nothing and would only clutter the file.
        let used: Vec<usize> = (0..width).filter(|&j| (0..n).any(|i| values[i * width + j] != 0.0)).collect();
        let features: Vec<Feature> = used.iter().map(|&j| features[j].clone()).collect();
        let values: Vec<f64> =
            (0..n).flat_map(|i| used.iter().map(move |&j| (i, j))).map(|(i, j)| values[i * width + j]).collect();
        let x = Matrix { width: features.len(), values };
        let y: Vec<bool> = cases.iter().map(|c| c.outcome.converted()).collect();
        // Each feature as a column, for the leakage check (two bands may print alike: one each).
        let mut named = std::collections::HashSet::new();
        let columns: Vec<(String, Column)> = features
            .iter()
            .enumerate()
            .filter(|(_, f)| named.insert(f.to_string()))
            .map(|(j, f)| (f.to_string(), Column::Numeric((0..n).map(|i| x.values[i * x.width + j]).collect())))
            .collect();
        let table = leadflow_ml::Table::new(columns).expect("distinct names, one value per lead each");
        let fit = Logistic::fit(&x, &y, 1.0);

        let trained_on = leadflow_core::LeadIds::of(cases.iter().map(|c| c.lead));
        let source = points_file(name, &features, &fit, &x, &y, self.now(), &trained_on);
        let model = Model::parse(&source)?;
        let auc = {
            let learned = score_cases(&model, &shape_matches(&model, &stored_shapes), &cases)?;
            roc_auc(&learned.iter().map(|b| b.card.total).collect::<Vec<_>>(), &y)
        };
        let rules = model.fit.rules.len() + model.engagement.rules.len();
        warnings.extend(leakage_warnings(&table, &y, None));
        Ok(LearnedPoints {
            source,
            leads: n,
            converted: y.iter().filter(|v| **v).count(),
            rules,
            auc_in_sample: auc,
            warnings,
        })
    }
}

/// The model file for the regression's weights, scaled to points.
fn points_file(
    name: &str,
    features: &[Feature],
    fit: &Logistic,
    x: &Matrix,
    y: &[bool],
    now: Timestamp,
    trained_on: &leadflow_core::LeadIds,
) -> String {
    // Scale so that the spread of learned sums (1st to 99th percentile) spans about 100 points.
    let sums = |points: &dyn Fn(usize) -> f64, keep: &dyn Fn(&Feature) -> bool| -> Vec<f64> {
        (0..x.rows())
            .map(|i| (0..x.width).filter(|&j| keep(&features[j])).map(|j| x.values[i * x.width + j] * points(j)).sum())
            .collect()
    };
    let all = |_: &Feature| true;
    let mut raw = sums(&|j| fit.weights[j], &all);
    raw.sort_by(f64::total_cmp);
    let spread = (quantile(&raw, 0.99) - quantile(&raw, 0.01)).max(1e-9);
    let scale = 100.0 / spread;
    let points: Vec<f64> = fit.weights.iter().map(|w| (w * scale * 10.0).round() / 10.0).collect();
    let is_fit = |f: &Feature| !matches!(f, Feature::Events { .. });
    let is_engagement = |f: &Feature| matches!(f, Feature::Events { .. });
    let kept = |j: usize| points[j].abs() >= 0.5;
    let mut fit_sums = sums(&|j| if kept(j) { points[j] } else { 0.0 }, &is_fit);
    let mut eng_sums = sums(&|j| if kept(j) { points[j] } else { 0.0 }, &is_engagement);
    let mut totals: Vec<f64> = fit_sums.iter().zip(&eng_sums).map(|(a, b)| a + b).collect();
    for v in [&mut fit_sums, &mut eng_sums, &mut totals] {
        v.sort_by(f64::total_cmp);
    }
    let lo = |v: &[f64]| v.first().copied().unwrap_or(0.0).floor() - 1.0;
    let hi = |v: &[f64]| v.last().copied().unwrap_or(0.0).ceil() + 1.0;
    let (total_min, total_max) = (lo(&totals), hi(&totals).max(lo(&totals) + 2.0));
    // Demographics may make up at most half of the total's range.
    let fit_max = hi(&fit_sums).min((total_max - total_min) / 2.0).max(lo(&fit_sums) + 1.0);
    let converted = y.iter().filter(|v| **v).count();

    let mut out = String::new();
    let _ = writeln!(out, "# Learned by `leadflow train` on {now} from {} leads ({converted} converted).", y.len());
    let _ = writeln!(out, "# Points are logistic-regression weights, scaled: edit them as you would any model.");
    let _ = writeln!(out, "name = {}", quote(name));
    let _ = writeln!(out, "description = {}", quote(&format!("Learned from {} leads with outcomes", y.len())));
    let _ = writeln!(out, "# The leads it learned from: a backtest on them says it is in-sample.");
    let _ = writeln!(out, "trained_on = {}\n", quote(&trained_on.to_string()));
    let _ = writeln!(out, "[fit]\nmin = {}\nmax = {}\n", lo(&fit_sums), fit_max);
    let mut ids = FxHashMap::default();
    for (j, f) in features.iter().enumerate().filter(|(j, _)| kept(*j)) {
        match f {
            Feature::Is { field, value } => {
                let id = rule_id(&mut ids, &[&field.to_string().replace("custom.", ""), value]);
                let _ = writeln!(
                    out,
                    "[[fit.rules]]\nid = {}\nfield = {}\nop = \"in\"\nvalues = [{}]\npoints = {}\n",
                    quote(&id),
                    quote(&field.to_string()),
                    quote(value),
                    points[j]
                );
            }
            Feature::Within { field, min, max } => {
                let bounds = |m: &Option<f64>| m.map_or("any".to_string(), leadflow_core::model::format_number);
                let id =
                    rule_id(&mut ids, &[&field.to_string().replace("custom.", ""), &bounds(min), "to", &bounds(max)]);
                let _ = write!(
                    out,
                    "[[fit.rules]]\nid = {}\nfield = {}\nop = \"between\"\n",
                    quote(&id),
                    quote(&field.to_string())
                );
                if let Some(m) = min {
                    let _ = writeln!(out, "min = {m}");
                }
                if let Some(m) = max {
                    let _ = writeln!(out, "max = {m}");
                }
                let _ = writeln!(out, "points = {}\n", points[j]);
            }
            Feature::Events { .. } => {}
        }
    }
    let _ = writeln!(out, "[engagement]\nmin = {}\nmax = {}\n", lo(&eng_sums), hi(&eng_sums));
    for (j, f) in features.iter().enumerate().filter(|(j, _)| kept(*j)) {
        if let Feature::Events { event_type } = f {
            let id = rule_id(&mut ids, &[event_type]);
            let _ = writeln!(
                out,
                "[[engagement.rules]]\nid = {}\nevent = {}\npoints = {}\nmax_count = {EVENT_CAP}\n",
                quote(&id),
                quote(event_type),
                points[j]
            );
        }
    }
    let _ = writeln!(out, "[total]\nmin = {total_min}\nmax = {total_max}\n");
    // Buckets and grades by where the learned scores fall: the top tenth is hot.
    let (hot, warm) = (quantile(&totals, 0.9), quantile(&totals, 0.6));
    let warm = if warm < hot { warm } else { hot - 1.0 };
    let _ = writeln!(
        out,
        "[[buckets]]\nname = \"hot\"\nmin = {hot}\n\n[[buckets]]\nname = \"warm\"\nmin = {warm}\n\n[[buckets]]\nname = \"cold\"\n"
    );
    let mut last = f64::INFINITY;
    for (grade, q) in [("A", 0.9), ("B", 0.7), ("C", 0.4), ("D", 0.2)] {
        let at = quantile(&fit_sums, q).min(last - 0.1);
        let _ = writeln!(out, "[[grades]]\ngrade = \"{grade}\"\nmin_fit = {}\n", (at * 10.0).floor() / 10.0);
        last = (at * 10.0).floor() / 10.0;
    }
    let _ = writeln!(out, "[[grades]]\ngrade = \"F\"\n");
    let _ = writeln!(out, "[mql]\nmin_total = {hot}");
    out
}
