//! Reports as charts, where a picture beats numbers: the funnel as bars, where each step's leads
//! went as stacked bars, MQLs per month as bars
//! with the lead velocity rate, how many days each step takes month by month as lines, and the
//! cohort heatmap. Each chart is one SVG document with its title, axes, labels and legend,
//! readable in a browser and in a document; each bar and cell says its number on hover.
//!
//! Pure: a report's JSON types in, SVG text out. The CLI writes them to files (`leadflow report
//! pipeline --svg DIR`); the API serves them (`GET /v1/reports/pipeline/charts/{chart}`).

mod svg;

use leadflow_contract::PipelineReport;

use svg::{Canvas, SERIES, tick_label, ticks};

/// The charts of the pipeline report, by name.
pub const PIPELINE_CHARTS: [&str; 5] = ["funnel", "dropouts", "mqls", "velocity", "cohorts"];

/// The chart of this name, or `None` for a name not in [`PIPELINE_CHARTS`].
pub fn pipeline_chart(name: &str, report: &PipelineReport) -> Option<String> {
    Some(match name {
        "funnel" => funnel(report),
        "dropouts" => dropouts(report),
        "mqls" => mqls(report),
        "velocity" => velocity(report),
        "cohorts" => cohorts(report),
        _ => return None,
    })
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The funnel's stages as horizontal bars of the leads that reached them, each with the share of
/// the stage before that went on.
pub fn funnel(report: &PipelineReport) -> String {
    let mut stages: Vec<(&str, u64)> = Vec::new();
    for c in &report.conversion {
        if stages.is_empty() {
            stages.push((&c.from, c.reached));
        }
        let reached = report.stages.iter().find(|s| s.stage == c.to).map_or(0, |s| s.reached);
        stages.push((&c.to, reached));
    }
    let (left, bar_h, gap, width) = (140.0, 26.0, 10.0, 720.0);
    let height = 70.0 + stages.len() as f64 * (bar_h + gap) + 30.0;
    let mut canvas = Canvas::new(width, height, &format!("Funnel of `{}` as of {}", report.pipeline, report.as_of));
    let most = stages.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let span = width - left - 140.0;
    for (i, (stage, reached)) in stages.iter().enumerate() {
        let y = 50.0 + i as f64 * (bar_h + gap);
        let w = span * *reached as f64 / most;
        canvas.text(left - 8.0, y + bar_h * 0.68, stage, "end", 13.0, "normal");
        canvas.rect(left, y, w, bar_h, SERIES[0], &format!("{stage}: {reached} leads reached it"));
        let mut label = reached.to_string();
        if i > 0 {
            let rate = report.conversion[i - 1].rate;
            label.push_str(&format!("  ({} went on)", rate.map_or_else(|| "-".into(), percent)));
        }
        canvas.text(left + w + 6.0, y + bar_h * 0.68, &label, "start", 12.0, "normal");
    }
    let y = height - 14.0;
    canvas.text(
        left,
        y,
        "leads that reached each stage; in brackets, the share of the stage before that went on",
        "start",
        11.0,
        "normal",
    );
    canvas.finish()
}

/// Each funnel step as one bar of its leads, split by where they are now: gone on, stalled,
/// skipped ahead, recycled, lost, disqualified, won another way, left the pipeline.
pub fn dropouts(report: &PipelineReport) -> String {
    let (left, bar_h, gap, width) = (200.0, 26.0, 12.0, 900.0);
    let legend_w = 190.0;
    let height = (70.0 + report.conversion.len() as f64 * (bar_h + gap) + 40.0).max(230.0);
    let title = format!("Where each step's leads went, `{}` as of {}", report.pipeline, report.as_of);
    let mut canvas = Canvas::new(width, height, &title);
    let span = width - left - legend_w - 20.0;
    let parts = ["went on", "stalled", "skipped ahead", "recycled", "lost", "disqualified", "won another way", "left"];
    let colours = ["#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#D55E00", "#0072B2", "#F0E442", "#999999"];
    for (i, c) in report.conversion.iter().enumerate() {
        let y = 50.0 + i as f64 * (bar_h + gap);
        let label = format!("{} \u{2192} {} ({})", c.from, c.to, c.reached);
        canvas.text(left - 8.0, y + bar_h * 0.68, &label, "end", 13.0, "normal");
        let d = &c.dropped;
        let counts = [c.converted, d.stalled, d.skipped, d.recycled, d.lost, d.disqualified, d.won, d.left];
        let mut x = left;
        for ((part, colour), n) in parts.iter().zip(colours).zip(counts) {
            if n == 0 || c.reached == 0 {
                continue;
            }
            let share = n as f64 / c.reached as f64;
            let w = span * share;
            canvas.rect(x, y, w, bar_h, colour, &format!("{part}: {n} of {} ({})", c.reached, percent(share)));
            x += w;
        }
        if c.reached == 0 {
            canvas.text(left, y + bar_h * 0.68, "no lead reached it", "start", 12.0, "normal");
        }
    }
    let entries: Vec<(&str, &str)> = parts.iter().copied().zip(colours).collect();
    canvas.legend(width - legend_w, 50.0, &entries);
    canvas.text(
        left,
        height - 14.0,
        "each step's leads (of how many, in brackets) by where they are as of the report",
        "start",
        11.0,
        "normal",
    );
    canvas.finish()
}

/// An area of a chart with axes: its left, top, width and height.
struct Plot {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Plot {
    /// Draws the y axis with round ticks up to at least `max`, returning the top tick.
    fn y_axis(&self, canvas: &mut Canvas, max: f64, label: &str) -> f64 {
        let ticks = ticks(max, 5);
        let top = *ticks.last().expect("at least one tick");
        for t in &ticks {
            let y = self.y + self.h - self.h * t / top;
            canvas.line(self.x, y, self.x + self.w, y, "#e5e5e5", 1.0);
            canvas.text(self.x - 6.0, y + 4.0, &tick_label(*t), "end", 11.0, "normal");
        }
        canvas.line(self.x, self.y + self.h, self.x + self.w, self.y + self.h, "#444", 1.0);
        canvas.line(self.x, self.y, self.x, self.y + self.h, "#444", 1.0);
        canvas.vertical_text(self.x - 42.0, self.y + self.h / 2.0, label);
        top
    }

    /// Labels the x axis with every `every`-th of `labels`, centred under their slots.
    fn x_labels(&self, canvas: &mut Canvas, labels: &[String], label: &str) {
        let slot = self.w / labels.len().max(1) as f64;
        let every = (labels.len() as f64 * 60.0 / self.w).ceil().max(1.0) as usize;
        for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
            canvas.text(self.x + slot * (i as f64 + 0.5), self.y + self.h + 16.0, l, "middle", 11.0, "normal");
        }
        canvas.text(self.x + self.w / 2.0, self.y + self.h + 36.0, label, "middle", 12.0, "normal");
    }
}

/// MQLs per month as bars, the lead velocity rate above each.
pub fn mqls(report: &PipelineReport) -> String {
    let (width, height) = (820.0, 380.0);
    let mut canvas = Canvas::new(width, height, &format!("MQLs per month in `{}`", report.pipeline));
    let plot = Plot { x: 70.0, y: 60.0, w: width - 100.0, h: height - 140.0 };
    let most = report.months.iter().map(|m| m.mqls).max().unwrap_or(0) as f64;
    let top = plot.y_axis(&mut canvas, most, "MQLs");
    let slot = plot.w / report.months.len().max(1) as f64;
    for (i, m) in report.months.iter().enumerate() {
        let h = plot.h * m.mqls as f64 / top;
        let x = plot.x + slot * i as f64 + slot * 0.15;
        let rate = m.velocity_rate.map_or_else(|| "-".into(), |r| format!("{:+.0}%", r * 100.0));
        canvas.rect(
            x,
            plot.y + plot.h - h,
            slot * 0.7,
            h,
            SERIES[0],
            &format!("{}: {} MQLs, lead velocity {rate}", m.month, m.mqls),
        );
        if slot >= 34.0 {
            canvas.text(x + slot * 0.35, plot.y + plot.h - h - 4.0, &rate, "middle", 10.0, "normal");
        }
    }
    let months: Vec<String> = report.months.iter().map(|m| m.month.clone()).collect();
    plot.x_labels(
        &mut canvas,
        &months,
        "month (above each bar: the lead velocity rate, the change from the month before)",
    );
    canvas.finish()
}

/// The median days of each step (created to MQL, MQL to accepted, accepted to won), month by
/// month, as lines.
pub fn velocity(report: &PipelineReport) -> String {
    let (width, height) = (900.0, 400.0);
    let mut canvas =
        Canvas::new(width, height, &format!("Days per step in `{}`, by the month it ended", report.pipeline));
    let plot = Plot { x: 70.0, y: 60.0, w: width - 320.0, h: height - 140.0 };
    let mut months: Vec<String> =
        report.velocity.iter().flat_map(|v| v.by_month.iter().map(|m| m.month.clone())).collect();
    months.sort();
    months.dedup();
    let most = report.velocity.iter().flat_map(|v| v.by_month.iter().filter_map(|m| m.median_days)).fold(0.0, f64::max);
    let top = plot.y_axis(&mut canvas, most, "median days");
    let slot = plot.w / months.len().max(1) as f64;
    let mut legend = Vec::new();
    for (k, step) in report.velocity.iter().enumerate() {
        let colour = SERIES[k % SERIES.len()];
        let points: Vec<Option<(f64, f64)>> = months
            .iter()
            .enumerate()
            .map(|(i, month)| {
                let m = step.by_month.iter().find(|m| &m.month == month)?;
                let days = m.median_days?;
                Some((plot.x + slot * (i as f64 + 0.5), plot.y + plot.h - plot.h * days / top))
            })
            .collect();
        let name = format!("{} to {}", step.from, step.to);
        let median = step.median_days.map_or_else(|| "-".into(), |d| format!("{d:.1}"));
        canvas.polyline(&points, colour, &format!("{name}: median {median} days over {} leads", step.leads));
        legend.push((format!("{name}: median {median} d"), colour));
    }
    plot.x_labels(&mut canvas, &months, "month");
    let entries: Vec<(&str, &str)> = legend.iter().map(|(l, c)| (l.as_str(), *c)).collect();
    canvas.legend(plot.x + plot.w + 20.0, plot.y + 10.0, &entries);
    canvas.finish()
}

/// The cohort heatmap: a row per creation month, a column per month since, each cell the share
/// of the cohort won by then.
pub fn cohorts(report: &PipelineReport) -> String {
    let columns = report.cohorts.iter().map(|c| c.won.len()).max().unwrap_or(0);
    let (left, top, cell_w, cell_h) = (112.0, 70.0, 42.0, 22.0);
    let width = (left + columns as f64 * cell_w + 180.0).max(520.0);
    let height = top + report.cohorts.len() as f64 * cell_h + 70.0;
    let mut canvas = Canvas::new(
        width,
        height,
        &format!("Won by months since creation, per monthly cohort, in `{}`", report.pipeline),
    );
    let best = report
        .cohorts
        .iter()
        .filter(|c| c.leads > 0)
        .filter_map(|c| c.won.last().map(|w| *w as f64 / c.leads as f64))
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    for k in 0..columns {
        canvas.text(left + cell_w * (k as f64 + 0.5), top - 8.0, &k.to_string(), "middle", 11.0, "normal");
    }
    canvas.text(
        left + columns as f64 * cell_w / 2.0,
        top - 26.0,
        "months since the cohort's month",
        "middle",
        12.0,
        "normal",
    );
    for (r, cohort) in report.cohorts.iter().enumerate() {
        let y = top + r as f64 * cell_h;
        canvas.text(
            left - 8.0,
            y + cell_h * 0.7,
            &format!("{} ({})", cohort.month, cohort.leads),
            "end",
            11.0,
            "normal",
        );
        for (k, won) in cohort.won.iter().enumerate() {
            let share = if cohort.leads > 0 { *won as f64 / cohort.leads as f64 } else { 0.0 };
            let fill = shade(share / best);
            let title = format!("{}: {won} of {} won by month {k} ({})", cohort.month, cohort.leads, percent(share));
            canvas.rect(left + k as f64 * cell_w, y, cell_w - 1.0, cell_h - 1.0, &fill, &title);
            if share > 0.0 {
                let ink = if share / best > 0.6 { "#fff" } else { "#222" };
                let (x, label) = (left + cell_w * (k as f64 + 0.5), format!("{:.1}", share * 100.0));
                canvas.text_in(ink, x, y + cell_h * 0.7, &label, "middle", 9.0, "normal");
            }
        }
    }
    let y = height - 40.0;
    canvas.text(left, y + 4.0, "% of the cohort won:", "start", 11.0, "normal");
    for i in 0..=4 {
        let share = best * i as f64 / 4.0;
        canvas.rect(left + 120.0 + i as f64 * 50.0, y - 8.0, 48.0, 14.0, &shade(i as f64 / 4.0), &percent(share));
        canvas.text(
            left + 144.0 + i as f64 * 50.0,
            y + 20.0,
            &format!("{:.1}", share * 100.0),
            "middle",
            10.0,
            "normal",
        );
    }
    canvas.finish()
}

/// White to the series blue, for 0 to 1.
fn shade(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let mix = |from: f64, to: f64| (from + (to - from) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(247.0, 8.0), mix(251.0, 81.0), mix(255.0, 156.0))
}

#[cfg(test)]
mod tests;
