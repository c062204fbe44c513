//! Human and JSON renderings of leads.
//!
//! Text from the outside world (names, emails, event properties, import files) is stored as
//! sent but printed through [`printable`], so that no terminal control sequence, NUL or
//! bidirectional override reaches the terminal.

use leadflow_core::text::printable;
use leadflow_core::{CustomValue, Model};
use leadflow_engine::LeadView;
use leadflow_store::LeadRecord;

/// A number with one decimal, never `-0.0`.
pub fn one_decimal(x: f64) -> String {
    format!("{:.1}", if x.abs() < 0.05 { 0.0 } else { x })
}

/// A custom field's value as a person reads it.
pub fn custom_value(v: &CustomValue) -> String {
    match v {
        CustomValue::Text(s) => printable(s).into_owned(),
        CustomValue::Number(n) => leadflow_core::model::format_number(*n),
        CustomValue::Bool(b) => b.to_string(),
        CustomValue::Date(t) => t.to_string(),
    }
}

/// Prints rows under headers, columns padded to their widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| printable(c).into_owned()).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn name(l: &LeadRecord) -> String {
    let p = &l.profile;
    [p.first_name.as_deref(), p.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

pub fn print_lead_list(leads: &[LeadRecord]) {
    let rows: Vec<Vec<String>> = leads
        .iter()
        .map(|l| {
            let s = l.score.as_ref();
            vec![
                l.id.to_string(),
                l.profile.name().to_string(),
                name(l),
                l.profile.company.clone().unwrap_or_default(),
                l.profile.job_title.clone().unwrap_or_default(),
                s.map(|s| one_decimal(s.values.total)).unwrap_or_else(|| "-".into()),
                s.map(|s| s.values.bucket.clone()).unwrap_or_default(),
                s.map(|s| s.values.grade.to_string()).unwrap_or_default(),
                l.profile.stage.to_string(),
                if l.mql_at.is_some() { "MQL".into() } else { String::new() },
            ]
        })
        .collect();
    table(&["id", "email / external id", "name", "company", "title", "score", "bucket", "grade", "stage", ""], &rows);
}

pub fn print_view(v: &LeadView, model: &Model) {
    let l = &v.record;
    let p = &l.profile;
    let e = &v.explanation;
    println!("lead {}  {}  {}", l.id, printable(p.name()), printable(&name(l)));
    let field = |label: &str, value: Option<String>| {
        if let Some(value) = value {
            println!("  {:<14} {}", printable(label), printable(&value));
        }
    };
    if p.email.is_some() {
        field("external id", p.external_id.as_ref().map(ToString::to_string));
    }
    field("company", p.company.clone());
    field("job title", p.job_title.clone());
    field("department", p.department.clone());
    field("industry", p.industry.clone());
    field("employees", p.employees.map(leadflow_core::model::format_number));
    field("revenue", p.annual_revenue.map(leadflow_core::model::format_number));
    field("country", p.country.clone());
    field("city", p.city.clone());
    field("company type", p.company_type.clone());
    field("source", p.source.clone());
    field("owner", p.owner.clone());
    field("stage", Some(p.stage.to_string()));
    if let (Some(pipeline), Some(stage)) = (&p.pipeline, &p.pipeline_stage) {
        let since = l.pipeline_clock.stage_entered_at.map(|t| format!(" since {t}")).unwrap_or_default();
        let recycled = match l.pipeline_clock.recycles {
            0 => String::new(),
            n => format!(", recycled {n}x"),
        };
        field("pipeline", Some(format!("{pipeline}: {stage}{since}{recycled}")));
    }
    for (k, value) in &p.custom {
        field(&format!("custom.{k}"), Some(custom_value(value)));
    }
    field("created", Some(l.created_at.to_string()));
    field("MQL since", l.mql_at.map(|t| t.to_string()));
    field(
        "predicted",
        v.prediction.map(|p| {
            format!("{:.1}% chance to convert (trained model {}, {})", p.probability * 100.0, p.version, p.at)
        }),
    );

    println!();
    println!(
        "score as of {} (model {} `{}`): total {} = fit {} + engagement {}   {}   grade {}{}",
        e.as_of,
        v.model,
        model.name,
        one_decimal(e.card.total),
        one_decimal(e.card.fit),
        one_decimal(e.card.engagement),
        v.bucket,
        e.card.grade,
        if e.card.qualifies_mql { "   (meets the MQL rule)" } else { "" }
    );
    println!();
    println!(
        "fit ({} before bounds {}..{}):",
        one_decimal(e.fit_before_bounds),
        model.fit.bounds.min,
        model.fit.bounds.max
    );
    if e.fit.is_empty() {
        println!("  no fit rule matched");
    }
    for f in &e.fit {
        println!("  {:>+7.1}  {}", f.points, f.rule);
    }
    println!("engagement ({} before bounds):", one_decimal(e.engagement_before_bounds));
    let rows: Vec<Vec<String>> = e
        .engagement
        .iter()
        .map(|r| {
            vec![
                format!("{:+.1}", r.points_after_decay),
                r.rule.clone(),
                format!("{} of {}", r.events_counted, r.events_matched),
                format!("{:+.1}", r.points_before_decay),
            ]
        })
        .chain(e.inactivity.iter().map(|i| {
            vec![format!("{:+.1}", i.points), i.rule.clone(), format!("no event in {} days", i.days), String::new()]
        }))
        .collect();
    if rows.is_empty() {
        println!("  no activity");
    } else {
        table(
            &["  points", "rule", "events counted", "before decay"],
            &rows
                .into_iter()
                .map(|mut r| {
                    r[0] = format!("  {}", r[0]);
                    r
                })
                .collect::<Vec<_>>(),
        );
    }
    if !v.timeline.is_empty() {
        println!();
        println!("timeline (newest first):");
        for ev in &v.timeline {
            let props: Vec<String> =
                ev.shape.properties.iter().map(|(k, val)| format!("{}={}", printable(k), printable(val))).collect();
            println!("  {}  {:<20} {}", ev.ts, ev.shape.event_type, props.join(" "));
        }
    }
    if !v.history.is_empty() {
        println!();
        println!("score history (newest first):");
        for h in &v.history {
            let before = h.before.as_ref().map_or("-".to_string(), |b| format!("{:.1} {}", b.total, b.bucket));
            println!(
                "  {}  {:>14} -> {:.1} {} {}  ({}){}",
                h.at,
                before,
                h.after.total,
                h.after.bucket,
                h.after.grade,
                h.cause,
                if h.became_mql { "  became MQL" } else { "" }
            );
        }
    }
}

/// A lead's change log, newest first: when, the field, before and after, and who made it.
pub fn print_changes(changes: &[leadflow_store::StoredChange]) {
    if changes.is_empty() {
        println!("no changes since the lead was created");
        return;
    }
    let shown = |v: &Option<CustomValue>| v.as_ref().map_or_else(|| "(not set)".to_string(), custom_value);
    let rows: Vec<Vec<String>> = changes
        .iter()
        .map(|c| {
            let by = match &c.origin.actor {
                Some(actor) => format!("{} {}", c.origin.cause.as_str(), printable(actor)),
                None => c.origin.cause.as_str().to_string(),
            };
            let why = c.origin.reason.as_deref().map(|r| printable(r).into_owned()).unwrap_or_default();
            vec![c.at.to_string(), c.change.field.to_string(), shown(&c.change.old), shown(&c.change.new), by, why]
        })
        .collect();
    table(&["at", "field", "was", "became", "by", "why"], &rows);
}

/// A lead's stages, oldest first, with the days in each, then the days per stage.
pub fn print_stages(history: &leadflow_contract::StageHistory) {
    let rows: Vec<Vec<String>> = history
        .stages
        .iter()
        .map(|s| {
            let until = s.until.map_or_else(|| "(now)".to_string(), |t| t.to_string());
            vec![s.stage.to_string(), s.from.to_string(), until, one_decimal(s.days)]
        })
        .collect();
    table(&["stage", "from", "until", "days"], &rows);
    let per_stage: Vec<String> =
        history.days_in_stage.iter().map(|(s, d)| format!("{s} {}", one_decimal(*d))).collect();
    println!("days in each stage: {}", per_stage.join(", "));
}
