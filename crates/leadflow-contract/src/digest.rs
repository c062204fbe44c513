//! The digest as JSON, and as the Markdown a manager reads (in a file, a chat, an email).

use std::fmt::Write;

use leadflow_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::report::{AttributionFigures, ResponseFigures};
use crate::sla::ComplianceCounts;

/// A pipeline's last days against as many before them, where it stands at the end, the hand-off
/// SLA and the campaigns that brought the new leads.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Digest {
    pub pipeline: String,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    pub days: u32,
    /// The last `days` up to `as_of`, and as many before them.
    pub current: DigestWindow,
    pub previous: DigestWindow,
    /// The current window's losses by reason, most first; `null`: none given.
    pub lost_reasons: Vec<ReasonFigure>,
    /// At `as_of`: each open stage's leads, how many of them rotting, and their weight.
    pub open_stages: Vec<OpenStage>,
    pub weighted_open: f64,
    /// The SLA clocks started in the current window, and how fast they were met (working hours).
    pub sla: ComplianceCounts,
    pub response: ResponseFigures,
    /// The campaigns of the first touches of the leads created in the current window.
    pub campaigns: Vec<AttributionFigures>,
}

/// What happened in `[from, to)`: leads created, entries into MQL, sales-accepted, won and lost
/// (or disqualified) stages.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DigestWindow {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub created: u64,
    pub mqls: u64,
    pub accepted: u64,
    pub won: u64,
    pub lost: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReasonFigure {
    pub reason: Option<String>,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OpenStage {
    pub stage: String,
    pub open: u64,
    pub rotting: u64,
    pub weighted: f64,
    /// Median days the leads there have been there.
    pub median_age_days: Option<f64>,
}

impl From<&leadflow_core::report::DigestWindow> for DigestWindow {
    fn from(w: &leadflow_core::report::DigestWindow) -> DigestWindow {
        DigestWindow {
            from: w.from,
            to: w.to,
            created: w.created,
            mqls: w.mqls,
            accepted: w.accepted,
            won: w.won,
            lost: w.lost,
        }
    }
}

impl From<&leadflow_engine::Digest> for Digest {
    fn from(d: &leadflow_engine::Digest) -> Digest {
        Digest {
            pipeline: d.pipeline.clone(),
            as_of: d.as_of,
            days: d.days,
            current: DigestWindow::from(&d.current),
            previous: DigestWindow::from(&d.previous),
            lost_reasons: d
                .lost_reasons
                .iter()
                .map(|(reason, count)| ReasonFigure { reason: reason.clone(), count: *count })
                .collect(),
            open_stages: d
                .open_stages
                .iter()
                .map(|s| OpenStage {
                    stage: s.stage.clone(),
                    open: s.open,
                    rotting: s.rotting,
                    weighted: s.weighted,
                    median_age_days: s.open_median_age_days,
                })
                .collect(),
            weighted_open: d.weighted_open,
            sla: d.sla.into(),
            response: ResponseFigures::from(&d.response),
            campaigns: d.campaigns.iter().map(AttributionFigures::from).collect(),
        }
    }
}

impl Digest {
    /// The digest as a Markdown document: headings, tables, the change from the days before.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let day = |t: Timestamp| t.to_string().chars().take(10).collect::<String>();
        let (c, p) = (&self.current, &self.previous);
        let _ = writeln!(md, "# `{}`: the {} days to {}\n", self.pipeline, self.days, self.as_of);
        let _ = writeln!(md, "| | {} to {} | the {} days before | change |", day(c.from), day(c.to), self.days);
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for (what, now, before) in [
            ("New leads", c.created, p.created),
            ("MQLs", c.mqls, p.mqls),
            ("Accepted by sales", c.accepted, p.accepted),
            ("Won", c.won, p.won),
            ("Lost or disqualified", c.lost, p.lost),
        ] {
            let _ = writeln!(md, "| {what} | {now} | {before} | {} |", change(now, before));
        }
        if !self.lost_reasons.is_empty() {
            let _ = writeln!(md, "\n## Why leads were lost\n");
            for r in &self.lost_reasons {
                let _ = writeln!(md, "- {}: {}", text(r.reason.as_deref().unwrap_or("(no reason given)")), r.count);
            }
        }
        let _ = writeln!(md, "\n## The pipeline now\n");
        let _ = writeln!(md, "| stage | leads | rotting | median days there |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for s in &self.open_stages {
            let age = s.median_age_days.map_or_else(|| "-".to_string(), |d| format!("{d:.1}"));
            let _ = writeln!(md, "| {} | {} | {} | {age} |", text(&s.stage), s.open, s.rotting);
        }
        let _ = writeln!(md, "\nWeighted by the stages' win probabilities: {:.1} leads.", self.weighted_open);
        let _ = writeln!(md, "\n## The hand-off\n");
        let s = &self.sla;
        let rate = s.rate.map_or_else(|| "no clock decided".to_string(), |r| format!("{:.1}% on time", r * 100.0));
        let _ = writeln!(
            md,
            "SLA clocks started: {} met on time, {} late, {} breached, {} pending ({rate}).",
            s.met_on_time, s.met_late, s.breached, s.pending
        );
        let r = &self.response;
        match (r.median_hours, r.p90_hours) {
            (Some(median), Some(p90)) => {
                let _ = writeln!(
                    md,
                    "Answered {} of {}: in {median:.1} working hours at the median, {p90:.1} at the 90th percentile.",
                    r.responded, r.clocks
                );
            }
            _ => {
                let _ = writeln!(md, "None of {} answered yet.", r.clocks);
            }
        }
        if !self.campaigns.is_empty() {
            let _ = writeln!(md, "\n## Campaigns that brought the new leads (first touch)\n");
            let _ = writeln!(md, "| campaign | leads | MQLs | won |");
            let _ = writeln!(md, "|---|---:|---:|---:|");
            for f in &self.campaigns {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} |",
                    text(f.value.as_deref().unwrap_or("")),
                    f.leads,
                    f.mqls,
                    f.won
                );
            }
        }
        md
    }
}

/// `+3 (+50%)`, `-1`, `=`.
fn change(now: u64, before: u64) -> String {
    let delta = now as i64 - before as i64;
    match (delta, before) {
        (0, _) => "=".to_string(),
        (d, 0) => format!("{d:+}"),
        (d, b) => format!("{d:+} ({:+.0}%)", d as f64 * 100.0 / b as f64),
    }
}

/// Names as sent, made safe for a Markdown table: control characters (line breaks among them)
/// shown escaped, pipes escaped.
fn text(s: &str) -> String {
    leadflow_core::text::printable(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_say_how_much_and_by_what_share() {
        assert_eq!(change(15, 10), "+5 (+50%)");
        assert_eq!(change(3, 4), "-1 (-25%)");
        assert_eq!(change(2, 0), "+2");
        assert_eq!(change(7, 7), "=");
        assert_eq!(text("a|b\nc"), "a\\|b\\nc");
    }
}
