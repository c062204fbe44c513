//! How well a scoring ranked leads whose outcomes are known: the numbers of a backtest.

use serde::Serialize;

use crate::metrics::roc_auc;

/// One lead as a backtest sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub score: f64,
    pub converted: bool,
    /// The lead's bucket (hot, warm, ...) and grade (A-F) under the scoring, if it has them.
    pub bucket: Option<String>,
    pub grade: Option<String>,
    /// Whether the scoring made it marketing-qualified.
    pub mql: bool,
    /// A probability of converting, for scorings that give one.
    pub probability: Option<f64>,
}

/// Conversion within one group of leads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    pub name: String,
    pub leads: usize,
    pub converted: usize,
    pub rate: f64,
    /// `rate` over the base rate: 2.0 converts twice as often as the average lead.
    pub lift: f64,
    /// Of all converters, the share in this group.
    pub share_of_converters: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decile {
    /// 1 is the top-scored tenth.
    pub decile: usize,
    pub min_score: f64,
    pub max_score: f64,
    #[serde(flatten)]
    pub group: Group,
    /// Converters caught by calling deciles 1 to this one.
    pub cumulative_share_of_converters: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MqlRule {
    pub flagged: usize,
    pub flagged_converted: usize,
    /// Of the MQLs, the share that converted.
    pub precision: f64,
    /// Of the converters, the share that were MQLs.
    pub recall: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub predicted: f64,
    pub observed: f64,
    pub leads: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ScoreMapping {
    pub intercept: f64,
    pub slope: f64,
}

impl ScoreMapping {
    pub fn probability(&self, score: f64) -> f64 {
        1.0 / (1.0 + (-(self.intercept + self.slope * score)).exp())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub leads: usize,
    pub converted: usize,
    pub base_rate: f64,
    pub auc: Option<f64>,
    pub buckets: Vec<Group>,
    pub grades: Vec<Group>,
    pub deciles: Vec<Decile>,
    pub mql: MqlRule,
    /// For probabilities: predicted against observed, by tenths of the prediction.
    pub calibration: Vec<CalibrationBin>,
    /// Mean squared error of the probabilities (lower is better).
    pub brier: Option<f64>,
    /// For scores that are not probabilities (points): the logistic curve fitted to these
    /// outcomes, P(convert) = 1 / (1 + e^-(intercept + slope * score)) (Platt scaling), which
    /// `calibration` and `brier` then judge. Fitted on the same leads: read it as a description.
    pub score_to_probability: Option<ScoreMapping>,
    /// The cumulative gains curve: (share of leads called, top-scored first; share of
    /// converters caught), at 1% steps.
    pub gains: Vec<(f64, f64)>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn group(name: String, members: &[&Judged], base_rate: f64, total_converted: usize) -> Group {
    let converted = members.iter().filter(|j| j.converted).count();
    let rate = ratio(converted, members.len());
    Group {
        name,
        leads: members.len(),
        converted,
        rate,
        lift: if base_rate > 0.0 { rate / base_rate } else { 0.0 },
        share_of_converters: ratio(converted, total_converted),
    }
}

/// Groups in the order given (then any others, by name); groups with no lead are kept, so that
/// two reports line up.
fn groups_by(
    judged: &[Judged],
    key: impl Fn(&Judged) -> Option<&str>,
    order: &[String],
    base: f64,
    total: usize,
) -> Vec<Group> {
    let mut names: Vec<String> = order.to_vec();
    let mut others: Vec<String> = judged.iter().filter_map(&key).map(str::to_string).collect();
    others.sort();
    others.dedup();
    names.extend(others.into_iter().filter(|n| !order.contains(n)));
    names
        .into_iter()
        .map(|name| {
            let members: Vec<&Judged> = judged.iter().filter(|j| key(j) == Some(name.as_str())).collect();
            group(name, &members, base, total)
        })
        .collect()
}

/// The report for `judged`, with buckets and grades listed in `bucket_order` and `grade_order`.
pub fn report(judged: &[Judged], bucket_order: &[String], grade_order: &[String]) -> Report {
    let n = judged.len();
    let converted = judged.iter().filter(|j| j.converted).count();
    let base = ratio(converted, n);
    let scores: Vec<f64> = judged.iter().map(|j| j.score).collect();
    let outcomes: Vec<bool> = judged.iter().map(|j| j.converted).collect();

    // Top-scored first; ties in input order, so that the deciles are reproducible.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| judged[b].score.total_cmp(&judged[a].score));
    let mut deciles = Vec::new();
    let mut caught = 0;
    for d in 0..10 {
        let (from, to) = (n * d / 10, n * (d + 1) / 10);
        if from == to {
            continue;
        }
        let members: Vec<&Judged> = order[from..to].iter().map(|&i| &judged[i]).collect();
        let g = group(format!("{}", d + 1), &members, base, converted);
        caught += g.converted;
        deciles.push(Decile {
            decile: d + 1,
            min_score: members.iter().map(|j| j.score).fold(f64::INFINITY, f64::min),
            max_score: members.iter().map(|j| j.score).fold(f64::NEG_INFINITY, f64::max),
            cumulative_share_of_converters: ratio(caught, converted),
            group: g,
        });
    }
    let mut gains = vec![(0.0, 0.0)];
    let mut running = 0;
    let mut next_step = 1;
    for (k, &i) in order.iter().enumerate() {
        running += usize::from(judged[i].converted);
        while next_step <= 100 && (k + 1) * 100 >= next_step * n {
            gains.push((next_step as f64 / 100.0, ratio(running, converted)));
            next_step += 1;
        }
    }

    let flagged: Vec<&Judged> = judged.iter().filter(|j| j.mql).collect();
    let flagged_converted = flagged.iter().filter(|j| j.converted).count();
    let given: Option<Vec<f64>> = judged.iter().map(|j| j.probability).collect();
    let mapping = match &given {
        Some(_) => None,
        None if converted > 0 && converted < n => {
            let x = crate::linear::Matrix { width: 1, values: scores.clone() };
            let fit = crate::linear::Logistic::fit(&x, &outcomes, 1e-6);
            Some(ScoreMapping { intercept: fit.intercept, slope: fit.weights[0] })
        }
        None => None,
    };
    let probabilities = given.or_else(|| mapping.map(|m| scores.iter().map(|s| m.probability(*s)).collect()));
    let (calibration, brier) = match probabilities.filter(|p| !p.is_empty()) {
        Some(p) => {
            let mut by_p: Vec<usize> = (0..n).collect();
            by_p.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
            let bins = (0..10)
                .filter_map(|d| {
                    let members = &by_p[n * d / 10..n * (d + 1) / 10];
                    (!members.is_empty()).then(|| CalibrationBin {
                        predicted: members.iter().map(|&i| p[i]).sum::<f64>() / members.len() as f64,
                        observed: ratio(members.iter().filter(|&&i| judged[i].converted).count(), members.len()),
                        leads: members.len(),
                    })
                })
                .collect();
            let brier =
                p.iter().zip(&outcomes).map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2)).sum::<f64>() / n as f64;
            (bins, Some(brier))
        }
        None => (Vec::new(), None),
    };
    Report {
        leads: n,
        converted,
        base_rate: base,
        auc: roc_auc(&scores, &outcomes),
        buckets: groups_by(judged, |j| j.bucket.as_deref(), bucket_order, base, converted),
        grades: groups_by(judged, |j| j.grade.as_deref(), grade_order, base, converted),
        deciles,
        mql: MqlRule {
            flagged: flagged.len(),
            flagged_converted,
            precision: ratio(flagged_converted, flagged.len()),
            recall: ratio(flagged_converted, converted),
        },
        calibration,
        brier,
        score_to_probability: mapping,
        gains,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(score: f64, converted: bool, bucket: &str, mql: bool) -> Judged {
        Judged {
            score,
            converted,
            bucket: Some(bucket.into()),
            grade: Some(if score > 50.0 { "A" } else { "C" }.into()),
            mql,
            probability: None,
        }
    }

    #[test]
    fn buckets_deciles_and_the_mql_rule() {
        let mut judged = Vec::new();
        for i in 0..100 {
            let score = i as f64;
            // The top 20 convert one in two; the rest one in ten.
            let converted = if i >= 80 { i % 2 == 0 } else { i % 10 == 0 };
            let bucket = if i >= 80 {
                "hot"
            } else if i >= 50 {
                "warm"
            } else {
                "cold"
            };
            judged.push(lead(score, converted, bucket, i >= 90));
        }
        let r = report(&judged, &["hot".into(), "warm".into(), "cold".into(), "none".into()], &[]);
        assert_eq!((r.leads, r.converted), (100, 18));
        assert_eq!(
            r.buckets.iter().map(|g| (g.name.as_str(), g.leads, g.converted)).collect::<Vec<_>>(),
            [("hot", 20, 10), ("warm", 30, 3), ("cold", 50, 5), ("none", 0, 0)]
        );
        let hot = &r.buckets[0];
        assert!((hot.lift - 0.5 / 0.18).abs() < 1e-12);
        assert!((hot.share_of_converters - 10.0 / 18.0).abs() < 1e-12);
        assert_eq!(r.deciles.len(), 10);
        assert_eq!((r.deciles[0].min_score, r.deciles[0].max_score), (90.0, 99.0));
        assert!((r.deciles[9].cumulative_share_of_converters - 1.0).abs() < 1e-12);
        assert_eq!((r.mql.flagged, r.mql.flagged_converted), (10, 5));
        assert!((r.mql.recall - 5.0 / 18.0).abs() < 1e-12);
        assert_eq!(r.gains.first(), Some(&(0.0, 0.0)));
        assert_eq!(r.gains.len(), 101);
        assert!((r.gains[100].1 - 1.0).abs() < 1e-12);
        assert!(r.gains.windows(2).all(|w| w[0].1 <= w[1].1));
        assert!(r.auc.unwrap() > 0.6, "the top converts more: {:?}", r.auc);
        // Points are not probabilities: a curve fitted to the outcomes maps them to some.
        let m = r.score_to_probability.expect("a mapping for points");
        assert!(m.slope > 0.0 && m.probability(99.0) > m.probability(0.0));
        assert_eq!(r.calibration.len(), 10);
        assert!(r.brier.unwrap() < 0.18 * 0.82 + 1e-9, "better than the base rate alone: {:?}", r.brier);
    }

    #[test]
    fn probabilities_get_calibration_and_brier() {
        let judged: Vec<Judged> = (0..1000)
            .map(|i| {
                let p = (i % 10) as f64 / 10.0 + 0.05;
                Judged {
                    score: p,
                    converted: (i / 10) % 100 < (p * 100.0) as usize,
                    bucket: None,
                    grade: None,
                    mql: false,
                    probability: Some(p),
                }
            })
            .collect();
        let r = report(&judged, &[], &[]);
        assert!(r.score_to_probability.is_none(), "probabilities are judged as given");
        assert_eq!(r.calibration.len(), 10);
        for bin in &r.calibration {
            assert!((bin.predicted - bin.observed).abs() < 0.011, "{bin:?}");
        }
        assert!(r.brier.unwrap() < 0.25);
    }
}
