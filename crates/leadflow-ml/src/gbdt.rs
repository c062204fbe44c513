//! Gradient-boosted trees for a binary outcome, on histograms of binned columns.
//!
//! Trees grow best-first (the leaf whose split gains most goes next) up to `max_leaves`. A
//! numeric split sends bins up to a threshold left and learns where missing values go; a
//! categorical split sends a set of categories left, found by sorting categories by their mean
//! gradient (the method LightGBM uses), so one split can group many categories.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Table;
use crate::bins::{BinMapper, Binned};

/// How to learn. The defaults serve every data set; they are not tuned to one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub trees: usize,
    pub learning_rate: f64,
    pub max_leaves: usize,
    /// Rows a leaf must keep.
    pub min_leaf_rows: usize,
    /// The hessian (for log loss, p(1-p) summed) a leaf must keep.
    pub min_leaf_hessian: f64,
    /// L2 penalty on leaf values.
    pub l2: f64,
    /// Added to a category's hessian when categories are sorted for a split: rare categories
    /// are pulled toward the mean instead of ranking first or last on a handful of rows.
    pub cat_smooth: f64,
    /// A category needs this many rows in a node to be placed by a split (others go right).
    pub min_category_rows: usize,
    /// The most categories one split sends left.
    pub max_categories_left: usize,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            trees: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            min_leaf_rows: 20,
            min_leaf_hessian: 1e-3,
            l2: 2.0,
            cat_smooth: 10.0,
            min_category_rows: 10,
            max_categories_left: 32,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    /// Bins `1..=bin` go left; missing (bin 0) goes left when `missing_left`.
    Threshold { bin: u8, missing_left: bool },
    /// The bins in the set go left (bit `b` of the 256-bit set for bin `b`).
    Categories { left: [u64; 4] },
}

impl Rule {
    fn goes_left(&self, bin: u8) -> bool {
        match self {
            Rule::Threshold { bin: t, missing_left } => {
                if bin == 0 {
                    *missing_left
                } else {
                    bin <= *t
                }
            }
            Rule::Categories { left } => left[(bin >> 6) as usize] >> (bin & 63) & 1 == 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Node {
    Split {
        feature: usize,
        rule: Rule,
        left: usize,
        right: usize,
        /// What the tree would add for a row stopping here: explanations measure each split
        /// by how it moves this value.
        value: f64,
    },
    Leaf {
        value: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    fn leaf_of(&self, bins: &dyn Fn(usize) -> u8) -> usize {
        let mut at = 0;
        loop {
            match &self.nodes[at] {
                Node::Split { feature, rule, left, right, .. } => {
                    at = if rule.goes_left(bins(*feature)) { *left } else { *right };
                }
                Node::Leaf { .. } => return at,
            }
        }
    }

    fn value(&self, node: usize) -> f64 {
        match &self.nodes[node] {
            Node::Split { value, .. } | Node::Leaf { value } => *value,
        }
    }
}

/// A trained model: how to bin each column, and the trees.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub names: Vec<String>,
    pub mappers: Vec<BinMapper>,
    /// The log-odds every prediction starts from (the training base rate).
    pub base: f64,
    pub trees: Vec<Tree>,
}

impl Model {
    /// What makes this model unusable, if anything: a model read from a file someone edited (or
    /// truncated) must be refused, not followed into an index out of bounds or a loop.
    pub fn check(&self) -> Result<(), String> {
        if self.names.len() != self.mappers.len() {
            return Err(format!("{} feature names for {} features", self.names.len(), self.mappers.len()));
        }
        if !self.base.is_finite() {
            return Err("the starting log-odds is not a number".into());
        }
        for (i, m) in self.mappers.iter().enumerate() {
            let bins = match m {
                BinMapper::Numeric { thresholds } => thresholds.len(),
                BinMapper::Categorical { categories } => categories.len(),
            };
            // Bin 0 is "missing" and a categorical mapper keeps one for unseen values: u8 bins.
            if bins > 253 {
                return Err(format!("feature {i} has {bins} bins (at most 253)"));
            }
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() {
                return Err(format!("tree {t} has no nodes"));
            }
            for (at, node) in tree.nodes.iter().enumerate() {
                match node {
                    // Children come after their parent (that is how trees grow), so a walk from the
                    // root always ends.
                    Node::Split { feature, left, right, value, .. } => {
                        let child = |c: usize| c > at && c < tree.nodes.len();
                        if *feature >= self.mappers.len() || !child(*left) || !child(*right) || !value.is_finite() {
                            return Err(format!("tree {t}, node {at}: a split that leads nowhere"));
                        }
                    }
                    Node::Leaf { value } if !value.is_finite() => {
                        return Err(format!("tree {t}, node {at}: a leaf value that is not a number"));
                    }
                    Node::Leaf { .. } => {}
                }
            }
        }
        Ok(())
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Sums of gradient, hessian and rows.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    g: f64,
    h: f64,
    n: u32,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }

    fn minus(self, o: Stats) -> Stats {
        Stats { g: self.g - o.g, h: self.h - o.h, n: self.n - o.n }
    }

    fn score(self, l2: f64) -> f64 {
        self.g * self.g / (self.h + l2)
    }
}

/// The training data as trees read it: columns for routing rows, rows for building histograms.
struct Training {
    data: Binned,
    /// Column `i` of `data` is the model's feature `features[i]`.
    features: Vec<usize>,
    /// Where each column's bins start in a histogram; the last entry is the histogram's length.
    offsets: Vec<usize>,
    /// Bins row by row (`rows x columns`): a histogram is one pass over its rows, each row's
    /// bins side by side, which keeps the pass in cache when columns are few.
    matrix: Vec<u8>,
}

impl Training {
    fn new(data: Binned, features: Vec<usize>) -> Training {
        let mut offsets = vec![0];
        for m in &data.mappers {
            offsets.push(offsets.last().expect("starts with 0") + m.bins());
        }
        let width = data.columns.len();
        let mut matrix = vec![0u8; data.rows * width];
        for (f, column) in data.columns.iter().enumerate() {
            for (r, &b) in column.iter().enumerate() {
                matrix[r * width + f] = b;
            }
        }
        Training { data, features, offsets, matrix }
    }

    fn feature_bins<'h>(&self, hist: &'h [Stats], f: usize) -> &'h [Stats] {
        &hist[self.offsets[f]..self.offsets[f + 1]]
    }
}

/// All columns' histograms, side by side (see [`Training::offsets`]).
type Histogram = Vec<Stats>;

/// Below this many rows, a histogram is built on one thread: waking the others costs more than
/// it saves.
const PARALLEL_ROWS: usize = 8_192;

/// Gradient and hessian of each row.
type Gradients = [(f64, f64)];

fn histogram(t: &Training, rows: &[u32], gradients: &Gradients) -> Histogram {
    let width = t.data.columns.len();
    let build = |rows: &[u32]| {
        let mut h = vec![Stats::default(); *t.offsets.last().expect("starts with 0")];
        for &r in rows {
            let (g, hs) = gradients[r as usize];
            let bins = &t.matrix[r as usize * width..(r as usize + 1) * width];
            for (offset, &b) in t.offsets.iter().zip(bins) {
                let s = &mut h[offset + b as usize];
                s.g += g;
                s.h += hs;
                s.n += 1;
            }
        }
        h
    };
    if rows.len() < PARALLEL_ROWS {
        return build(rows);
    }
    let chunk = rows.len().div_ceil(rayon::current_num_threads().max(1));
    rows.par_chunks(chunk)
        .map(build)
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                x.add(y);
            }
            a
        })
        .expect("rows is not empty")
}

fn total_of(t: &Training, hist: &Histogram) -> Stats {
    t.feature_bins(hist, 0).iter().fold(Stats::default(), |mut a, s| {
        a.add(*s);
        a
    })
}

/// The parent's histogram, less a child's: the other child's, without a pass over its rows.
fn subtract(mut parent: Histogram, child: &Histogram) -> Histogram {
    for (a, b) in parent.iter_mut().zip(child) {
        *a = a.minus(*b);
    }
    parent
}

struct Split {
    gain: f64,
    feature: usize,
    rule: Rule,
}

fn allowed(s: Stats, p: &Params) -> bool {
    s.n as usize >= p.min_leaf_rows && s.h >= p.min_leaf_hessian
}

fn best_split(hist: &Histogram, total: Stats, t: &Training, p: &Params) -> Option<Split> {
    let parent = total.score(p.l2);
    (0..t.data.columns.len())
        .filter_map(|feature| {
            let bins = t.feature_bins(hist, feature);
            let (gain, rule) = if t.data.mappers[feature].is_categorical() {
                best_categories(bins, total, p)?
            } else {
                best_threshold(bins, total, p)?
            };
            Some(Split { gain: gain - parent, feature, rule })
        })
        .filter(|s| s.gain > 1e-12)
        .max_by(|a, b| a.gain.total_cmp(&b.gain).then(b.feature.cmp(&a.feature)))
}

fn best_threshold(bins: &[Stats], total: Stats, p: &Params) -> Option<(f64, Rule)> {
    let missing = bins[0];
    let mut left = Stats::default();
    let mut best: Option<(f64, Rule)> = None;
    for (t, bin) in bins.iter().enumerate().skip(1).take(bins.len().saturating_sub(2)) {
        left.add(*bin);
        for missing_left in [false, true] {
            let mut l = left;
            if missing_left {
                if missing.n == 0 {
                    continue;
                }
                l.add(missing);
            }
            let r = total.minus(l);
            if !allowed(l, p) || !allowed(r, p) {
                continue;
            }
            let gain = l.score(p.l2) + r.score(p.l2);
            if best.as_ref().is_none_or(|(g, _)| gain > *g) {
                best = Some((gain, Rule::Threshold { bin: t as u8, missing_left }));
            }
        }
    }
    best
}

fn best_categories(bins: &[Stats], total: Stats, p: &Params) -> Option<(f64, Rule)> {
    let mut order: Vec<usize> = (0..bins.len()).filter(|&b| bins[b].n as usize >= p.min_category_rows).collect();
    order.sort_by(|&a, &b| {
        let ratio = |s: Stats| s.g / (s.h + p.cat_smooth);
        ratio(bins[a]).total_cmp(&ratio(bins[b]))
    });
    let mut best: Option<(f64, Rule)> = None;
    // Prefixes from either end of the order: the categories that push the score down, or up.
    for direction in [false, true] {
        let mut left = Stats::default();
        let mut set = [0u64; 4];
        let ordered: Vec<usize> = if direction { order.iter().rev().copied().collect() } else { order.clone() };
        for (taken, &b) in ordered.iter().enumerate().take(p.max_categories_left.min(order.len().saturating_sub(1))) {
            left.add(bins[b]);
            set[b >> 6] |= 1 << (b & 63);
            let r = total.minus(left);
            if taken + 1 > p.max_categories_left || !allowed(left, p) || !allowed(r, p) {
                continue;
            }
            let gain = left.score(p.l2) + r.score(p.l2);
            if best.as_ref().is_none_or(|(g, _)| gain > *g) {
                best = Some((gain, Rule::Categories { left: set }));
            }
        }
    }
    best
}

/// Whether any split of this column could leave `min_leaf_rows` on both sides.
fn splittable(column: &[u8], bins: usize, p: &Params) -> bool {
    let mut counts = vec![0usize; bins];
    for &b in column {
        counts[b as usize] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0);
    column.len() - most >= p.min_leaf_rows
}

/// A leaf being grown: its rows, its histogram, and the split it would take.
struct Growing {
    node: usize,
    rows: Vec<u32>,
    hist: Histogram,
    total: Stats,
    split: Option<Split>,
}

fn leaf_value(s: Stats, p: &Params) -> f64 {
    -s.g / (s.h + p.l2) * p.learning_rate
}

/// Grows one tree on `data`, whose column `i` is the model's feature `features[i]`.
fn grow(t: &Training, rows: Vec<u32>, gradients: &Gradients, p: &Params) -> (Tree, Vec<(Vec<u32>, f64)>) {
    let hist = histogram(t, &rows, gradients);
    // Summed from the rows, not the histogram: with no column worth splitting there is none.
    let total = rows.iter().fold(Stats::default(), |mut a, &r| {
        let (g, h) = gradients[r as usize];
        a.add(Stats { g, h, n: 1 });
        a
    });
    let split = best_split(&hist, total, t, p);
    let mut nodes = vec![Node::Leaf { value: leaf_value(total, p) }];
    let mut open = vec![Growing { node: 0, rows, hist, total, split }];
    let mut done: Vec<Growing> = Vec::new();
    while done.len() + open.len() < p.max_leaves {
        let Some(pick) = (0..open.len())
            .filter(|&i| open[i].split.is_some())
            .max_by(|&a, &b| open[a].split.as_ref().unwrap().gain.total_cmp(&open[b].split.as_ref().unwrap().gain))
        else {
            break;
        };
        let leaf = open.swap_remove(pick);
        let split = leaf.split.expect("picked for its split");
        let column = &t.data.columns[split.feature];
        let mut left_rows = Vec::with_capacity(leaf.rows.len());
        let mut right_rows = Vec::with_capacity(leaf.rows.len());
        for &r in &leaf.rows {
            if split.rule.goes_left(column[r as usize]) { left_rows.push(r) } else { right_rows.push(r) }
        }
        // The smaller child's histogram is built; the larger one's is the parent's minus it.
        let (small, large_is_left) = if left_rows.len() <= right_rows.len() {
            (histogram(t, &left_rows, gradients), false)
        } else {
            (histogram(t, &right_rows, gradients), true)
        };
        let large = subtract(leaf.hist, &small);
        let (left_hist, right_hist) = if large_is_left { (large, small) } else { (small, large) };
        let (left_total, right_total) = (total_of(t, &left_hist), total_of(t, &right_hist));
        let (l, r) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::Leaf { value: leaf_value(left_total, p) });
        nodes.push(Node::Leaf { value: leaf_value(right_total, p) });
        nodes[leaf.node] = Node::Split {
            feature: t.features[split.feature],
            rule: split.rule,
            left: l,
            right: r,
            value: leaf_value(leaf.total, p),
        };
        for (node, rows, hist, total) in
            [(l, left_rows, left_hist, left_total), (r, right_rows, right_hist, right_total)]
        {
            let split = best_split(&hist, total, t, p);
            let child = Growing { node, rows, hist, total, split };
            if child.split.is_some() { open.push(child) } else { done.push(child) }
        }
    }
    let tree = Tree { nodes };
    let leaves = done
        .into_iter()
        .chain(open)
        .map(|g| {
            let value = tree.value(g.node);
            (g.rows, value)
        })
        .collect();
    (tree, leaves)
}

impl Model {
    /// Learns from `table` and whether each row converted.
    pub fn train(table: &Table, converted: &[bool], p: &Params) -> Model {
        assert_eq!(table.rows(), converted.len(), "one outcome per row");
        let all = Binned::fit(table);
        // Columns no split can use (one value, or too few rows off it) are left out of training.
        let features: Vec<usize> =
            (0..all.columns.len()).filter(|&f| splittable(&all.columns[f], all.mappers[f].bins(), p)).collect();
        let data = Binned {
            mappers: features.iter().map(|&f| all.mappers[f].clone()).collect(),
            columns: features.iter().map(|&f| all.columns[f].clone()).collect(),
            rows: all.rows,
        };
        let training = Training::new(data, features);
        let n = converted.len();
        let rate = (converted.iter().filter(|c| **c).count() as f64 / n.max(1) as f64).clamp(1e-6, 1.0 - 1e-6);
        let base = (rate / (1.0 - rate)).ln();
        let mut raw = vec![base; n];
        let mut gradients = vec![(0.0, 0.0); n];
        let mut trees = Vec::with_capacity(p.trees);
        for _ in 0..p.trees {
            gradients.par_iter_mut().with_min_len(4096).zip(&raw).zip(converted).for_each(|((gh, &x), &y)| {
                let prob = sigmoid(x);
                *gh = (prob - if y { 1.0 } else { 0.0 }, (prob * (1.0 - prob)).max(1e-16));
            });
            let (tree, leaves) = grow(&training, (0..n as u32).collect(), &gradients, p);
            for (rows, value) in leaves {
                for r in rows {
                    raw[r as usize] += value;
                }
            }
            trees.push(tree);
        }
        Model { names: table.names().to_vec(), mappers: all.mappers, base, trees }
    }

    /// The log-odds of converting, per row of `table` (columns as in training, by position).
    pub fn predict_raw(&self, table: &Table) -> Vec<f64> {
        let data = Binned::with(self.mappers.clone(), table);
        (0..data.rows)
            .into_par_iter()
            .map(|r| {
                let bins = |f: usize| data.columns[f][r];
                self.base + self.trees.iter().map(|t| t.value(t.leaf_of(&bins))).sum::<f64>()
            })
            .collect()
    }

    /// The probability of converting, per row.
    pub fn predict(&self, table: &Table) -> Vec<f64> {
        self.predict_raw(table).into_iter().map(sigmoid).collect()
    }

    /// Why row `row` of `table` scores what it does: the log-odds every row starts from, and
    /// each feature's push up or down from there (the changes of the trees' node values along
    /// the row's paths, credited to the feature each node splits on), largest first. The start
    /// plus the pushes is the row's [`predict_raw`](Self::predict_raw).
    pub fn contributions(&self, table: &Table, row: usize) -> (f64, Vec<(usize, f64)>) {
        let data = Binned::with(self.mappers.clone(), &table.take(&[row]));
        let bins = |f: usize| data.columns[f][0];
        let mut start = self.base;
        let mut pushes = vec![0.0; self.mappers.len()];
        for tree in &self.trees {
            start += tree.value(0);
            let mut at = 0;
            while let Node::Split { feature, rule, left, right, value } = &tree.nodes[at] {
                let next = if rule.goes_left(bins(*feature)) { *left } else { *right };
                pushes[*feature] += tree.value(next) - value;
                at = next;
            }
        }
        let mut out: Vec<(usize, f64)> = pushes.into_iter().enumerate().filter(|(_, p)| *p != 0.0).collect();
        out.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        (start, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Column;
    use crate::metrics::roc_auc;

    /// A made-up lead table where conversion depends on a number, a category and their
    /// interaction, with missing values and noise.
    fn leads(n: usize, seed: u64) -> (Table, Vec<bool>) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (mut visits, mut source, mut converted) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let v = (next() * 20.0).floor();
            let s = ["ads", "referral", "organic", "event"][(next() * 4.0) as usize];
            let missing = next() < 0.1;
            let logit = -2.0
                + 0.25 * v
                + if s == "referral" { 1.5 } else { 0.0 }
                + if s == "event" && v > 10.0 { 2.0 } else { 0.0 };
            converted.push(next() < 1.0 / (1.0 + (-logit).exp()));
            visits.push(if missing { f64::NAN } else { v });
            source.push(Some(s.to_string()));
        }
        let table = Table::new(vec![
            ("visits".into(), Column::Numeric(visits)),
            ("source".into(), Column::Categorical(source)),
        ])
        .unwrap();
        (table, converted)
    }

    #[test]
    fn learns_what_drives_conversion_and_ranks_unseen_leads() {
        let (train, y) = leads(4000, 1);
        let (test, y_test) = leads(2000, 2);
        let model = Model::train(&train, &y, &Params::default());
        let auc = roc_auc(&model.predict(&test), &y_test).unwrap();
        assert!(auc > 0.80, "AUC {auc}");
        // Nothing to learn: a constant outcome gives constant predictions at its rate.
        let flat = Model::train(&train, &vec![false; 4000], &Params::default());
        assert!(flat.predict(&test).iter().all(|p| *p < 1e-5));
    }

    #[test]
    fn contributions_add_up_to_the_prediction_and_name_the_drivers() {
        let (train, y) = leads(3000, 5);
        let model = Model::train(&train, &y, &Params::default());
        let raw = model.predict_raw(&train);
        for row in [0, 17, 1234] {
            let (start, pushes) = model.contributions(&train, row);
            let sum: f64 = start + pushes.iter().map(|(_, p)| p).sum::<f64>();
            assert!((sum - raw[row]).abs() < 1e-9, "{sum} vs {}", raw[row]);
        }
        // Over many rows, both features matter.
        let drivers: std::collections::BTreeSet<usize> =
            (0..50).flat_map(|r| model.contributions(&train, r).1.into_iter().map(|(f, _)| f)).collect();
        assert_eq!(drivers.into_iter().collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn too_little_data_to_split_gives_the_base_rate() {
        let (train, y) = leads(30, 7);
        let model = Model::train(&train, &y, &Params::default());
        let rate = y.iter().filter(|c| **c).count() as f64 / 30.0;
        assert!(model.predict(&train).iter().all(|p| (p - rate).abs() < 1e-6), "{rate}");
    }

    #[test]
    fn training_on_the_same_data_gives_the_same_model() {
        let (train, y) = leads(1000, 3);
        assert_eq!(Model::train(&train, &y, &Params::default()), Model::train(&train, &y, &Params::default()));
    }

    #[test]
    fn category_sets_and_missing_values_route_as_learned() {
        let rule = Rule::Categories { left: [0b1010, 0, 0, 1 << 63] };
        assert!(rule.goes_left(1) && rule.goes_left(3) && rule.goes_left(255));
        assert!(!rule.goes_left(0) && !rule.goes_left(2));
        let rule = Rule::Threshold { bin: 4, missing_left: true };
        assert!(rule.goes_left(0) && rule.goes_left(4) && !rule.goes_left(5));
    }
}
