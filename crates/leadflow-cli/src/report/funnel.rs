//! The funnel as a person reads it: each step's conversion and where the others went, and the
//! same by a dimension's values; and as CSV rows of the report's tidy table.

use anyhow::Result;
use clap::ValueEnum;
use leadflow_contract::{Conversion, FunnelBreakdown, FunnelReport};
use leadflow_core::report::FunnelDimension;

use super::{or_none, percent};
use crate::output;

/// What a funnel can be split by.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    Source,
    /// The owner now.
    Owner,
    /// The team of the owner now.
    Team,
    /// The first campaign touched before qualifying.
    Campaign,
    /// The page of the first page view.
    #[value(alias = "landing_page")]
    LandingPage,
    /// As scored now.
    Bucket,
    /// As scored now.
    Grade,
    /// The month (UTC) the lead was created in.
    Month,
}

impl From<ByArg> for FunnelDimension {
    fn from(by: ByArg) -> FunnelDimension {
        match by {
            ByArg::Source => FunnelDimension::Source,
            ByArg::Owner => FunnelDimension::Owner,
            ByArg::Team => FunnelDimension::Team,
            ByArg::Campaign => FunnelDimension::Campaign,
            ByArg::LandingPage => FunnelDimension::LandingPage,
            ByArg::Bucket => FunnelDimension::Bucket,
            ByArg::Grade => FunnelDimension::Grade,
            ByArg::Month => FunnelDimension::Month,
        }
    }
}

/// The lost and disqualified reasons shown under each step.
const REASONS_SHOWN: usize = 5;
/// The values of a breakdown shown (the leads without one always are).
const GROUPS_SHOWN: usize = 30;

pub(super) fn print_funnel_report(r: &FunnelReport) {
    println!("funnel of pipeline `{}` as of {}: {} leads", r.pipeline, r.as_of, r.leads);
    let rows: Vec<Vec<String>> = r.reached.iter().map(|s| vec![s.stage.clone(), s.reached.to_string()]).collect();
    output::table(&["stage", "reached"], &rows);
    print_steps(&r.conversion);
    if let Some(breakdown) = &r.breakdown {
        print_breakdown(breakdown);
    }
}

/// Each step, with where the leads that did not take it are now, and why the lost ones went.
pub(super) fn print_steps(conversion: &[Conversion]) {
    println!("\nfunnel (of those that did not go on, where they are now)");
    let rows: Vec<Vec<String>> = conversion
        .iter()
        .map(|c| {
            let interval = match (c.rate_low, c.rate_high) {
                (Some(low), Some(high)) => format!("{} to {}", percent(Some(low)), percent(Some(high))),
                _ => "-".into(),
            };
            let d = &c.dropped;
            [
                format!("{} -> {}", c.from, c.to),
                c.reached.to_string(),
                c.converted.to_string(),
                percent(c.rate),
                interval,
            ]
            .into_iter()
            .chain([d.stalled, d.skipped, d.recycled, d.lost, d.disqualified, d.won, d.left].map(|n| n.to_string()))
            .collect()
        })
        .collect();
    output::table(
        &[
            "step",
            "reached",
            "went on",
            "conversion",
            "95% interval",
            "stalled",
            "skipped",
            "recycled",
            "lost",
            "disqualified",
            "won otherwise",
            "left",
        ],
        &rows,
    );
    for c in conversion.iter().filter(|c| !c.dropped.reasons.is_empty()) {
        let reasons: Vec<String> = c
            .dropped
            .reasons
            .iter()
            .take(REASONS_SHOWN)
            .map(|x| format!("{} ({}): {}", or_none(&x.reason), x.stage, x.count))
            .collect();
        let more = c.dropped.reasons.len().saturating_sub(REASONS_SHOWN);
        let more = if more > 0 { format!(", and {more} more") } else { String::new() };
        println!("  lost after {}: {}{more}", c.from, reasons.join(", "));
    }
}

/// A line per value: its leads, then each step's conversion.
pub(super) fn print_breakdown(b: &FunnelBreakdown) {
    println!("\nfunnel by {}", b.by.replace('_', " "));
    let Some(first) = b.groups.first() else {
        println!("  (no leads)");
        return;
    };
    let steps: Vec<String> = first.conversion.iter().map(|c| format!("{} -> {}", c.from, c.to)).collect();
    let mut headers = vec![b.by, "leads"];
    headers.extend(steps.iter().map(String::as_str));
    let (named, none): (Vec<_>, Vec<_>) = b.groups.iter().partition(|g| g.value.is_some());
    let rows: Vec<Vec<String>> = named
        .iter()
        .take(GROUPS_SHOWN)
        .chain(&none)
        .map(|g| {
            [or_none(&g.value), g.leads.to_string()]
                .into_iter()
                .chain(g.conversion.iter().map(|c| format!("{} of {}", percent(c.rate), c.reached)))
                .collect()
        })
        .collect();
    output::table(&headers, &rows);
    println!("(each step: the share of the leads that reached its first stage that went on, of how many)");
    if named.len() > GROUPS_SHOWN {
        println!("  ... and {} more (--format json or csv for all)", named.len() - GROUPS_SHOWN);
    }
}

/// The rows `conversion,<from>-><to>,<figure>,<value>` of a funnel's steps, under `section`.
pub(super) fn put_steps(
    put: &mut dyn FnMut(&str, &str, &str, String) -> csv::Result<()>,
    section: &str,
    key_prefix: &str,
    conversion: &[Conversion],
) -> Result<()> {
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    for c in conversion {
        let key = format!("{key_prefix}{}->{}", c.from, c.to);
        put(section, &key, "reached", c.reached.to_string())?;
        put(section, &key, "converted", c.converted.to_string())?;
        put(section, &key, "rate", number(c.rate))?;
        put(section, &key, "rate_low", number(c.rate_low))?;
        put(section, &key, "rate_high", number(c.rate_high))?;
        let d = &c.dropped;
        for (figure, n) in [
            ("stalled", d.stalled),
            ("skipped", d.skipped),
            ("recycled", d.recycled),
            ("lost", d.lost),
            ("disqualified", d.disqualified),
            ("won_otherwise", d.won),
            ("left", d.left),
        ] {
            put(section, &key, figure, n.to_string())?;
        }
        for x in &d.reasons {
            put(
                section,
                &key,
                &format!("reason:{}:{}", x.stage, x.reason.as_deref().unwrap_or("")),
                x.count.to_string(),
            )?;
        }
    }
    Ok(())
}

/// The breakdown's rows: `funnel_by_<by>,<value>|<from>-><to>,<figure>,<value>`.
pub(super) fn put_breakdown(
    put: &mut dyn FnMut(&str, &str, &str, String) -> csv::Result<()>,
    b: &FunnelBreakdown,
) -> Result<()> {
    let section = format!("funnel_by_{}", b.by);
    for g in &b.groups {
        let value = g.value.clone().unwrap_or_default();
        put(&section, &value, "leads", g.leads.to_string())?;
        put_steps(put, &section, &format!("{value}|"), &g.conversion)?;
    }
    Ok(())
}

/// The funnel report as CSV rows.
pub(super) fn print_funnel_csv(r: &FunnelReport) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    let mut put =
        |section: &str, key: &str, figure: &str, value: String| w.write_record([section, key, figure, &value]);
    put("report", &r.pipeline, "as_of", r.as_of.to_string())?;
    put("report", &r.pipeline, "leads", r.leads.to_string())?;
    for s in &r.reached {
        put("stage", &s.stage, "reached", s.reached.to_string())?;
    }
    put_steps(&mut put, "conversion", "", &r.conversion)?;
    if let Some(b) = &r.breakdown {
        put_breakdown(&mut put, b)?;
    }
    w.flush()?;
    Ok(())
}
