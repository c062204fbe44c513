//! `leadflow-bench ml`: leadflow's learned scoring on the data sets in `../shared/datasets`,
//! with the folds and column choices of `../shared/ml/ml_peers.py`, so that the figures stand
//! beside the peers'.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use leadflow_ml::linear::{Encoder, Logistic};
use leadflow_ml::metrics::roc_auc;
use leadflow_ml::{Column, Table, gbdt};

/// A data set read as the peers read it: every column but the target and the dropped ones; a
/// column is numeric when every value present parses as a number.
struct Task {
    table: Table,
    converted: Vec<bool>,
    folds: Vec<u8>,
}

fn datasets() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.join("../../../shared/datasets")
}

fn read(path: &Path, delimiter: u8, target: &str, positive: &str, drop: &[&str], missing: &[&str]) -> Result<Task> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let headers: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let mut raw: Vec<Vec<Option<String>>> = vec![Vec::new(); headers.len()];
    for record in reader.records() {
        let record = record?;
        for (i, value) in record.iter().enumerate() {
            let value = value.trim();
            raw[i].push((!value.is_empty() && !missing.contains(&value)).then(|| value.to_string()));
        }
    }
    let target_at = headers.iter().position(|h| h == target).context("the target column")?;
    let converted: Vec<bool> = raw[target_at].iter().map(|v| v.as_deref() == Some(positive)).collect();
    let mut columns = Vec::new();
    for (name, values) in headers.into_iter().zip(raw) {
        if name == target || drop.contains(&name.as_str()) {
            continue;
        }
        let numeric: Option<Vec<f64>> =
            values.iter().map(|v| v.as_deref().map_or(Some(f64::NAN), |s| s.parse().ok())).collect();
        let column = match numeric {
            Some(numbers) => Column::Numeric(numbers),
            None => Column::Categorical(values),
        };
        columns.push((name, column));
    }
    let folds_path = path.with_file_name("folds.csv");
    let folds: Vec<u8> = csv::Reader::from_path(&folds_path)
        .with_context(|| format!("reading {}", folds_path.display()))?
        .records()
        .map(|r| Ok(r?[0].parse()?))
        .collect::<Result<_>>()?;
    if folds.len() != converted.len() {
        bail!("{} has {} rows, the data {}", folds_path.display(), folds.len(), converted.len());
    }
    Ok(Task { table: Table::new(columns)?, converted, folds })
}

fn task(name: &str) -> Result<Task> {
    let data = datasets();
    let x = data.join("x_education/Leads.csv");
    match name {
        "x_education" => read(&x, b',', "Converted", "1", &["Prospect ID", "Lead Number"], &["Select"]),
        "x_education_noleak" => {
            read(&x, b',', "Converted", "1", &["Prospect ID", "Lead Number", "Tags", "Lead Quality"], &["Select"])
        }
        "bank_full" => read(&data.join("bank_marketing/bank-full.csv"), b';', "y", "yes", &["duration"], &[]),
        other => bail!("unknown task `{other}` (x_education, x_education_noleak, bank_full)"),
    }
}

pub fn run(tasks: &[String]) -> Result<()> {
    let all = ["x_education", "x_education_noleak", "bank_full"].map(String::from);
    let tasks = if tasks.is_empty() { &all[..] } else { tasks };
    let params = gbdt::Params::default();
    for name in tasks {
        let t = task(name)?;
        let (mut aucs, mut fit_seconds) = (Vec::new(), 0.0);
        let (mut linear_aucs, mut linear_seconds) = (Vec::new(), 0.0);
        for k in 0..5u8 {
            let train: Vec<usize> = (0..t.folds.len()).filter(|&i| t.folds[i] != k).collect();
            let test: Vec<usize> = (0..t.folds.len()).filter(|&i| t.folds[i] == k).collect();
            let y_train: Vec<bool> = train.iter().map(|&i| t.converted[i]).collect();
            let y_test: Vec<bool> = test.iter().map(|&i| t.converted[i]).collect();
            let (train_table, test_table) = (t.table.take(&train), t.table.take(&test));
            let started = Instant::now();
            let model = gbdt::Model::train(&train_table, &y_train, &params);
            fit_seconds += started.elapsed().as_secs_f64();
            aucs.push(roc_auc(&model.predict(&test_table), &y_test).context("both outcomes in every fold")?);
            // The interpretable family: what `leadflow train` fits (L2 = 1, as scikit-learn's C = 1).
            let started = Instant::now();
            let encoder = Encoder::fit(&train_table, 5);
            let linear = Logistic::fit(&encoder.apply(&train_table), &y_train, 1.0);
            linear_seconds += started.elapsed().as_secs_f64();
            linear_aucs.push(roc_auc(&linear.predict(&encoder.apply(&test_table)), &y_test).context("both outcomes")?);
        }
        println!(
            "{name} {{\"rows\": {}, \"leadflow_gbdt\": {}, \"leadflow_logistic\": {}}}",
            t.converted.len(),
            summary(&aucs, fit_seconds),
            summary(&linear_aucs, linear_seconds)
        );
    }
    Ok(())
}

fn summary(aucs: &[f64], fit_seconds: f64) -> String {
    let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
    let sd = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / aucs.len() as f64).sqrt();
    let folds: Vec<String> = aucs.iter().map(|a| format!("{a:.4}")).collect();
    format!(
        "{{\"auc_folds\": [{}], \"auc_mean\": {mean:.4}, \"auc_sd\": {sd:.4}, \"fit_seconds\": {fit_seconds:.2}}}",
        folds.join(", ")
    )
}
