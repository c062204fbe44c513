//! Columns that alone separate the classes. Real signals about people almost never rank every
//! converter above every other lead; a column that does was most likely filled because of the
//! outcome (a "Close Date" given only for won deals, a status sales set afterwards), and a
//! model learned on it is worthless on new leads however well it scores.

use crate::metrics::roc_auc;
use crate::{Column, Table};

/// At least this AUC (or at most one minus it) from one column alone is a warning.
pub const SEPARATING_AUC: f64 = 0.99;
/// Each class needs this many rows before a separation means anything.
const MIN_PER_CLASS: usize = 10;

/// A column that separates the classes by itself, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct Separation {
    pub column: String,
    /// The column's own AUC, folded to 0.5..=1 (a column that ranks converters last separates
    /// as well as one that ranks them first).
    pub auc: f64,
    /// `true` when merely having a value separates them (the value is there for one class only).
    pub by_presence: bool,
}

fn folded(auc: f64) -> f64 {
    auc.max(1.0 - auc)
}

/// The columns of `table` that alone rank the outcomes `y` almost perfectly.
pub fn separating_columns(table: &Table, y: &[bool]) -> Vec<Separation> {
    let positives = y.iter().filter(|v| **v).count();
    if positives < MIN_PER_CLASS || y.len() - positives < MIN_PER_CLASS {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (name, column) in table.names().iter().zip(table.columns()) {
        let present: Vec<f64> = match column {
            Column::Numeric(v) => v.iter().map(|x| f64::from(u8::from(!x.is_nan()))).collect(),
            Column::Categorical(v) => v.iter().map(|x| f64::from(u8::from(x.is_some()))).collect(),
        };
        if let Some(auc) = roc_auc(&present, y).map(folded).filter(|a| *a >= SEPARATING_AUC) {
            out.push(Separation { column: name.clone(), auc, by_presence: true });
            continue;
        }
        let scores: Option<Vec<f64>> = match column {
            // Missing ranks lowest.
            Column::Numeric(v) => Some(v.iter().map(|x| if x.is_nan() { f64::NEG_INFINITY } else { *x }).collect()),
            Column::Categorical(v) => category_rates(v, y),
        };
        if let Some(auc) = scores.and_then(|s| roc_auc(&s, y)).map(folded).filter(|a| *a >= SEPARATING_AUC) {
            out.push(Separation { column: name.clone(), auc, by_presence: false });
        }
    }
    out
}

/// Each row scored by its category's share of positives, for a column with few enough
/// categories that a share means something (an id per row would "separate" trivially).
fn category_rates(values: &[Option<String>], y: &[bool]) -> Option<Vec<f64>> {
    let mut counts: std::collections::HashMap<&str, (usize, usize)> = std::collections::HashMap::new();
    for (v, &p) in values.iter().zip(y) {
        let e = counts.entry(v.as_deref().unwrap_or("")).or_default();
        e.0 += 1;
        e.1 += usize::from(p);
    }
    if counts.len() * 20 > values.len() {
        return None;
    }
    Some(
        values
            .iter()
            .map(|v| {
                let (n, p) = counts[v.as_deref().unwrap_or("")];
                p as f64 / n as f64
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_only_one_class_has_and_what_ranks_perfectly() {
        let n = 200;
        let y: Vec<bool> = (0..n).map(|i| i % 4 == 0).collect();
        let close_date: Vec<f64> = y.iter().map(|&p| if p { 20_000.0 } else { f64::NAN }).collect();
        let days_to_close: Vec<f64> = y.iter().enumerate().map(|(i, &p)| if p { i as f64 } else { 1e6 }).collect();
        let honest: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 + if y[i] { 30.0 } else { 0.0 }).collect();
        let status: Vec<Option<String>> = y.iter().map(|&p| Some(if p { "won" } else { "open" }.to_string())).collect();
        let industry: Vec<Option<String>> = (0..n).map(|i| Some(["a", "b", "c"][i % 3].to_string())).collect();
        let table = Table::new(vec![
            ("close date".into(), Column::Numeric(close_date)),
            ("days to close".into(), Column::Numeric(days_to_close)),
            ("honest".into(), Column::Numeric(honest)),
            ("status".into(), Column::Categorical(status)),
            ("industry".into(), Column::Categorical(industry)),
        ])
        .unwrap();
        let found = separating_columns(&table, &y);
        let names: Vec<(&str, bool)> = found.iter().map(|s| (s.column.as_str(), s.by_presence)).collect();
        assert_eq!(names, [("close date", true), ("days to close", false), ("status", false)]);
        assert!(found.iter().all(|s| s.auc >= SEPARATING_AUC));
        assert!(separating_columns(&table.take(&[0, 1, 2, 3]), &y[..4]).is_empty(), "too few to tell");
    }
}
