//! `leadflow demo`: a working database with realistic leads and events, built through the same
//! import and scoring paths as real data, and a look at the hottest leads.

use leadflow_store::prelude::*;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use leadflow_core::{Email, EventShape, EventType, LeadRef, OutcomeKind, Profile, Timestamp};
use leadflow_engine::{EventInput, LeadInput, RescoreOptions};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{ChangeCause, ChangeOrigin, DatabaseUrl, LeadQuery, Store};

use crate::{output, progress};

/// A small deterministic generator (SplitMix64): the demo is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[(&'a str, u32)]) -> &'a str {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = (self.next() % u64::from(total)) as u32;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        items[0].0
    }
}

const FIRST: [&str; 20] = [
    "Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jack", "Kofi", "Lena", "Mateo", "Nina",
    "Omar", "Priya", "Rosa", "Sven", "Tara", "Wei",
];
const LAST: [&str; 16] = [
    "Smith", "Garcia", "Muller", "Tanaka", "Okafor", "Rossi", "Nguyen", "Silva", "Kim", "Johnson", "Dubois", "Larsen",
    "Patel", "Brown", "Costa", "Fischer",
];
const COMPANIES: [&str; 24] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Wonka",
    "Cyberdyne",
    "Aperture",
    "Massive",
    "Oscorp",
    "Pied Piper",
    "Dunder",
    "Gringotts",
    "Monarch",
    "Nakatomi",
    "Prestige",
    "Sterling",
    "Virtucon",
    "Zorg",
];
const TITLES: [(&str, u32); 14] = [
    ("CEO", 2),
    ("CTO", 2),
    ("VP Marketing", 3),
    ("VP Sales", 3),
    ("Director of Marketing", 5),
    ("Head of Growth", 4),
    ("Marketing Manager", 10),
    ("Sales Manager", 8),
    ("Marketing Operations Lead", 6),
    ("Software Engineer", 12),
    ("Analyst", 10),
    ("Consultant", 6),
    ("Student", 5),
    ("Intern", 2),
];
const INDUSTRIES: [(&str, u32); 8] = [
    ("software", 20),
    ("financial services", 10),
    ("retail", 10),
    ("manufacturing", 10),
    ("healthcare", 10),
    ("education", 8),
    ("government", 4),
    ("media", 6),
];
const COUNTRIES: [(&str, u32); 8] =
    [("US", 35), ("GB", 10), ("DE", 9), ("CA", 6), ("FR", 6), ("IN", 12), ("BR", 6), ("AU", 4)];
const SOURCES: [(&str, u32); 6] =
    [("organic", 30), ("paid_search", 20), ("webinar", 12), ("referral", 10), ("linkedin", 18), ("event", 10)];
const OWNERS: [&str; 4] = ["sam@yourco.example", "alex@yourco.example", "kim@yourco.example", "jo@yourco.example"];
const PAGES: [(&str, u32); 10] = [
    ("/", 20),
    ("/product", 14),
    ("/product/integrations", 6),
    ("/pricing", 8),
    ("/customers", 5),
    ("/blog/lead-scoring-101", 10),
    ("/blog/pipeline-hygiene", 8),
    ("/docs/api", 5),
    ("/careers", 3),
    ("/contact", 3),
];

pub fn run(out: &Path, n_leads: usize) -> Result<ExitCode> {
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", out.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p).with_context(|| format!("replacing {p}"))?;
        }
    }
    let started = std::time::Instant::now();
    let mut engine = crate::open::<SqliteStore>(&DatabaseUrl::sqlite(out))?;
    engine.ensure_model()?;
    let now = engine.now();
    let mut rng = Rng(2026);
    let day = 86_400_000i64;

    let mut leads = Vec::with_capacity(n_leads);
    let mut intents = Vec::with_capacity(n_leads);
    for i in 0..n_leads {
        let first = FIRST[rng.below(FIRST.len())];
        let last = LAST[rng.below(LAST.len())];
        let company = COMPANIES[rng.below(COMPANIES.len())];
        let domain = if rng.unit() < 0.12 {
            "gmail.com".to_string()
        } else {
            format!("{}.example", company.to_lowercase().replace(' ', ""))
        };
        let email = Email::parse(&format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), i, domain))?;
        let mut p = Profile::new(email);
        p.first_name = Some(first.into());
        p.last_name = Some(last.into());
        p.company = Some(company.into());
        p.job_title = Some(rng.pick(&TITLES).into());
        p.industry = Some(rng.pick(&INDUSTRIES).into());
        p.employees = Some((4.0 * (rng.unit() * 7.5).exp()).round());
        p.country = Some(rng.pick(&COUNTRIES).into());
        p.source = Some(rng.pick(&SOURCES).into());
        p.owner = Some(OWNERS[rng.below(OWNERS.len())].into());
        let created_at = Timestamp::from_millis(now.millis() - (rng.unit() * 365.0 * day as f64) as i64);
        // How close to buying: drives how much and what the lead does.
        let intent = rng.unit().powi(4);
        // Leads older than four months have ended: won more often when keen and senior.
        let outcome = (now.millis() - created_at.millis() > 120 * day).then(|| {
            let title = p.job_title.as_deref().unwrap_or("");
            let senior = ["CEO", "CTO", "VP", "Director", "Head"].iter().any(|t| title.contains(t));
            let chance = 0.03 + 0.7 * intent + if senior { 0.08 } else { 0.0 };
            let kind = if rng.unit() < chance { OutcomeKind::Won } else { OutcomeKind::Lost };
            let at = Timestamp::from_millis(created_at.millis() + (14.0 + rng.unit() * 76.0) as i64 * day);
            (kind, Some(at))
        });
        intents.push(intent);
        leads.push(LeadInput { id: None, profile: p, created_at: Some(created_at), outcome, clear: Vec::new() });
    }
    for chunk in leads.chunks(5000) {
        engine.import_leads(chunk, &ChangeOrigin::new(ChangeCause::Import, "demo"))?;
    }

    let mut events = Vec::new();
    for (lead, intent) in leads.iter().zip(&intents) {
        let created = lead.created_at.expect("set above").millis();
        let count = (2.0 + intent * 45.0 * rng.unit()) as usize;
        let lead_ref = lead.profile.key();
        for _ in 0..count {
            // Keen leads were active recently; others trail off.
            let recency = rng.unit().powf(1.0 + 3.0 * intent);
            let ts = Timestamp::from_millis(now.millis() - (recency * (now.millis() - created) as f64) as i64);
            let roll = rng.unit();
            let (kind, url) = if roll < 0.5 {
                let page = if rng.unit() < *intent * 0.6 { "/pricing" } else { rng.pick(&PAGES) };
                ("page_view", Some(page))
            } else if roll < 0.75 {
                ("email_open", None)
            } else if roll < 0.85 {
                ("email_click", None)
            } else if roll < 0.9 {
                ("content_download", None)
            } else if roll < 0.94 {
                (if rng.unit() < 0.5 { "webinar_registered" } else { "webinar_attended" }, None)
            } else if roll < 0.97 {
                ("form_submitted", None)
            } else if *intent > 0.4 {
                ("demo_requested", None)
            } else if rng.unit() < 0.3 {
                ("email_unsubscribed", None)
            } else {
                ("email_open", None)
            };
            let mut shape = EventShape::new(EventType::parse(kind)?);
            if let Some(url) = url {
                shape.set_property("url", url)?;
            }
            events.push(EventInput { key: None, lead: lead_ref.clone(), ts, shape });
        }
    }
    while !events.is_empty() {
        let rest = events.split_off(events.len().saturating_sub(20_000));
        engine.import_events(rest)?;
    }
    let report = engine.rescore(RescoreOptions::needed(now), &progress::bar("scoring"))?;

    let stats = engine.store().stats()?;
    println!(
        "demo database {}: {} leads, {} events, {} MQLs, built and scored in {:.1}s",
        out.display(),
        stats.leads,
        stats.events,
        report.became_mql,
        started.elapsed().as_secs_f64()
    );
    let buckets: Vec<String> = stats.buckets.iter().map(|(b, n)| format!("{b} {n}")).collect();
    println!("buckets: {}", buckets.join(", "));
    println!();
    let top = engine.store().list_leads(&LeadQuery { limit: 3, ..Default::default() })?;
    let (_, model) = engine.active_model()?;
    for lead in &top {
        let view = engine.view(&LeadRef::Id(lead.id), Some(now), 5)?.context("lead just listed")?;
        output::print_view(&view, &model);
        println!("\n{}\n", "-".repeat(100));
    }
    let db = out.display();
    println!("try next:");
    println!("  leadflow --db {db} leads list --bucket hot");
    println!("  leadflow --db {db} leads show {}", top.first().map_or("1".to_string(), |l| l.id.to_string()));
    println!("  leadflow --db {db} track --lead ana@newco.example --type demo_requested");
    println!(
        "  leadflow --db {db} model show > my-model.toml   # edit, then: leadflow --db {db} model apply my-model.toml"
    );
    println!("  leadflow --db {db} backtest --before-outcome 7   # how well the model ranks the leads that ended");
    println!("  leadflow --db {db} train --out learned.toml --before-outcome 7   # then compare it with my-model.toml");
    Ok(ExitCode::SUCCESS)
}
