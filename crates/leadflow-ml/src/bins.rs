//! Values to small integers: what histogram trees split on. Bin 0 always holds the missing
//! values; a column has at most [`MAX_BINS`] bins.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Column, Table};

pub const MAX_BINS: usize = 256;

/// How one column's values map to bins, learned from training data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BinMapper {
    /// Bin `b` (1-based) holds values above `thresholds[b - 2]` and up to `thresholds[b - 1]`.
    Numeric { thresholds: Vec<f64> },
    /// Bin `i + 1` is `categories[i]`; the last bin holds categories not seen in training (or too
    /// rare to get a bin of their own).
    Categorical { categories: Vec<String> },
}

impl BinMapper {
    pub fn fit(column: &Column) -> BinMapper {
        match column {
            Column::Numeric(values) => {
                let mut seen: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
                seen.sort_by(f64::total_cmp);
                BinMapper::Numeric { thresholds: thresholds(&seen, MAX_BINS - 1) }
            }
            Column::Categorical(values) => {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for v in values.iter().flatten() {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
                let mut by_count: Vec<(&str, usize)> = counts.into_iter().collect();
                // Most frequent first; names break ties so that fitting is deterministic.
                by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let categories = by_count.into_iter().take(MAX_BINS - 2).map(|(c, _)| c.to_string()).collect();
                BinMapper::Categorical { categories }
            }
        }
    }

    /// How many bins, the missing one included.
    pub fn bins(&self) -> usize {
        match self {
            BinMapper::Numeric { thresholds } => thresholds.len() + 2,
            BinMapper::Categorical { categories } => categories.len() + 2,
        }
    }

    pub fn is_categorical(&self) -> bool {
        matches!(self, BinMapper::Categorical { .. })
    }

    /// Bins a whole column. A column of the other kind than the mapper's is all missing.
    pub fn apply(&self, column: &Column) -> Vec<u8> {
        match (self, column) {
            (BinMapper::Numeric { thresholds }, Column::Numeric(values)) => values
                .iter()
                .map(|&v| if v.is_nan() { 0 } else { (1 + thresholds.partition_point(|&t| t < v)) as u8 })
                .collect(),
            (BinMapper::Categorical { categories }, Column::Categorical(values)) => {
                let index: HashMap<&str, u8> =
                    categories.iter().enumerate().map(|(i, c)| (c.as_str(), (i + 1) as u8)).collect();
                let other = (categories.len() + 1) as u8;
                values.iter().map(|v| v.as_deref().map_or(0, |v| index.get(v).copied().unwrap_or(other))).collect()
            }
            _ => vec![0; column.len()],
        }
    }

    /// What a bin means, for people (explanations, reports).
    pub fn describe(&self, bin: u8) -> String {
        match (self, bin) {
            (_, 0) => "missing".into(),
            (BinMapper::Numeric { thresholds }, b) => {
                let b = b as usize;
                match (b.checked_sub(2).and_then(|i| thresholds.get(i)), thresholds.get(b - 1)) {
                    (None, Some(hi)) => format!("<= {hi}"),
                    (Some(lo), Some(hi)) => format!("({lo}, {hi}]"),
                    (Some(lo), None) => format!("> {lo}"),
                    (None, None) => "any".into(),
                }
            }
            (BinMapper::Categorical { categories }, b) => {
                categories.get(b as usize - 1).cloned().unwrap_or_else(|| "other".into())
            }
        }
    }
}

/// Up to `max_bins - 1` cut points between sorted values, so that bins hold about equal counts
/// and equal values never straddle a cut.
fn thresholds(sorted: &[f64], max_bins: usize) -> Vec<f64> {
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for &v in sorted {
        match distinct.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => distinct.push((v, 1)),
        }
    }
    if distinct.len() <= max_bins {
        return distinct.windows(2).map(|w| midpoint(w[0].0, w[1].0)).collect();
    }
    let per_bin = sorted.len() as f64 / max_bins as f64;
    let mut cuts = Vec::with_capacity(max_bins);
    let (mut in_bin, mut target) = (0usize, per_bin);
    let mut seen = 0usize;
    for w in distinct.windows(2) {
        seen += w[0].1;
        in_bin += w[0].1;
        if seen as f64 >= target && in_bin > 0 {
            cuts.push(midpoint(w[0].0, w[1].0));
            in_bin = 0;
            target = seen as f64 + per_bin;
            if cuts.len() == max_bins - 1 {
                break;
            }
        }
    }
    cuts
}

fn midpoint(a: f64, b: f64) -> f64 {
    a + (b - a) / 2.0
}

/// A table as bins, column by column, with the mappers that made them.
#[derive(Clone, Debug)]
pub struct Binned {
    pub mappers: Vec<BinMapper>,
    pub columns: Vec<Vec<u8>>,
    pub rows: usize,
}

impl Binned {
    pub fn fit(table: &Table) -> Binned {
        let mappers: Vec<BinMapper> = table.columns().iter().map(BinMapper::fit).collect();
        Binned::with(mappers, table)
    }

    pub fn with(mappers: Vec<BinMapper>, table: &Table) -> Binned {
        let columns = mappers.iter().zip(table.columns()).map(|(m, c)| m.apply(c)).collect();
        Binned { mappers, columns, rows: table.rows() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_bins_keep_order_and_missing_apart() {
        let column = Column::Numeric(vec![3.0, 1.0, f64::NAN, 2.0, 2.0]);
        let mapper = BinMapper::fit(&column);
        assert_eq!(mapper.apply(&column), [3, 1, 0, 2, 2]);
        assert_eq!(
            mapper.apply(&Column::Numeric(vec![-5.0, 2.5, 2.6, 99.0])),
            [1, 2, 3, 3],
            "a value on a cut goes below it"
        );
        assert_eq!(mapper.describe(1), "<= 1.5");
        assert_eq!(mapper.describe(3), "> 2.5");
    }

    #[test]
    fn many_values_get_at_most_the_bins_there_are() {
        let values: Vec<f64> = (0..100_000).map(|i| (i % 7919) as f64).collect();
        let mapper = BinMapper::fit(&Column::Numeric(values.clone()));
        assert!(mapper.bins() <= MAX_BINS);
        let bins = mapper.apply(&Column::Numeric(values.clone()));
        let mut pairs: Vec<(f64, u8)> = values.into_iter().zip(bins).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(pairs.windows(2).all(|w| w[0].1 <= w[1].1), "bins keep the values' order");
        assert!(pairs.windows(2).all(|w| w[0].0 != w[1].0 || w[0].1 == w[1].1), "equal values share a bin");
    }

    #[test]
    fn categories_by_frequency_and_unseen_ones_together() {
        let c = |v: &[Option<&str>]| Column::Categorical(v.iter().map(|s| s.map(String::from)).collect());
        let mapper = BinMapper::fit(&c(&[Some("b"), Some("a"), Some("b"), None]));
        assert_eq!(mapper.apply(&c(&[Some("b"), Some("a"), None, Some("zzz")])), [1, 2, 0, 3]);
        assert_eq!(mapper.describe(3), "other");
    }
}
