//! `leadflow-bench nurture DB SMTP_PORT [--sends N] [--enrollments M]`: nurture emails through
//! a running SMTP sink on 127.0.0.1 (`bench/nurture.sh` starts aiosmtpd), in three phases:
//!
//! 1. **raw**: N messages straight through lettre's SMTP transport (the pool leadflow's mailer
//!    uses), no database: the sink's own acceptance rate, the limit;
//! 2. **leadflow**: N leads enrolled in a one-email sequence; the nurture job plans the N sends
//!    (each enrollment in a unit of work of its own), then the job queue sends them, each marked
//!    sent durably as its job ends;
//! 3. **scheduling**: M leads enrolled in a sequence that waits; the nurture job moves each
//!    enrollment on to its wait (a unit of work each): the time to schedule the next step of M
//!    enrollments.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use leadflow_core::calendar::WeeklyHours;
use leadflow_core::sequence::{FrequencyCap, SendPolicy};
use leadflow_core::template::Sender;
use leadflow_core::{Email, Profile, Timestamp};
use leadflow_engine::{Engine, FixedClock, JobSettings, MailLinks, Mailbox, Mailer, NurtureSettings, OutgoingEmail};
use leadflow_mail::{Security, SmtpMailer, SmtpSettings};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{NewEnrollment, RuleFileKind};

pub struct Nurture {
    pub sends: usize,
    pub enrollments: usize,
}

const TEMPLATE: &str = "name = \"hello\"\nsubject = \"Hello {{ lead.first_name | default(\\\"there\\\") }}\"\ntext = \"A short note, with a link: https://yourco.example/pricing\"\nhtml = '<p>A short note, with <a href=\"https://yourco.example/pricing\">a link</a>.</p>'\n";
const ONE_EMAIL: &str = "name = \"one-email\"\n[[steps]]\nid = \"hello\"\nsend = \"hello\"\n";
const WAITS: &str = "name = \"waits\"\n[[steps]]\nid = \"start\"\nwait = { days = 1 }\n[[steps]]\nid = \"later\"\nwait = { days = 30 }\n";

pub fn run(db: &Path, port: u16, load: &Nurture) -> Result<()> {
    let smtp = SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        credentials: None,
        dkim: None,
        rate_per_second: 1_000_000.0,
        burst: 1_000_000,
        pool_size: 4,
        timeout: Duration::from_secs(30),
    };
    let mailer = Arc::new(SmtpMailer::new(&smtp)?);
    raw(&mailer, load.sends)?;
    let clock = Arc::new(FixedClock::new(Timestamp::parse("2026-06-01T10:00:00Z").unwrap()));
    let mut engine = Engine::new(SqliteStore::open(db)?, clock.clone());
    engine.ensure_model()?;
    engine.save_template(TEMPLATE, true)?;
    engine.save_sequence(ONE_EMAIL, true)?;
    engine.save_sequence(WAITS, true)?;
    let nurture = NurtureSettings {
        every: Duration::from_secs(60),
        mailer,
        links: MailLinks::new("https://lf.yourco.example", "yourco.example", &"s".repeat(32))?,
        team_sender: Sender { name: "YourCo".into(), email: "hello@yourco.example".into(), signature: None },
        policy: SendPolicy { cap: FrequencyCap { max: 3, days: 7 }, hours: WeeklyHours::parse(["00:00-24:00"; 7])? },
        default_zone: chrono_tz::UTC,
    };
    // One email, then the waits: the sends first, alone on the queue.
    enroll(&mut engine, "one-email", 0, load.sends)?;
    let start = Instant::now();
    let planned = engine.run_nurture(&nurture)?.planned;
    let planning = start.elapsed();
    let settings = JobSettings { nurture: Some(nurture.clone()), ..JobSettings::default() };
    let start = Instant::now();
    let mut sent = 0;
    loop {
        let round = engine.run_due_jobs(&settings, 1_000)?;
        sent += round.done;
        if round.done + round.retried + round.failed + round.lost == 0 {
            break;
        }
    }
    let sending = start.elapsed();
    println!(
        "leadflow: {planned} sends planned in {:.2} s ({:.0}/s); {sent} jobs done in {:.2} s ({:.0} sends/s, durable)",
        planning.as_secs_f64(),
        planned as f64 / planning.as_secs_f64(),
        sending.as_secs_f64(),
        sent as f64 / sending.as_secs_f64()
    );
    enroll(&mut engine, "waits", load.sends, load.enrollments)?;
    let start = Instant::now();
    let steps = engine.run_nurture(&nurture)?.steps;
    let scheduling = start.elapsed();
    println!(
        "scheduling: {steps} enrollments moved on to their wait in {:.2} s ({:.0}/s)",
        scheduling.as_secs_f64(),
        steps as f64 / scheduling.as_secs_f64()
    );
    Ok(())
}

/// The sink's own rate: the same kind of message, straight through the transport.
fn raw(mailer: &SmtpMailer, n: usize) -> Result<()> {
    let start = Instant::now();
    for i in 0..n {
        let email = OutgoingEmail {
            from: Mailbox { name: Some("YourCo".into()), address: "hello@yourco.example".into() },
            reply_to: Mailbox { name: None, address: "hello@yourco.example".into() },
            to: Mailbox { name: None, address: format!("raw{i}@acme.example") },
            subject: "Hello there".into(),
            text: "A short note, with a link: https://yourco.example/pricing".into(),
            html: Some("<p>A short note, with <a href=\"https://lf.yourco.example/c/1.x?u=y\">a link</a>.</p>".into()),
            message_id: format!("<raw-{i}@yourco.example>"),
            return_path: "bounces@yourco.example".into(),
            unsubscribe_url: "https://lf.yourco.example/u/1.x".into(),
        };
        mailer.send(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let took = start.elapsed();
    println!("raw: {n} messages in {:.2} s ({:.0}/s)", took.as_secs_f64(), n as f64 / took.as_secs_f64());
    Ok(())
}

/// `n` new leads, each enrolled in `sequence` at its first step, due now; written in one unit
/// of work (a load, not what is measured).
fn enroll(engine: &mut Engine<SqliteStore>, sequence: &str, from: usize, n: usize) -> Result<()> {
    let version = engine
        .store()
        .active_rule_files(RuleFileKind::Sequence)?
        .into_iter()
        .find(|r| r.name == sequence)
        .context("the sequence")?
        .version;
    let first = if sequence == "waits" { "start" } else { "hello" };
    let now = engine.now();
    let mut tx = engine.store_mut().begin()?;
    for i in from..from + n {
        let email = Email::parse(&format!("lead{i}@acme.example"))?;
        let id = tx.insert_lead(None, &Profile::new(email), now, now)?;
        let new = NewEnrollment { lead: id, sequence, version, step: first, due_at: now, enrolled_by: "bench" };
        tx.enroll(&new, now)?;
    }
    tx.commit()?;
    Ok(())
}
