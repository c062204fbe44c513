//! `leadflow demo`: a working database with a year of realistic leads, their events and what
//! sales did with them, built through the same import, tracking, scoring and pipeline paths as
//! real data, and a look at the hottest leads.
//!
//! Each lead is drawn from a persona: who it is (title, company, industry, email, source) and a
//! hidden propensity to buy, which its profile shows in part (what the default model's fit rules
//! read) and in part not (its source: partners' and referrals' leads buy more often). How keen
//! it is, and so what it does, follows that propensity; so does what sales makes of it, as moves
//! through the two example pipelines at the times they happened and an outcome for the deals
//! that ended. There is chance at every step, so that the default model ranks the outcomes well
//! but not perfectly, and `leadflow train` finds what it leaves out.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use leadflow_core::pipeline::route;
use leadflow_core::{
    Activity, Actor, CustomValue, Email, EventShape, EventType, LeadFacts, LeadRef, Model, OutcomeKind, Pipeline,
    Profile, Role, ScoreState, Timestamp,
};
use leadflow_engine::{Clock, Engine, EventInput, FixedClock, LeadInput, RescoreOptions, StageMove, SystemClock};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin, LeadQuery, Store};

use crate::{output, progress};

mod team;

const INBOUND_PIPELINE: &str = include_str!("../../../../examples/pipeline-inbound-b2b.toml");
const PARTNER_PIPELINE: &str = include_str!("../../../../examples/pipeline-partner.toml");
/// The example pipelines' names, as their files give them.
const INBOUND: &str = "inbound-b2b";
const PARTNER: &str = "partner";

const DAY_MS: f64 = 86_400_000.0;
/// How far back the leads go.
const HISTORY_DAYS: f64 = 365.0;

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

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A draw from the standard normal distribution (Box-Muller).
    fn normal(&mut self) -> f64 {
        // 1 - unit is in (0, 1]: its logarithm is finite.
        (-2.0 * (1.0 - self.unit()).ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }

    /// A number of days, evenly between `min` and `max`.
    fn days(&mut self, min: f64, max: f64) -> f64 {
        min + (max - min) * self.unit()
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

    fn pick_one<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
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
const FREE_EMAIL_DOMAINS: [(&str, u32); 3] = [("gmail.com", 6), ("outlook.com", 2), ("yahoo.com", 2)];
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
/// The resellers and referrers who register leads with us (`custom.partner_id`).
const PARTNERS: [&str; 5] = ["P-NORTHWIND", "P-CONTOSO", "P-FABRIKAM", "P-TAILSPIN", "P-ADATUM"];
/// The share of leads a partner registers.
const PARTNER_SHARE: f64 = 0.03;
/// The share of deals that stall until their cycle ends them (recycled inbound leads, expired
/// partner registrations).
const STALLED_SHARE: f64 = 0.04;
use team::OWNERS;
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

/// How much a job title helps a deal: the people who own a budget, and those who run a team,
/// buy; students and interns do not.
fn title_fit(title: &str) -> f64 {
    match title {
        "CEO" | "CTO" | "VP Marketing" | "VP Sales" => 1.0,
        "Director of Marketing"
        | "Head of Growth"
        | "Marketing Manager"
        | "Sales Manager"
        | "Marketing Operations Lead" => 0.5,
        "Student" | "Intern" => -1.5,
        _ => 0.0,
    }
}

/// How much the company's size helps: the product is for mid-market and enterprise teams.
fn size_fit(employees: f64) -> f64 {
    match employees {
        e if e >= 1000.0 => 0.6,
        e if e >= 50.0 => 0.4,
        e if e < 10.0 => -0.6,
        _ => 0.0,
    }
}

/// How much the industry helps: the default model's target industries buy, the public sector
/// rarely does.
fn industry_fit(industry: &str) -> f64 {
    match industry {
        "software" | "financial services" | "retail" | "manufacturing" => 0.4,
        "education" | "government" => -0.3,
        _ => 0.0,
    }
}

/// What the lead's source says about its chances that no fit rule of the default model reads: a
/// partner or a customer who refers a lead has vouched for it, a paid click has not. This is
/// what `leadflow train` can learn on top of the default model.
fn source_edge(source: &str) -> f64 {
    match source {
        "partner" | "referral" => 1.2,
        "event" => 0.5,
        "paid_search" => -0.8,
        _ => 0.0,
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `days` (a fraction of days too) after `t`.
fn after(t: Timestamp, days: f64) -> Timestamp {
    Timestamp::from_millis(t.millis() + (days * DAY_MS) as i64)
}

fn event(kind: &str) -> EventShape {
    EventShape::new(EventType::parse(kind).expect("the demo's event types are valid"))
}

fn page_view(url: &str) -> EventShape {
    let mut shape = event("page_view");
    shape.set_property("url", url).expect("`url` is a valid property name");
    shape
}

/// Who a lead is and how likely it is to buy.
struct Persona {
    profile: Profile,
    created_at: Timestamp,
    free_email: bool,
    /// Its chance to buy, on a logit scale: its fit (partly what its profile shows) plus its
    /// source's edge plus what no field tells.
    propensity: f64,
    /// 0 to 1: how actively it looks at us, its propensity seen through noise.
    keenness: f64,
}

impl Persona {
    fn draw(rng: &mut Rng, index: usize, now: Timestamp) -> Result<Persona> {
        let first = FIRST[rng.below(FIRST.len())];
        let last = LAST[rng.below(LAST.len())];
        let company = COMPANIES[rng.below(COMPANIES.len())];
        // One lead in eight signs up with a personal address.
        let free_email = rng.chance(0.12);
        let domain = if free_email {
            rng.pick(&FREE_EMAIL_DOMAINS).to_string()
        } else {
            format!("{}.example", company.to_lowercase().replace(' ', ""))
        };
        let email = Email::parse(&format!("{}.{}{index}@{domain}", first.to_lowercase(), last.to_lowercase()))?;
        let title = rng.pick(&TITLES);
        let industry = rng.pick(&INDUSTRIES);
        let employees = (4.0 * (rng.unit() * 7.5).exp()).round();
        let mut profile = Profile::new(email);
        profile.first_name = Some(first.into());
        profile.last_name = Some(last.into());
        profile.company = Some(company.into());
        profile.job_title = Some(title.into());
        profile.industry = Some(industry.into());
        profile.employees = Some(employees);
        profile.country = Some(rng.pick(&COUNTRIES).into());
        profile.owner = Some(OWNERS[rng.below(OWNERS.len())].into());
        let source = if rng.chance(PARTNER_SHARE) {
            profile.custom.insert("partner_id".into(), CustomValue::Text(rng.pick_one(&PARTNERS).into()));
            "partner"
        } else {
            rng.pick(&SOURCES)
        };
        profile.source = Some(source.into());
        let created_at = after(now, -rng.days(0.0, HISTORY_DAYS));
        let fit = title_fit(title) + size_fit(employees) + industry_fit(industry) - if free_email { 0.7 } else { 0.0 };
        let propensity = fit + source_edge(source) + 0.7 * rng.normal();
        let keenness = sigmoid(1.2 * propensity - 0.6 + 0.7 * rng.normal());
        Ok(Persona { profile, created_at, free_email, propensity, keenness })
    }

    /// Why sales turns the lead away at once, if it does: wrong people, and the odd bad record.
    fn disqualification(&self, rng: &mut Rng) -> Option<&'static str> {
        let title = self.profile.job_title.as_deref().unwrap_or("");
        let tiny = self.profile.employees.is_some_and(|e| e < 10.0);
        if matches!(title, "Student" | "Intern") {
            Some("student")
        } else if tiny && self.free_email {
            Some("not a fit")
        } else if rng.chance(0.05) {
            Some(rng.pick_one(&["spam", "duplicate"]))
        } else {
            None
        }
    }

    /// Whether sales wins the deal, once it talks to the lead: leads that fit win more, and so
    /// do the keen (who show it in what they do). About three deals in ten are won.
    fn wins(&self, rng: &mut Rng) -> bool {
        rng.chance(sigmoid(1.5 * (self.propensity - 2.9) + 3.0 * (self.keenness - 0.5)))
    }

    /// What the lead does on its own from its creation on, up to `now`: keen leads more, and
    /// more of what buyers do (pricing, webinars, a demo request); the others read a post or two
    /// and drift off. In time order.
    fn marketing_events(&self, rng: &mut Rng, now: Timestamp) -> Vec<(Timestamp, EventShape)> {
        let count = 2 + (self.keenness * 30.0 * rng.unit()) as usize;
        // Interest fades: most events come in the lead's first weeks.
        let mean_days = 15.0 + 45.0 * rng.unit();
        let mut events = Vec::with_capacity(count + 1);
        for _ in 0..count {
            let at = after(self.created_at, -mean_days * (1.0 - rng.unit()).ln());
            events.push((at, self.marketing_event(rng)));
        }
        // Some raise a hand: a demo request from the keenest, a contact form from others.
        if rng.chance(0.6 * self.keenness.powi(2)) {
            let at = after(self.created_at, rng.days(0.5, 40.0));
            let kind = if rng.chance(self.keenness) { "demo_requested" } else { "form_submitted" };
            events.push((at, event(kind)));
        }
        events.retain(|(at, _)| *at <= now);
        events.sort_by_key(|(at, _)| *at);
        events
    }

    fn marketing_event(&self, rng: &mut Rng) -> EventShape {
        let keenness = self.keenness;
        let roll = rng.unit();
        if roll < 0.45 {
            page_view(if rng.chance(0.05 + 0.4 * keenness) { "/pricing" } else { rng.pick(&PAGES) })
        } else if roll < 0.7 {
            event("email_open")
        } else if roll < 0.8 {
            event(if rng.chance(0.3 + 0.6 * keenness) { "email_click" } else { "email_open" })
        } else if roll < 0.87 {
            event("content_download")
        } else if roll < 0.93 {
            event(if rng.chance(keenness) { "webinar_attended" } else { "webinar_registered" })
        } else if rng.chance(0.4 * (1.0 - keenness)) {
            event("email_unsubscribed")
        } else {
            event("email_open")
        }
    }
}

/// What moved a lead.
#[derive(Clone, Copy, Debug)]
enum Mover {
    /// Routing, entering a lead that became an MQL.
    Routing,
    /// The pipeline's own rules: a trigger (`enter_when`) or the end of a cycle.
    Rule,
    /// The sales rep who owns the lead.
    Owner,
}

/// One move of a lead through its pipeline, at the time it happened.
#[derive(Clone, Debug)]
struct Step<'p> {
    at: Timestamp,
    pipeline: &'p str,
    stage: &'p str,
    by: Mover,
    reason: Option<String>,
}

/// What sales did with a lead: its moves, how it ended, and what the lead did meanwhile.
#[derive(Default)]
struct Journey<'p> {
    steps: Vec<Step<'p>>,
    outcome: Option<(OutcomeKind, Timestamp)>,
    /// When the lead stopped doing anything of its own: its deal ended, or it stopped answering.
    quiet_from: Option<Timestamp>,
    /// The sales conversation's events (pricing looked at again, replies, a demo request) and a
    /// new customer's first weeks.
    events: Vec<(Timestamp, EventShape)>,
}

/// How a lead enters its pipeline.
enum Entry {
    /// Routing, as the lead became an MQL: `event` is what made it one.
    Routed { at: Timestamp, event: EventType },
    /// Its owner: following up a contact form or a demo request that did not make it an MQL,
    /// or registering a partner's lead.
    ByHand { at: Timestamp },
}

impl<'p> Journey<'p> {
    fn step(&mut self, at: Timestamp, pipeline: &'p str, stage: &'p str, by: Mover, reason: Option<String>) {
        self.steps.push(Step { at, pipeline, stage, by, reason });
    }

    /// The deal ends at `at`, and the lead does nothing more on its own (unless it went quiet
    /// before).
    fn end(&mut self, kind: OutcomeKind, at: Timestamp) {
        self.outcome = Some((kind, at));
        self.quiet_from.get_or_insert(at);
    }

    /// A deal that stalls: nobody wins or loses it, and at the end of the lead's cycle the
    /// pipeline moves it on (the sweep does, live), with the sweep's reason.
    fn stall(&mut self, pipeline: &'p Pipeline, entered: Timestamp) {
        let (Some(cycle), Some(end_stage), Some(ends)) =
            (pipeline.cycle(), pipeline.cycle_end_stage(), pipeline.cycle_ends_at(entered))
        else {
            unreachable!("the example pipelines limit their cycles")
        };
        let reason = format!("its cycle ended after {} days", cycle.max_days);
        self.step(ends, pipeline.name(), end_stage.id(), Mover::Rule, Some(reason));
    }

    /// What a lead in talks does between `from` and `until`: buyers look at pricing again and
    /// answer emails; the others, less.
    fn conversation(&mut self, rng: &mut Rng, from: Timestamp, until: Timestamp, wins: bool) {
        let span = (until.millis() - from.millis()) as f64 / DAY_MS;
        let pricing_views = if wins { 1 + rng.below(3) } else { rng.below(2) };
        for _ in 0..pricing_views {
            self.events.push((after(from, rng.days(0.0, span)), page_view("/pricing")));
        }
        if rng.chance(if wins { 0.6 } else { 0.25 }) {
            self.events.push((after(from, rng.days(0.0, span)), event("email_reply")));
        }
    }

    /// A new customer's first weeks: the docs, the onboarding emails.
    fn onboarding(&mut self, rng: &mut Rng, won_at: Timestamp) {
        for _ in 0..1 + rng.below(4) {
            let shape = if rng.chance(0.5) { page_view("/docs/api") } else { event("email_open") };
            self.events.push((after(won_at, rng.days(1.0, 45.0)), shape));
        }
    }

    /// The inbound pipeline: new, worked, a meeting for the promising, then won, lost or
    /// disqualified; or, for a deal that stalls, recycled as its cycle runs out.
    fn inbound(rng: &mut Rng, lead: &Persona, pipeline: &'p Pipeline, entry: Entry) -> Journey<'p> {
        let mut j = Journey::default();
        let (entered, mut stage) = match entry {
            Entry::Routed { at, event } => {
                j.step(at, INBOUND, "new", Mover::Routing, None);
                // Live, the MQL's own score fires the next trigger in the same unit of work: a
                // qualifying total is past `working`'s `score_at_least`, and a demo request
                // books `meeting`.
                let next = if event.as_str() == "demo_requested" { "meeting" } else { "working" };
                j.step(at, INBOUND, next, Mover::Rule, None);
                (at, next)
            }
            Entry::ByHand { at } => {
                j.step(at, INBOUND, "new", Mover::Owner, None);
                (at, "new")
            }
        };
        // Wrong fits are weeded out within days (a lead in a meeting asked for it: it is lost if
        // it does not fit).
        if stage != "meeting"
            && let Some(reason) = lead.disqualification(rng)
        {
            let at = after(entered, rng.days(0.2, 4.0));
            j.step(at, INBOUND, "disqualified", Mover::Owner, Some(reason.into()));
            j.end(OutcomeKind::Lost, at);
            return j;
        }
        let mut at = entered;
        if stage == "new" {
            at = after(at, days_in(rng, pipeline, stage));
            j.step(at, INBOUND, "working", Mover::Owner, None);
            stage = "working";
        }
        if rng.chance(STALLED_SHARE) {
            j.stall(pipeline, entered);
            return j;
        }
        let wins = lead.wins(rng);
        if stage == "working" && (wins || rng.chance(0.1 + 0.4 * lead.keenness)) {
            at = after(at, days_in(rng, pipeline, stage));
            // Most meetings follow a demo request (the pipeline's trigger moves the lead); reps
            // book the others.
            if rng.chance(0.7) {
                j.events.push((at, event("demo_requested")));
                j.step(at, INBOUND, "meeting", Mover::Rule, None);
            } else {
                j.step(at, INBOUND, "meeting", Mover::Owner, None);
            }
            stage = "meeting";
        }
        let ends = after(at, days_in(rng, pipeline, stage));
        if wins {
            j.conversation(rng, entered, ends, true);
            // The CRM's won outcome moves the lead (the stage's `enter_when`).
            j.step(ends, INBOUND, "won", Mover::Rule, None);
            j.end(OutcomeKind::Won, ends);
            j.onboarding(rng, ends);
            return j;
        }
        let reason = if stage == "meeting" {
            rng.pick_one(&["no budget", "competitor", "bad timing"])
        } else {
            rng.pick_one(&["no response", "no response", "no response", "no budget", "bad timing"])
        };
        if reason == "no response" {
            j.quiet_from = Some(at);
        } else {
            j.conversation(rng, entered, ends, false);
        }
        j.step(ends, INBOUND, "lost", Mover::Owner, Some(reason.into()));
        j.end(OutcomeKind::Lost, ends);
        if reason == "bad timing" && rng.chance(0.5) {
            let note = "back to nurture: ask again next quarter".to_string();
            j.step(after(ends, rng.days(0.0, 2.0)), INBOUND, "recycled", Mover::Owner, Some(note));
        }
        j
    }

    /// The partner pipeline: a partner registers the lead (or routing enters it as an MQL), its
    /// owner accepts or rejects it, and an accepted one is won or lost; a registration nobody
    /// acts on expires.
    fn partner(rng: &mut Rng, lead: &Persona, pipeline: &'p Pipeline, entry: Entry, partner: &str) -> Journey<'p> {
        let mut j = Journey::default();
        let (entered, accepted) = match entry {
            Entry::Routed { at, .. } => {
                j.step(at, PARTNER, "registered", Mover::Routing, None);
                // The MQL fires `accepted`'s trigger in the same unit of work.
                j.step(at, PARTNER, "accepted", Mover::Rule, None);
                (at, true)
            }
            Entry::ByHand { at } => {
                j.step(at, PARTNER, "registered", Mover::Owner, Some(format!("registered by {partner}")));
                (at, false)
            }
        };
        if rng.chance(STALLED_SHARE) {
            j.stall(pipeline, entered);
            return j;
        }
        let mut at = entered;
        if !accepted {
            at = after(at, days_in(rng, pipeline, "registered"));
            if lead.disqualification(rng).is_some() || rng.chance(0.1) {
                let note = rng.pick_one(&["not a fit", "already in our pipeline"]);
                j.step(at, PARTNER, "rejected", Mover::Owner, Some(note.into()));
                j.end(OutcomeKind::Lost, at);
                return j;
            }
            j.step(at, PARTNER, "accepted", Mover::Owner, None);
        }
        let wins = lead.wins(rng);
        let ends = after(at, days_in(rng, pipeline, "accepted"));
        j.conversation(rng, entered, ends, wins);
        if wins {
            j.step(ends, PARTNER, "won", Mover::Rule, None);
            j.end(OutcomeKind::Won, ends);
            j.onboarding(rng, ends);
        } else {
            let reason = rng.pick_one(&["no budget", "competitor", "partner lost it"]);
            j.step(ends, PARTNER, "lost", Mover::Owner, Some(reason.into()));
            j.end(OutcomeKind::Lost, ends);
        }
        j
    }

    /// What sales did with the lead, if anything: routing enters it into its pipeline as it
    /// becomes an MQL (at its `qualifying` event), a partner registers it, or its owner follows
    /// up a raised hand.
    fn of(
        rng: &mut Rng,
        lead: &Persona,
        events: &[(Timestamp, EventShape)],
        qualifying: Option<usize>,
        pipelines: &'p [Pipeline],
    ) -> Journey<'p> {
        let routed_to = route(pipelines, &lead.profile);
        let routed = qualifying.filter(|_| routed_to.is_some()).map(|i| {
            let (at, shape) = &events[i];
            Entry::Routed { at: *at, event: shape.event_type.clone() }
        });
        match routed_to {
            Some(pipeline) if pipeline.name() == PARTNER => {
                let partner = match lead.profile.custom.get("partner_id") {
                    Some(CustomValue::Text(id)) => id.clone(),
                    _ => unreachable!("the partner pipeline routes only leads with a partner id"),
                };
                // The partner registers the lead within weeks of its first visit, unless it
                // became an MQL before (routing enters it then).
                let registered = after(lead.created_at, rng.days(0.0, 30.0));
                let entry = match routed {
                    Some(entry @ Entry::Routed { at, .. }) if at < registered => entry,
                    _ => Entry::ByHand { at: registered },
                };
                Journey::partner(rng, lead, pipeline, entry, &partner)
            }
            _ => {
                let inbound = pipelines.iter().find(|p| p.name() == INBOUND).expect("the inbound pipeline");
                // A hand raised without qualifying (or at a company too small for routing): its
                // owner follows it up within the day.
                let entry = routed
                    .or_else(|| hand_raised(events).map(|at| Entry::ByHand { at: after(at, rng.days(0.05, 1.0)) }));
                entry.map(|entry| Journey::inbound(rng, lead, inbound, entry)).unwrap_or_default()
            }
        }
    }

    /// What of the journey had happened by `now`: a deal still going stays open.
    fn until(mut self, now: Timestamp) -> Journey<'p> {
        self.steps.retain(|s| s.at <= now);
        self.outcome = self.outcome.filter(|(_, at)| *at <= now);
        self.events.retain(|(at, _)| *at <= now);
        self
    }
}

/// One demo lead: the row to import, what it did, and what sales did with it.
struct DemoLead<'p> {
    input: LeadInput,
    /// Its events to import, in time order.
    events: Vec<(Timestamp, EventShape)>,
    /// The event that made it an MQL: tracked at its time, not imported, so that the engine
    /// marks the MQL then (and records the score it had), as it would have live.
    qualifying: Option<(Timestamp, EventShape)>,
    steps: Vec<Step<'p>>,
}

impl<'p> DemoLead<'p> {
    fn draw(
        rng: &mut Rng,
        index: usize,
        now: Timestamp,
        model: &Model,
        pipelines: &'p [Pipeline],
    ) -> Result<DemoLead<'p>> {
        let lead = Persona::draw(rng, index, now)?;
        let mut events = lead.marketing_events(rng, now);
        let qualifying = first_qualifying(model, &lead, &events);
        let journey = Journey::of(rng, &lead, &events, qualifying, pipelines).until(now);
        // Tracked only when no move came before it, so that the lead's log stays in time order.
        let qualifying =
            qualifying.filter(|&i| journey.steps.first().is_none_or(|s| events[i].0 <= s.at)).map(|i| events.remove(i));
        // A lead that ended, or stopped answering, does nothing more (a customer's first weeks
        // are among the journey's events).
        if let Some(quiet) = journey.quiet_from {
            events.retain(|(at, _)| *at <= quiet);
        }
        events.extend(journey.events);
        events.sort_by_key(|(at, _)| *at);
        let outcome = journey.outcome.map(|(kind, at)| (kind, Some(at)));
        let input = LeadInput {
            id: None,
            profile: lead.profile,
            created_at: Some(lead.created_at),
            outcome,
            clear: Vec::new(),
            identities: Vec::new(),
        };
        Ok(DemoLead { input, events, qualifying, steps: journey.steps })
    }

    fn lead_ref(&self) -> LeadRef {
        self.input.profile.key()
    }

    fn won(&self) -> bool {
        matches!(self.input.outcome, Some((OutcomeKind::Won, _)))
    }

    /// Whether routing entered it into its pipeline, as an MQL.
    fn routed(&self) -> bool {
        self.steps.first().is_some_and(|s| matches!(s.by, Mover::Routing))
    }
}

/// The lead's first event after which `model` qualifies it as an MQL: when the engine, live,
/// would have marked it and routed it. `events` are in time order.
fn first_qualifying(model: &Model, lead: &Persona, events: &[(Timestamp, EventShape)]) -> Option<usize> {
    let facts = LeadFacts { profile: &lead.profile, created_at: lead.created_at };
    let mut state = ScoreState::new(model);
    events.iter().position(|(at, shape)| {
        state.apply(model, Activity { ts: *at, matched: model.match_event(shape) });
        state.score(model, facts, *at).is_some_and(|card| card.qualifies_mql)
    })
}

/// How many days a lead stays in `stage` before it moves on: most within the stage's
/// `rotting_days` (the pace its pipeline expects), some up to three times as long. A deal that
/// does not stall so ends well within its pipeline's cycle.
fn days_in(rng: &mut Rng, pipeline: &Pipeline, stage: &str) -> f64 {
    let stage = pipeline.stage(stage).expect("a stage of the example pipeline");
    let usual = f64::from(stage.rotting_days().expect("the demo's open stages rot"));
    if rng.chance(0.75) { rng.days(0.3 * usual, usual) } else { rng.days(usual, 3.0 * usual) }
}

/// When the lead first asked to be contacted, if it did.
fn hand_raised(events: &[(Timestamp, EventShape)]) -> Option<Timestamp> {
    events
        .iter()
        .find(|(_, shape)| matches!(shape.event_type.as_str(), "demo_requested" | "form_submitted"))
        .map(|(at, _)| *at)
}

/// Imports the leads (with their outcomes) and their events, today, as a CRM export would be.
fn import(engine: &mut Engine<SqliteStore>, leads: &[DemoLead]) -> Result<()> {
    let inputs: Vec<LeadInput> = leads.iter().map(|l| l.input.clone()).collect();
    for chunk in inputs.chunks(5000) {
        engine.import_leads(chunk, &ChangeOrigin::new(ChangeCause::Import, "demo"))?;
    }
    let mut events: Vec<EventInput> = leads
        .iter()
        .flat_map(|l| {
            l.events.iter().map(|(ts, shape)| EventInput {
                key: None,
                lead: l.lead_ref(),
                ts: *ts,
                shape: shape.clone(),
            })
        })
        .collect();
    while !events.is_empty() {
        let rest = events.split_off(events.len().saturating_sub(20_000));
        engine.import_events(rest)?;
    }
    Ok(())
}

/// Every tenth lead is in Salesforce too, with a work phone: identities that name it as its
/// email does (`leadflow identities list LEAD`, `leadflow leads show salesforce:00Q5g...`).
fn give_identities(engine: &mut Engine<SqliteStore>, leads: &[DemoLead]) -> Result<()> {
    let admin = leadflow_core::Actor { role: leadflow_core::Role::Admin, name: "" };
    for (i, lead) in leads.iter().enumerate().filter(|(i, _)| i % 10 == 3) {
        // Ofcom's numbers for drama, 020 7946 0000 to 0999: valid, and nobody's (one per lead up to
        // 10,000 leads).
        for text in [format!("salesforce:00Q5g00000{i:05}DmO"), format!("phone:+44 20 7946 {:04}", (i / 10) % 1000)] {
            engine.add_identity_as(&admin, &lead.lead_ref(), &leadflow_core::Identity::parse(&text)?)?;
        }
    }
    Ok(())
}

/// Tracks each lead's qualifying event at its time: the engine marks the MQL then, moves the
/// lead to the mql stage and records the score it had. Before any pipeline is active, so that
/// it routes nothing: the routing is among the lead's moves.
fn track_mqls(engine: &mut Engine<SqliteStore>, clock: &FixedClock, leads: &[DemoLead]) -> Result<()> {
    for lead in leads {
        if let Some((ts, shape)) = &lead.qualifying {
            clock.set(*ts);
            engine.track(EventInput { key: None, lead: lead.lead_ref(), ts: *ts, shape: shape.clone() })?;
        }
    }
    Ok(())
}

/// Makes every lead's moves, in time order, each with the clock at its time and as whoever
/// made it, through the pipeline's checks; and what its owner did besides: the answer to an MQL
/// routing entered (while the lead is still open), and the tasks its stage gave them, done as
/// they move it on.
fn make_moves(
    engine: &mut Engine<SqliteStore>,
    clock: &FixedClock,
    leads: &[DemoLead],
    pipelines: &[Pipeline],
    now: Timestamp,
) -> Result<()> {
    let leadflow = Actor { role: Role::Admin, name: "" };
    for (index, lead) in leads.iter().enumerate() {
        debug_assert!(lead.steps.is_sorted_by_key(|s| s.at), "a lead's moves are in time order");
        let owner = lead.input.profile.owner.as_deref().expect("every demo lead has an owner");
        let routed_at = lead.steps.first().filter(|s| matches!(s.by, Mover::Routing)).map(|s| s.at);
        let mut answer = routed_at.map(|at| team::answer_at(index, at)).filter(|at| *at <= now);
        let mut open = true;
        for step in &lead.steps {
            if let Some(at) = answer.filter(|at| *at <= step.at) {
                if open {
                    clock.set(at);
                    team::accept(engine, &lead.lead_ref(), owner)?;
                }
                answer = None;
            }
            let (actor, origin) = match step.by {
                Mover::Routing => (leadflow, ChangeOrigin::routing()),
                Mover::Rule => (leadflow, ChangeOrigin::pipeline_rule(step.pipeline)),
                // A rep moves their own leads in their CRM, over the API.
                Mover::Owner => (Actor { role: Role::Sales, name: owner }, ChangeOrigin::new(ChangeCause::Api, owner)),
            };
            clock.set(step.at);
            if matches!(step.by, Mover::Owner) {
                team::do_tasks(engine, &lead.lead_ref(), owner)?;
            }
            let request = StageMove {
                lead: lead.lead_ref(),
                pipeline: Some(step.pipeline.to_string()),
                stage: Some(step.stage.to_string()),
                reason: step.reason.clone(),
            };
            engine
                .move_lead(&actor, &origin, &request)
                .with_context(|| format!("moving demo lead {} to {} at {}", lead.lead_ref(), step.stage, step.at))?;
            let stage = pipelines.iter().find(|p| p.name() == step.pipeline).and_then(|p| p.stage(step.stage));
            open = stage.is_some_and(|s| s.kind() == leadflow_core::StageKind::Open);
        }
        if let Some(at) = answer.filter(|_| open) {
            clock.set(at);
            team::accept(engine, &lead.lead_ref(), owner)?;
        }
    }
    Ok(())
}

pub fn run(out: &Path, n_leads: usize) -> Result<ExitCode> {
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{}{suffix}", out.display());
        if Path::new(&p).exists() {
            std::fs::remove_file(&p).with_context(|| format!("replacing {p}"))?;
        }
    }
    let started = std::time::Instant::now();
    let now = SystemClock.now();
    // The engine's clock is set to each thing's time: leadflow was set up before the first lead
    // came, the imports are today's, and MQLs and moves happened when they did.
    let set_up = after(now, -HISTORY_DAYS - 1.0);
    let clock = Arc::new(FixedClock::new(set_up));
    let store = SqliteStore::open(out).with_context(|| format!("opening {}", out.display()))?;
    let mut engine = Engine::new(store, clock.clone());
    engine.ensure_model()?;
    team::set_up(&mut engine)?;
    let (_, model) = engine.active_model()?;
    let pipelines = [Pipeline::parse(INBOUND_PIPELINE)?, Pipeline::parse(PARTNER_PIPELINE)?];

    let mut rng = Rng(2026);
    let leads: Vec<DemoLead> =
        (0..n_leads).map(|i| DemoLead::draw(&mut rng, i, now, &model, &pipelines)).collect::<Result<_>>()?;
    clock.set(now);
    import(&mut engine, &leads)?;
    give_identities(&mut engine, &leads)?;
    track_mqls(&mut engine, &clock, &leads)?;
    clock.set(set_up);
    for source in [INBOUND_PIPELINE, PARTNER_PIPELINE] {
        engine.save_pipeline(source, true)?;
    }
    make_moves(&mut engine, &clock, &leads, &pipelines, now)?;
    clock.set(now);
    // Today's SLA sweep: the answers still owed past their deadline, and their escalations.
    let swept = engine.sweep_slas()?;
    // Every lead, not only those needing it: the MQLs tracked above hold their score as of then.
    engine.rescore(RescoreOptions::all(now), &progress::bar("scoring"))?;

    let stats = engine.store().stats()?;
    println!(
        "demo database {}: {} leads, {} events, {} MQLs, built and scored in {:.1}s",
        out.display(),
        stats.leads,
        stats.events,
        stats.mqls,
        started.elapsed().as_secs_f64()
    );
    let buckets: Vec<String> = stats.buckets.iter().map(|(b, n)| format!("{b} {n}")).collect();
    println!("buckets: {}", buckets.join(", "));
    let sla = engine.sla_compliance(set_up, after(now, 1.0))?.total;
    println!(
        "SLA clocks: {} met on time, {} late, {} breached ({} found today), {} running; on time {}",
        sla.met_on_time,
        sla.met_late,
        sla.breached,
        swept.breached.len(),
        sla.pending,
        sla.rate().map_or("-".to_string(), |r| format!("{:.0}%", r * 100.0))
    );
    println!();
    let top = engine.store().list_leads(&LeadQuery { limit: 3, ..Default::default() })?;
    for lead in &top {
        let view = engine.view(&LeadRef::Id(lead.id), Some(now), 5)?.context("lead just listed")?;
        output::print_view(&view, &model);
        println!("\n{}\n", "-".repeat(100));
    }
    // A deal to follow from the MQL that routing entered to the won deal, with the most moves.
    let showcase = leads.iter().filter(|l| l.won() && l.routed()).max_by_key(|l| l.steps.len());
    let showcase = match showcase {
        Some(lead) => engine.store().lead(&lead.lead_ref())?.map(|record| record.id),
        None => None,
    };
    let db = out.display();
    println!("try next:");
    println!("  leadflow --db {db} leads list --bucket hot");
    println!("  leadflow --db {db} leads show {}", top.first().map_or("1".to_string(), |l| l.id.to_string()));
    println!("  leadflow --db {db} pipeline stages {INBOUND}   # where sales is with the leads");
    if let Some(lead) = showcase {
        println!("  leadflow --db {db} leads changes {lead}   # a deal from MQL to won, move by move");
    }
    println!("  leadflow --db {db} queue --owner {}   # a rep's leads in the order to work them", OWNERS[0]);
    println!("  leadflow --db {db} sla compliance --from {}   # the hand-off SLA, per team and rep", after(now, -90.0));
    println!("  leadflow --db {db} track --lead ana@newco.example --type demo_requested");
    println!(
        "  leadflow --db {db} model show > my-model.toml   # edit, then: leadflow --db {db} model apply my-model.toml"
    );
    println!("  leadflow --db {db} backtest --before-outcome 7   # how well the model ranks the leads that ended");
    println!("  leadflow --db {db} train --out learned.toml --before-outcome 7   # then compare it with my-model.toml");
    Ok(ExitCode::SUCCESS)
}
