//! L2-regularized logistic regression, fitted with L-BFGS: weights a person can read.

use rayon::prelude::*;

/// Rows of features, all the same width, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub width: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub intercept: f64,
    pub weights: Vec<f64>,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Log loss plus `0.5 * l2 * |w|^2` (the intercept is not penalized), and its gradient.
fn loss_and_gradient(x: &Matrix, y: &[bool], l2: f64, params: &[f64]) -> (f64, Vec<f64>) {
    let d = x.width;
    let (b, w) = (params[0], &params[1..]);
    let (loss, mut grad) = (0..x.rows())
        .into_par_iter()
        .fold(
            || (0.0, vec![0.0; d + 1]),
            |(mut loss, mut grad), i| {
                let row = x.row(i);
                let z = b + row.iter().zip(w).map(|(a, c)| a * c).sum::<f64>();
                // log(1 + e^z) - y z, written to stay finite for large |z|.
                loss += if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() } - if y[i] { z } else { 0.0 };
                let r = sigmoid(z) - if y[i] { 1.0 } else { 0.0 };
                grad[0] += r;
                for (g, a) in grad[1..].iter_mut().zip(row) {
                    *g += r * a;
                }
                (loss, grad)
            },
        )
        .reduce(
            || (0.0, vec![0.0; d + 1]),
            |(l1, mut g1), (l2_, g2)| {
                for (a, b) in g1.iter_mut().zip(g2) {
                    *a += b;
                }
                (l1 + l2_, g1)
            },
        );
    let penalty = 0.5 * l2 * w.iter().map(|v| v * v).sum::<f64>();
    for (g, v) in grad[1..].iter_mut().zip(w) {
        *g += l2 * v;
    }
    (loss + penalty, grad)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

impl Logistic {
    /// Fits by L-BFGS to a relative tolerance, or 500 iterations.
    pub fn fit(x: &Matrix, y: &[bool], l2: f64) -> Logistic {
        assert_eq!(x.rows(), y.len(), "one outcome per row");
        let d = x.width + 1;
        let mut params = vec![0.0; d];
        let rate = (y.iter().filter(|v| **v).count() as f64 / y.len().max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        params[0] = (rate / (1.0 - rate)).ln();
        let (mut f, mut g) = loss_and_gradient(x, y, l2, &params);
        let (mut s_hist, mut y_hist): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (Vec::new(), Vec::new());
        for _ in 0..500 {
            // Two-loop recursion: the direction from the last few steps' curvature.
            let mut q = g.clone();
            let mut alphas = Vec::with_capacity(s_hist.len());
            for (s, yv) in s_hist.iter().zip(&y_hist).rev() {
                let alpha = dot(s, &q) / dot(yv, s);
                for (qi, yi) in q.iter_mut().zip(yv) {
                    *qi -= alpha * yi;
                }
                alphas.push(alpha);
            }
            if let (Some(s), Some(yv)) = (s_hist.last(), y_hist.last()) {
                let gamma = dot(s, yv) / dot(yv, yv);
                q.iter_mut().for_each(|v| *v *= gamma);
            }
            for ((s, yv), alpha) in s_hist.iter().zip(&y_hist).zip(alphas.into_iter().rev()) {
                let beta = dot(yv, &q) / dot(yv, s);
                for (qi, si) in q.iter_mut().zip(s) {
                    *qi += (alpha - beta) * si;
                }
            }
            let direction: Vec<f64> = q.iter().map(|v| -v).collect();
            let slope = dot(&g, &direction);
            if slope >= 0.0 {
                // Not a descent direction: start the memory over.
                s_hist.clear();
                y_hist.clear();
                continue;
            }
            // Backtracking until the loss drops enough (Armijo).
            let mut step = if s_hist.is_empty() { 1.0 / g.iter().map(|v| v.abs()).fold(1.0, f64::max) } else { 1.0 };
            let (next, f_next, g_next) = loop {
                let candidate: Vec<f64> = params.iter().zip(&direction).map(|(p, d)| p + step * d).collect();
                let (fc, gc) = loss_and_gradient(x, y, l2, &candidate);
                if fc <= f + 1e-4 * step * slope || step < 1e-12 {
                    break (candidate, fc, gc);
                }
                step *= 0.5;
            };
            let s: Vec<f64> = next.iter().zip(&params).map(|(a, b)| a - b).collect();
            let yv: Vec<f64> = g_next.iter().zip(&g).map(|(a, b)| a - b).collect();
            let converged = (f - f_next).abs() <= 1e-10 * f.abs().max(1.0);
            if dot(&s, &yv) > 1e-12 {
                s_hist.push(s);
                y_hist.push(yv);
                if s_hist.len() > 10 {
                    s_hist.remove(0);
                    y_hist.remove(0);
                }
            }
            (params, f, g) = (next, f_next, g_next);
            if converged {
                break;
            }
        }
        Logistic { intercept: params[0], weights: params[1..].to_vec() }
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        (0..x.rows()).map(|i| sigmoid(self.intercept + dot(x.row(i), &self.weights))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_weights_that_made_the_data() {
        // Two features with known effects; many rows of each combination, in exact proportion.
        let (mut values, mut y) = (Vec::new(), Vec::new());
        for (a, b) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
            let p: f64 = sigmoid(-1.0 + 2.0 * a - 0.5 * b);
            for k in 0..1000 {
                values.extend([a, b]);
                y.push((k as f64) < p * 1000.0);
            }
        }
        let m = Logistic::fit(&Matrix { width: 2, values }, &y, 1e-6);
        assert!((m.intercept + 1.0).abs() < 0.01, "{m:?}");
        assert!((m.weights[0] - 2.0).abs() < 0.01 && (m.weights[1] + 0.5).abs() < 0.01, "{m:?}");
    }

    #[test]
    fn the_penalty_shrinks_weights() {
        let values: Vec<f64> = (0..200).map(|i| f64::from(u8::from(i % 2 == 0))).collect();
        let y: Vec<bool> = (0..200).map(|i| i % 2 == 0 || i % 7 == 0).collect();
        let x = Matrix { width: 1, values };
        let (loose, tight) = (Logistic::fit(&x, &y, 0.0), Logistic::fit(&x, &y, 100.0));
        assert!(tight.weights[0].abs() < loose.weights[0].abs());
    }
}

/// How a [`Table`](crate::Table) becomes a [`Matrix`] for a linear model: numbers standardized
/// (missing ones at the mean, with an indicator), categories one-hot (rare ones together).
#[derive(Clone, Debug, PartialEq)]
pub struct Encoder {
    columns: Vec<Encoding>,
}

#[derive(Clone, Debug, PartialEq)]
enum Encoding {
    Number {
        mean: f64,
        sd: f64,
        has_missing: bool,
    },
    /// Levels with their own column; the rest (and unseen ones) share the last column.
    Category {
        levels: Vec<Option<String>>,
    },
}

impl Encoder {
    /// Learns the encoding from training data; categories seen fewer than `min_frequency`
    /// times share one column.
    pub fn fit(table: &crate::Table, min_frequency: usize) -> Encoder {
        let columns = table
            .columns()
            .iter()
            .map(|c| match c {
                crate::Column::Numeric(v) => {
                    let present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                    let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
                    let var = present.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / present.len().max(1) as f64;
                    Encoding::Number { mean, sd: var.sqrt().max(1e-12), has_missing: present.len() < v.len() }
                }
                crate::Column::Categorical(v) => {
                    let mut counts: std::collections::BTreeMap<Option<&str>, usize> = Default::default();
                    for x in v {
                        *counts.entry(x.as_deref()).or_default() += 1;
                    }
                    let levels = counts
                        .into_iter()
                        .filter(|(_, n)| *n >= min_frequency)
                        .map(|(l, _)| l.map(str::to_string))
                        .collect();
                    Encoding::Category { levels }
                }
            })
            .collect();
        Encoder { columns }
    }

    pub fn width(&self) -> usize {
        self.columns
            .iter()
            .map(|e| match e {
                Encoding::Number { has_missing, .. } => 1 + usize::from(*has_missing),
                Encoding::Category { levels } => levels.len() + 1,
            })
            .sum()
    }

    pub fn apply(&self, table: &crate::Table) -> Matrix {
        let width = self.width();
        let mut values = vec![0.0; table.rows() * width];
        let mut at = 0;
        for (e, c) in self.columns.iter().zip(table.columns()) {
            match (e, c) {
                (Encoding::Number { mean, sd, has_missing }, crate::Column::Numeric(v)) => {
                    for (i, x) in v.iter().enumerate() {
                        if x.is_nan() {
                            if *has_missing {
                                values[i * width + at + 1] = 1.0;
                            }
                        } else {
                            values[i * width + at] = (x - mean) / sd;
                        }
                    }
                    at += 1 + usize::from(*has_missing);
                }
                (Encoding::Category { levels }, crate::Column::Categorical(v)) => {
                    for (i, x) in v.iter().enumerate() {
                        let k = levels.iter().position(|l| l == x).unwrap_or(levels.len());
                        values[i * width + at + k] = 1.0;
                    }
                    at += levels.len() + 1;
                }
                (e, _) => {
                    at += match e {
                        Encoding::Number { has_missing, .. } => 1 + usize::from(*has_missing),
                        Encoding::Category { levels } => levels.len() + 1,
                    }
                }
            }
        }
        Matrix { width, values }
    }
}
