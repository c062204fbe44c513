//! `leadflow backtest`, `leadflow compare` and `leadflow leads outcome`: the model lab.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use leadflow_core::{Model, Outcome, OutcomeKind, Timestamp};
use leadflow_engine::{Backtest, Comparison, Cutoff, Engine};
use leadflow_ml::evaluate::{Group, Report};

use crate::{parse_lead, progress, read_model_file};
use leadflow_store::Backend;

/// The model in `file`, or the active one.
pub fn model<S: Backend>(engine: &mut Engine<S>, file: Option<&Path>) -> Result<Model> {
    match file {
        Some(path) => {
            Ok(Model::parse(&read_model_file(path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
        }
        None => Ok((*engine.active_model()?.1).clone()),
    }
}

pub fn cutoff(as_of: Option<Timestamp>, before_outcome: Option<u32>) -> Result<Cutoff> {
    match (as_of, before_outcome) {
        (Some(_), Some(_)) => bail!("give --as-of or --before-outcome, not both"),
        (Some(t), None) => Ok(Cutoff::AsOf(t)),
        (None, days) => Ok(Cutoff::BeforeOutcome { days: days.unwrap_or(0) }),
    }
}

pub fn set_outcome<S: Backend>(
    engine: &mut Engine<S>,
    lead: &str,
    outcome: &str,
    at: Option<Timestamp>,
) -> Result<ExitCode> {
    let lead = parse_lead(lead)?;
    let outcome = match outcome {
        "clear" | "none" => None,
        other => {
            let kind = OutcomeKind::parse(other).with_context(|| format!("`{other}`: say won, lost or clear"))?;
            Some(Outcome { kind, at: at.unwrap_or_else(|| engine.now()) })
        }
    };
    let id = engine.set_outcome(&lead, outcome)?;
    match outcome {
        Some(o) => println!("lead {} {} at {}", id.0, o.kind, o.at),
        None => println!("lead {}: outcome cleared", id.0),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn train<S: Backend>(engine: &mut Engine<S>, out: &Path, name: &str, cutoff: Cutoff) -> Result<ExitCode> {
    let bar = progress::bar("reading leads with outcomes");
    let learned = engine.train_points(cutoff, name, &bar)?;
    drop(bar);
    std::fs::write(out, &learned.source).with_context(|| format!("writing {}", out.display()))?;
    let auc = learned.auc_in_sample.map_or("n/a".into(), |a| format!("{a:.4}"));
    println!(
        "learned `{name}` from {} leads ({} converted), seen {}: {} rules, written to {}",
        learned.leads,
        learned.converted,
        describe(cutoff),
        learned.rules,
        out.display()
    );
    println!(
        "in-sample ROC AUC {auc} (optimistic: judge it with `leadflow backtest --model` on other leads or a later cutoff)"
    );
    println!("next: review it, then `leadflow model apply {}`", out.display());
    warn(&learned.warnings);
    Ok(ExitCode::SUCCESS)
}

/// Training's warnings, loud: a leaking feature makes every figure above worthless.
fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
}

pub fn train_trees<S: Backend>(engine: &mut Engine<S>, out: &Path, name: &str, cutoff: Cutoff) -> Result<ExitCode> {
    let bar = progress::bar("reading leads with outcomes");
    let learned = engine.train_trees(cutoff, name, &bar)?;
    drop(bar);
    std::fs::write(out, learned.to_bytes()).with_context(|| format!("writing {}", out.display()))?;
    let auc = learned.cross_validated_auc.map_or("n/a".into(), |a| format!("{a:.4}"));
    println!(
        "learned trees `{name}` from {} leads ({} converted), seen {}: {} trees, written to {}",
        learned.leads,
        learned.converted,
        describe(cutoff),
        learned.model.trees.len(),
        out.display()
    );
    println!("cross-validated ROC AUC {auc} (5 folds; probabilities calibrated on the out-of-fold predictions)");
    println!("next: `leadflow predict --model {}` for each lead's chance and why", out.display());
    warn(&learned.warnings);
    Ok(ExitCode::SUCCESS)
}

/// Trees from a file of `train --kind trees`, with the file's bytes (what a store keeps).
fn read_trees(path: &Path) -> Result<(leadflow_engine::LearnedTrees, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let learned = leadflow_engine::LearnedTrees::read(&bytes)
        .with_context(|| format!("{}: not trees from `leadflow train --kind trees`", path.display()))?;
    Ok((learned, bytes))
}

/// The active stored trees, with their version.
fn active_trees<S: Backend>(engine: &Engine<S>) -> Result<(leadflow_engine::LearnedTrees, i64)> {
    engine
        .active_trees()?
        .context("no trained model is active: `leadflow predict --model trees.json --apply` stores one")
}

pub fn apply_trees<S: Backend>(engine: &mut Engine<S>, path: Option<&Path>) -> Result<ExitCode> {
    let bar = progress::bar("predicting leads");
    let (version, predicted) = match path {
        Some(path) => {
            let (learned, artifact) = read_trees(path)?;
            engine.apply_trees(&learned, &artifact, &bar)?
        }
        None => {
            let (learned, version) = active_trees(engine)?;
            (version, engine.refresh_predictions(&learned, version, &bar)?)
        }
    };
    drop(bar);
    println!("trained model {version} is active: {predicted} leads predicted");
    Ok(ExitCode::SUCCESS)
}

pub fn backtest_trees<S: Backend>(
    engine: &mut Engine<S>,
    path: &Path,
    cutoff: Cutoff,
    json: bool,
    chart: Option<&Path>,
) -> Result<ExitCode> {
    let (learned, _) = read_trees(path)?;
    let bar = progress::bar("scoring leads with outcomes");
    let result = engine.backtest_trees(&learned, cutoff, &bar)?;
    drop(bar);
    show_backtest(&learned.name, cutoff, &result, json, chart)
}

pub fn predict<S: Backend>(
    engine: &mut Engine<S>,
    model: Option<&Path>,
    leads: &[String],
    top: usize,
    as_of: Option<Timestamp>,
    json: bool,
) -> Result<ExitCode> {
    let learned = match model {
        Some(path) => read_trees(path)?.0,
        None => active_trees(engine)?.0,
    };
    // Without leads named: the ones sales can still act on, those without an outcome.
    let records: Vec<leadflow_store::LeadRecord> = if leads.is_empty() {
        let decided: std::collections::HashSet<leadflow_core::LeadId> =
            leadflow_store::OutcomeReads::outcomes(engine.store())?.into_iter().map(|(id, _)| id).collect();
        let query = leadflow_store::LeadQuery { limit: usize::MAX >> 1, ..Default::default() };
        let all = leadflow_store::LeadReads::list_leads(engine.store(), &query)?;
        let open: Vec<_> = all.into_iter().filter(|l| !decided.contains(&l.id)).collect();
        if !decided.is_empty() {
            eprintln!("{} leads with an outcome left out (won or lost: nothing to act on)", decided.len());
        }
        open
    } else {
        let mut found = Vec::new();
        for lead in leads {
            let lead = parse_lead(lead)?;
            found.push(leadflow_store::LeadReads::lead(engine.store(), &lead)?.with_context(|| format!("no {lead}"))?);
        }
        found
    };
    let ids: Vec<leadflow_core::LeadId> = records.iter().map(|r| r.id).collect();
    let predictions = engine.predict(&learned, &ids, as_of.unwrap_or_else(|| engine.now()))?;
    let mut rows: Vec<(&leadflow_store::LeadRecord, leadflow_engine::Prediction)> =
        records.iter().zip(predictions).collect();
    if leads.is_empty() {
        rows.sort_by(|a, b| b.1.probability.total_cmp(&a.1.probability));
        rows.truncate(top);
    }
    if json {
        let out: Vec<_> = rows
            .iter()
            .map(|(lead, p)| {
                serde_json::json!({"lead_id": lead.id.0, "email": lead.profile.email,
                    "external_id": lead.profile.external_id, "probability": p.probability,
                    "factors": p.factors.iter().map(|(f, v)| serde_json::json!({"feature": f, "log_odds": v})).collect::<Vec<_>>()})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (lead, p) in &rows {
            let factors: Vec<String> = p.factors.iter().take(3).map(|(f, v)| format!("{f} {v:+.2}")).collect();
            let name = lead.profile.external_id.as_ref().map_or(lead.profile.name(), |x| x.as_str());
            println!(
                "lead {:>7}  {:<32}  {:>6}  {}",
                lead.id.0,
                leadflow_core::text::printable(name),
                pct(p.probability),
                factors.join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(cutoff: Cutoff) -> String {
    match cutoff {
        Cutoff::AsOf(t) => format!("as of {t}"),
        Cutoff::BeforeOutcome { days: 0 } => "just before each lead's outcome".to_string(),
        Cutoff::BeforeOutcome { days } => format!("{days} days before each lead's outcome"),
    }
}

fn report_json(b: &Backtest) -> serde_json::Value {
    let mut v = serde_json::to_value(&b.report).expect("a report serializes");
    v["left_out"] = serde_json::json!(b.left_out);
    v["in_sample"] = serde_json::json!(b.in_sample);
    v
}

pub fn backtest<S: Backend>(
    engine: &mut Engine<S>,
    file: Option<&Path>,
    cutoff: Cutoff,
    json: bool,
    chart: Option<&Path>,
) -> Result<ExitCode> {
    let model = model(engine, file)?;
    let bar = progress::bar("scoring leads with outcomes");
    let result = engine.backtest(&model, cutoff, &bar)?;
    drop(bar);
    show_backtest(&model.name, cutoff, &result, json, chart)
}

/// A backtest as text or JSON, and its gains chart when asked.
fn show_backtest(name: &str, cutoff: Cutoff, result: &Backtest, json: bool, chart: Option<&Path>) -> Result<ExitCode> {
    if let Some(path) = chart {
        std::fs::write(path, gains_svg(&[(name, &result.report)]))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        let mut v = report_json(result);
        v["model"] = serde_json::json!(name);
        v["cutoff"] = serde_json::json!(describe(cutoff));
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", text(name, cutoff, result));
    }
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn groups(out: &mut String, title: &str, groups: &[Group]) {
    let _ = writeln!(
        out,
        "\n{title:<10} {:>7} {:>9} {:>8} {:>6} {:>11}",
        "leads", "converted", "rate", "lift", "converters"
    );
    for g in groups.iter().filter(|g| g.leads > 0) {
        let _ = writeln!(
            out,
            "{:<10} {:>7} {:>9} {:>8} {:>6.2} {:>11}",
            g.name,
            g.leads,
            g.converted,
            pct(g.rate),
            g.lift,
            pct(g.share_of_converters)
        );
    }
}

fn text(name: &str, cutoff: Cutoff, b: &Backtest) -> String {
    let r = &b.report;
    let mut out = String::new();
    let _ = writeln!(out, "model `{name}`, {} leads with outcomes scored {}", r.leads, describe(cutoff));
    if b.left_out > 0 {
        let _ = writeln!(out, "({} left out: created after the cutoff, or their outcome came before it)", b.left_out);
    }
    if b.in_sample > 0 {
        let _ = writeln!(
            out,
            "WARNING: {} of these {} leads are ones the model learned from: the figures are in-sample, better than it \
             will do on new leads (judge it on outcomes recorded after training)",
            b.in_sample, r.leads
        );
    }
    let auc = r.auc.map_or("n/a (one outcome only)".to_string(), |a| format!("{a:.4}"));
    let _ = writeln!(out, "converted {} ({}), ROC AUC {auc}", r.converted, pct(r.base_rate));
    groups(&mut out, "bucket", &r.buckets);
    groups(&mut out, "grade", &r.grades);
    let _ = writeln!(
        out,
        "\n{:<7} {:>17} {:>7} {:>8} {:>6} {:>12}",
        "decile", "scores", "leads", "rate", "lift", "caught so far"
    );
    for d in &r.deciles {
        let _ = writeln!(
            out,
            "{:<7} {:>17} {:>7} {:>8} {:>6.2} {:>12}",
            d.decile,
            format!("{:.1}-{:.1}", d.min_score, d.max_score),
            d.group.leads,
            pct(d.group.rate),
            d.group.lift,
            pct(d.cumulative_share_of_converters)
        );
    }
    let m = &r.mql;
    let _ = writeln!(
        out,
        "\nMQL rule: {} leads flagged, {} converted: precision {}, recall {}",
        m.flagged,
        m.flagged_converted,
        pct(m.precision),
        pct(m.recall)
    );
    if let Some(map) = r.score_to_probability {
        let at: Vec<String> =
            [0.0, 25.0, 50.0, 75.0, 100.0].iter().map(|s| format!("{s:.0} -> {}", pct(map.probability(*s)))).collect();
        let _ = writeln!(out, "\ncalibration (a logistic curve fitted to these outcomes): {}", at.join(", "));
    }
    if !r.calibration.is_empty() {
        let bins: Vec<String> =
            r.calibration.iter().map(|b| format!("{}/{}", pct(b.predicted), pct(b.observed))).collect();
        let brier = r.brier.map_or(String::new(), |b| format!("; Brier score {b:.4}"));
        let _ = writeln!(out, "predicted/observed by tenths: {}{brier}", bins.join(" "));
    }
    out
}

pub fn compare<S: Backend>(
    engine: &mut Engine<S>,
    a: &Path,
    b: &Path,
    cutoff: Cutoff,
    json: bool,
    chart: Option<&Path>,
    show: usize,
) -> Result<ExitCode> {
    let (model_a, model_b) = (model(engine, Some(a))?, model(engine, Some(b))?);
    let bar = progress::bar("scoring leads with outcomes");
    let c = engine.compare(&model_a, &model_b, cutoff, &bar)?;
    drop(bar);
    let (name_a, name_b) = (format!("A: {}", model_a.name), format!("B: {}", model_b.name));
    if let Some(path) = chart {
        std::fs::write(path, gains_svg(&[(name_a.as_str(), &c.a.report), (name_b.as_str(), &c.b.report)]))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        let v = serde_json::json!({
            "cutoff": describe(cutoff),
            "a": {"model": model_a.name, "report": report_json(&c.a)},
            "b": {"model": model_b.name, "report": report_json(&c.b)},
            "transitions": c.transitions.iter().map(|(f, t, n)| serde_json::json!({"from": f, "to": t, "leads": n})).collect::<Vec<_>>(),
            "moves": c.moves.iter().take(show).map(|m| serde_json::json!({
                "lead_id": m.lead.0, "converted": m.converted, "from": m.from, "to": m.to,
                "total_a": m.total_a, "total_b": m.total_b,
                "reasons": m.reasons.iter().map(|(r, x, y)| serde_json::json!({"rule": r, "a": x, "b": y})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "moved": c.moves.len(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", compare_text(&model_a.name, &model_b.name, cutoff, &c, show));
    }
    Ok(ExitCode::SUCCESS)
}

fn compare_text(a: &str, b: &str, cutoff: Cutoff, c: &Comparison, show: usize) -> String {
    let (ra, rb) = (&c.a.report, &c.b.report);
    let mut out = String::new();
    let _ = writeln!(out, "A `{a}` and B `{b}` on the same {} leads, scored {}", ra.leads, describe(cutoff));
    let auc = |r: &Report| r.auc.map_or("n/a".to_string(), |x| format!("{x:.4}"));
    let _ = writeln!(out, "\n{:<28} {:>10} {:>10}", "", "A", "B");
    let _ = writeln!(out, "{:<28} {:>10} {:>10}", "ROC AUC", auc(ra), auc(rb));
    let top = |r: &Report| r.deciles.first().map_or(0.0, |d| d.group.lift);
    let _ = writeln!(out, "{:<28} {:>10.2} {:>10.2}", "lift of the top decile", top(ra), top(rb));
    let caught = |r: &Report| r.deciles.get(1).map_or(0.0, |d| d.cumulative_share_of_converters);
    let _ = writeln!(out, "{:<28} {:>10} {:>10}", "converters in the top 20%", pct(caught(ra)), pct(caught(rb)));
    let _ = writeln!(out, "{:<28} {:>10} {:>10}", "MQLs", ra.mql.flagged, rb.mql.flagged);
    let _ = writeln!(out, "{:<28} {:>10} {:>10}", "MQL precision", pct(ra.mql.precision), pct(rb.mql.precision));
    let _ = writeln!(out, "{:<28} {:>10} {:>10}", "MQL recall", pct(ra.mql.recall), pct(rb.mql.recall));
    let first = |r: &Report| r.buckets.first().map(|g| (g.name.clone(), g.rate)).unwrap_or_default();
    let (fa, fb) = (first(ra), first(rb));
    let _ = writeln!(
        out,
        "{:<28} {:>10} {:>10}",
        format!("conversion in top bucket"),
        format!("{} {}", fa.0, pct(fa.1)),
        format!("{} {}", fb.0, pct(fb.1))
    );
    let _ = writeln!(out, "\nbucket under A -> under B: leads");
    for (from, to, n) in &c.transitions {
        let _ = writeln!(out, "  {from:>8} -> {to:<8} {n:>7}{}", if from == to { "" } else { "  moved" });
    }
    let _ = writeln!(out, "\n{} leads changed bucket; the largest changes:", c.moves.len());
    for m in c.moves.iter().take(show) {
        let reasons: Vec<String> = m.reasons.iter().map(|(r, x, y)| format!("{r} {x:+.1} -> {y:+.1}")).collect();
        let _ = writeln!(
            out,
            "  lead {:>6} {:>5} -> {:<5} {:>6.1} -> {:<6.1} {}  {}",
            m.lead.0,
            m.from,
            m.to,
            m.total_a,
            m.total_b,
            if m.converted { "won " } else { "lost" },
            reasons.join(", ")
        );
    }
    out
}

/// A cumulative gains chart: how many converters each scoring catches as leads are called in
/// score order, beside calling at random.
pub fn gains_svg(series: &[(&str, &Report)]) -> String {
    let (w, h, left, top, plot) = (640.0, 480.0, 70.0, 30.0, 380.0);
    let x = |f: f64| left + f * plot;
    let y = |f: f64| top + (1.0 - f) * plot;
    let colors = ["#2f6fdf", "#d9480f", "#2b8a3e"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">Cumulative gains: converters caught by calling leads in score order</text>\n",
        w / 2.0
    );
    for i in 0..=10 {
        let f = i as f64 / 10.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e5e7eb\"/>",
            x(0.0),
            y(f),
            x(1.0),
            y(f)
        );
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e5e7eb\"/>",
            x(f),
            y(0.0),
            x(f),
            y(1.0)
        );
        let _ =
            writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}%</text>", x(0.0) - 6.0, y(f) + 4.0, i * 10);
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}%</text>", x(f), y(0.0) + 18.0, i * 10);
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">leads called (highest scores first)</text>",
        x(0.5),
        y(0.0) + 38.0
    );
    let _ = writeln!(
        svg,
        "<text transform=\"translate(18 {}) rotate(-90)\" text-anchor=\"middle\">converters caught</text>",
        y(0.5)
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9ca3af\" stroke-dasharray=\"4 4\"/>",
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    for (i, (name, report)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let points: Vec<String> = report.gains.iter().map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b))).collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        let auc = report.auc.map_or(String::new(), |a| format!(" (AUC {a:.3})"));
        let ly = top + 20.0 + i as f64 * 18.0;
        let _ =
            writeln!(svg, "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"3\" fill=\"{color}\"/>", x(0.62), ly - 4.0);
        let _ = writeln!(svg, "<text x=\"{}\" y=\"{ly}\">{}{auc}</text>", x(0.62) + 20.0, escape(name));
    }
    let ly = top + 20.0 + series.len() as f64 * 18.0;
    let _ =
        writeln!(svg, "<text x=\"{}\" y=\"{ly}\" fill=\"#6b7280\">dashed: calling at random</text>", x(0.62) + 20.0);
    svg.push_str("</svg>\n");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
