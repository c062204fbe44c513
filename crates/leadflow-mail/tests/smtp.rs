//! Nurture sequences sending through a real SMTP server (aiosmtpd, run by `smtp_sink.py`), on a
//! fixed clock, with the job queue driven by hand: what arrives (headers, both parts, a DKIM
//! signature that verifies, the unsubscribe headers, the VERP envelope), and the cases where
//! nothing more may arrive.
//!
//! The sink is `leadflow_mail::testing::SmtpSink` (see there for what it needs).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leadflow_core::calendar::WeeklyHours;
use leadflow_core::contact::{Channel, SuppressionReason};
use leadflow_core::sequence::{FrequencyCap, SendPolicy};
use leadflow_core::team::{User, UserSpec};
use leadflow_core::template::Sender;
use leadflow_core::{CustomValue, Email, LeadRef, Profile, Timestamp};
use leadflow_engine::{
    DoNotContact, EMAIL_SEND_JOB, Engine, FixedClock, JobSettings, LeadInput, MailLinks, NurtureSettings,
};
use leadflow_mail::testing::{SmtpSink as Sink, unfolded};
use leadflow_mail::{DkimKey, Security, SmtpMailer, SmtpSettings};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{EnrollmentQuery, JobClaim, SendQuery, SendStatus};

use leadflow_mail::testing::DKIM_TEST_KEY as KEY;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A header's value, unfolded.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

struct World {
    engine: Engine<SqliteStore>,
    clock: Arc<FixedClock>,
    settings: JobSettings,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

const WELCOME: &str = r#"
name = "welcome"
subject = 'Welcome, {{ lead.first_name | default("there") }}'
text = """
Hi {{ lead.first_name }},

thanks for trying us out.

{{ owner.signature }}
Unsubscribe: {{ unsubscribe_url }}
"""
html = """<p>Hi {{ lead.first_name }},</p><p>thanks for trying us out.</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>"""
"#;

const FOLLOW_UP: &str =
    "name = \"follow-up\"\nsubject = \"Anything we can help with?\"\ntext = \"Just checking in.\"\n";

/// Welcome now, a follow-up two days on.
const TRIAL: &str = r#"
name = "trial"
priority = 1
[[steps]]
id = "welcome"
send = "welcome"
[[steps]]
id = "two-days"
wait = { days = 2 }
[[steps]]
id = "follow-up"
send = "follow-up"
"#;

/// One email now, from another team.
const NEWSLETTER: &str = r#"
name = "newsletter"
priority = 1
[[steps]]
id = "issue"
send = "follow-up"
"#;

fn world(sink: &Sink, cap: FrequencyCap) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lf.db");
    // Monday 10:00 UTC.
    let clock = Arc::new(FixedClock::new(t("2026-06-01T10:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&db).unwrap(), clock.clone());
    engine.ensure_model().unwrap();
    let kim = User::build(UserSpec {
        name: "kim",
        display_name: Some("Kim Lee"),
        email: Some("kim@yourco.example"),
        team: None,
        role: None,
        zone: "UTC",
        hours: None,
        holidays: &[],
        away_until: None,
        capacity: None,
        active: true,
    })
    .and_then(|u| u.with_signature(Some("Kim Lee\nAccount Executive, YourCo")))
    .unwrap();
    engine.put_user(&kim).unwrap();
    for template in [WELCOME, FOLLOW_UP] {
        engine.save_template(template, true).unwrap();
    }
    for sequence in [TRIAL, NEWSLETTER] {
        engine.save_sequence(sequence, true).unwrap();
    }
    let mut ana = Profile::new(Email::parse("ana@acme.example").unwrap());
    ana.first_name = Some("Ana".into());
    ana.owner = Some("kim".into());
    engine.upsert_lead(LeadInput::of(ana)).unwrap();
    let smtp = SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port(),
        security: Security::None,
        credentials: None,
        dkim: Some(DkimKey { selector: "lf".into(), domain: "yourco.example".into(), private_key_pem: KEY.into() }),
        rate_per_second: 100.0,
        burst: 10,
        pool_size: 2,
        timeout: Duration::from_secs(10),
    };
    let nurture = NurtureSettings {
        every: Duration::from_secs(60),
        mailer: Arc::new(SmtpMailer::new(&smtp).unwrap()),
        links: MailLinks::new("http://lf.yourco.example", "yourco.example", &"s".repeat(32)).unwrap(),
        team_sender: Sender { name: "YourCo".into(), email: "hello@yourco.example".into(), signature: None },
        policy: SendPolicy { cap, hours: WeeklyHours::parse(["08:00-18:00"; 7]).unwrap() },
        default_zone: chrono_tz::UTC,
    };
    let settings = JobSettings { nurture: Some(nurture), ..JobSettings::default() };
    World { engine, clock, settings, db, _dir: dir }
}

fn ana() -> LeadRef {
    LeadRef::Email(Email::parse("ana@acme.example").unwrap())
}

const WEEKLY_THREE: FrequencyCap = FrequencyCap { max: 3, days: 7 };

impl World {
    /// What a server's worker does on a tick, at `at`.
    fn tick(&mut self, at: &str) {
        self.clock.set(t(at));
        self.engine.schedule_jobs(&self.settings).unwrap();
        self.engine.run_due_jobs(&self.settings, 100).unwrap();
    }

    fn sends(&self) -> Vec<(String, SendStatus)> {
        let sends = self.engine.store().sends(&SendQuery { limit: 100, ..Default::default() }).unwrap();
        sends.into_iter().rev().map(|s| (s.template, s.status)).collect()
    }
}

#[test]
fn a_sequence_runs_end_to_end_over_smtp() {
    let sink = Sink::start();
    let mut w = world(&sink, WEEKLY_THREE);
    w.engine.enroll(&ana(), "trial", "cli").unwrap();
    w.tick("2026-06-01T10:00:00Z");

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "the welcome, at once");
    let (message, envelope_from) = &messages[0];
    assert_eq!(header(message, "From").as_deref(), Some("\"Kim Lee\" <kim@yourco.example>"), "from the owner");
    assert_eq!(header(message, "Reply-To").as_deref(), Some("\"Kim Lee\" <kim@yourco.example>"));
    assert_eq!(header(message, "To").as_deref(), Some("Ana <ana@acme.example>"));
    assert_eq!(header(message, "Subject").as_deref(), Some("Welcome, Ana"));
    let send = w.engine.store().sends(&SendQuery { limit: 1, ..Default::default() }).unwrap().remove(0);
    assert_eq!(header(message, "Message-ID"), Some(format!("<send-{}.leadflow@yourco.example>", send.id)));
    assert_eq!(envelope_from, &format!("bounces+{}@yourco.example", send.id), "the VERP return path");
    let unsubscribe = header(message, "List-Unsubscribe").unwrap();
    assert!(unsubscribe.starts_with(&format!("<http://lf.yourco.example/u/{}.", send.id)), "{unsubscribe}");
    assert_eq!(header(message, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    assert!(header(message, "Content-Type").unwrap().starts_with("multipart/alternative"));
    assert!(message.contains("Content-Type: text/plain") && message.contains("Content-Type: text/html"));
    assert!(unfolded(message).contains("Account Executive, YourCo"), "the owner's own signature in the text");
    let dkim = header(message, "DKIM-Signature").expect("signed");
    for signed in ["list-unsubscribe", "list-unsubscribe-post", "from", "subject", "message-id"] {
        assert!(dkim.to_ascii_lowercase().contains(signed), "{signed} is signed: {dkim}");
    }
    assert!(sink.dkim_verifies(message), "the signature verifies against the published key");
    let tampered = message.replacen("Welcome, Ana", "Welcome, Bob", 1);
    assert!(!sink.dkim_verifies(&tampered), "and would not over another subject");

    // A day on, nothing; two days on, the follow-up.
    w.tick("2026-06-02T10:00:00Z");
    assert_eq!(sink.messages().len(), 1);
    w.tick("2026-06-03T10:00:00Z");
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "the follow-up two days after the welcome");
    assert_eq!(header(&messages[1].0, "Subject").as_deref(), Some("Anything we can help with?"));
    assert_eq!(w.sends(), [("welcome".into(), SendStatus::Sent), ("follow-up".into(), SendStatus::Sent)]);
    let enrollment = w.engine.enrollments(&EnrollmentQuery { limit: 1, ..Default::default() }).unwrap().remove(0);
    assert_eq!(enrollment.exit_reason.as_deref(), Some("completed"), "the steps ran out");

    // Ticks after that send nothing again.
    w.tick("2026-06-10T10:00:00Z");
    assert_eq!(sink.messages().len(), 2);
}

#[test]
fn an_unsubscribe_stops_everything_at_once() {
    let sink = Sink::start();
    let mut w = world(&sink, WEEKLY_THREE);
    w.engine.enroll(&ana(), "trial", "cli").unwrap();
    w.tick("2026-06-01T10:00:00Z");
    assert_eq!(sink.messages().len(), 1);
    w.engine.enroll(&ana(), "newsletter", "cli").unwrap();
    // Listed before the newsletter's job runs: it never goes, and the trial's follow-up neither.
    let listed = w
        .engine
        .add_do_not_contact(&DoNotContact {
            address: " ANA@acme.example",
            channel: Channel::Email,
            reason: SuppressionReason::Unsubscribed,
            note: None,
            by: "cli",
        })
        .unwrap();
    assert_eq!((listed.added, listed.exited, listed.entry.address.as_str()), (true, 2, "ana@acme.example"));
    w.tick("2026-06-01T10:01:00Z");
    w.tick("2026-06-05T10:00:00Z");
    assert_eq!(sink.messages().len(), 1, "nothing after the unsubscribe");
    let enrollments = w.engine.enrollments(&EnrollmentQuery { limit: 10, ..Default::default() }).unwrap();
    assert!(enrollments.iter().all(|e| e.exit_reason.as_deref() == Some("unsubscribed")), "{enrollments:?}");
    // Nor may it be enrolled again in a sequence that sends.
    assert!(w.engine.enroll(&ana(), "newsletter", "cli").is_err());
}

#[test]
fn a_crash_between_claiming_and_sending_sends_once() {
    let sink = Sink::start();
    let mut w = world(&sink, WEEKLY_THREE);
    w.engine.enroll(&ana(), "trial", "cli").unwrap();
    // The scheduler plans the welcome; another server claims its job and dies before sending.
    w.engine.run_nurture(w.settings.nurture.as_ref().unwrap()).unwrap();
    let mut crashed = SqliteStore::open(&w.db).unwrap();
    let now = t("2026-06-01T10:00:00Z");
    let claim =
        JobClaim { now, lease_until: now.plus_millis(5 * 60_000), kinds: &[EMAIL_SEND_JOB], limit: 10, per_pool: None };
    assert_eq!(crashed.claim_jobs(&claim).unwrap().len(), 1, "the crashed server holds the send");
    drop(crashed);

    w.tick("2026-06-01T10:01:00Z");
    assert_eq!(sink.messages().len(), 0, "held by the dead server's lease");
    w.tick("2026-06-01T10:06:00Z");
    assert_eq!(sink.messages().len(), 1, "sent once its lease ran out");
    w.tick("2026-06-01T10:20:00Z");
    assert_eq!(sink.messages().len(), 1, "and only once");
    assert_eq!(w.sends(), [("welcome".into(), SendStatus::Sent)]);
}

#[test]
fn the_cap_counts_every_sequence_and_a_send_waits_for_its_slot() {
    let sink = Sink::start();
    let mut w = world(&sink, FrequencyCap { max: 1, days: 7 });
    w.engine.enroll(&ana(), "trial", "cli").unwrap();
    w.engine.enroll(&ana(), "newsletter", "cli").unwrap();
    w.tick("2026-06-01T10:00:00Z");
    assert_eq!(sink.messages().len(), 1, "one email a week, whichever sequence");
    let sends = w.engine.store().sends(&SendQuery { limit: 10, ..Default::default() }).unwrap();
    let waiting = sends.iter().find(|s| s.status == SendStatus::Scheduled).expect("the other waits");
    assert_eq!(waiting.due_at, t("2026-06-08T10:00:00Z"), "a week after the first");
    w.tick("2026-06-08T10:00:00Z");
    assert_eq!(sink.messages().len(), 2, "it went when its slot came");
}

#[test]
fn quiet_hours_are_the_leads_own_across_a_change_of_offset() {
    let sink = Sink::start();
    let mut w = world(&sink, WEEKLY_THREE);
    let mut in_berlin = Profile::new(Email::parse("ana@acme.example").unwrap());
    in_berlin.custom.insert("time_zone".into(), CustomValue::Text("Europe/Berlin".into()));
    w.engine.upsert_lead(LeadInput::of(in_berlin)).unwrap();
    w.engine.enroll(&ana(), "newsletter", "cli").unwrap();
    // Saturday 2027-03-27 20:00 Berlin (19:00Z) is after hours; the clocks go forward that night,
    // so 08:00 on Sunday in Berlin is 06:00Z.
    w.tick("2027-03-27T19:00:00Z");
    assert_eq!(sink.messages().len(), 0, "not in the lead's evening");
    let sends = w.engine.store().sends(&SendQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(sends[0].due_at, t("2027-03-28T06:00:00Z"), "08:00 summer time");
    w.tick("2027-03-28T06:00:00Z");
    assert_eq!(sink.messages().len(), 1);
}

/// Welcome with a link, two days, then thanks to a clicker and a nudge to the others.
const CLICKED: &str = r#"
name = "clicked"
[[steps]]
id = "welcome"
send = "welcome"
[[steps]]
id = "two-days"
wait = { days = 2 }
[[steps]]
id = "engaged"
branch = { if = "clicked", then = "thanks", else = "nudge" }
[[steps]]
id = "thanks"
send = "thanks"
next = "end"
[[steps]]
id = "nudge"
send = "follow-up"
[[steps]]
id = "end"
exit = true
"#;

const LINKED: &str = r#"
name = "welcome"
subject = "Welcome"
text = "Pricing: https://yourco.example/pricing"
html = '<p><a href="https://yourco.example/pricing">Pricing</a></p>'
"#;

const THANKS: &str = "name = \"thanks\"\nsubject = \"Glad you looked\"\ntext = \"Questions?\"\n";

/// The first address in a message that starts with `prefix`, up to a quote.
fn link(message: &str, prefix: &str) -> String {
    let start = message.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {message}"));
    message[start..].split(['"', '>', ' ', '\r', '\n']).next().unwrap().replace("&amp;", "&")
}

#[test]
fn a_persons_open_and_click_are_recorded_and_steer_the_branch() {
    let sink = Sink::start();
    let mut w = world(&sink, WEEKLY_THREE);
    w.engine.save_template(LINKED, true).unwrap();
    w.engine.save_template(THANKS, true).unwrap();
    w.engine.save_sequence(CLICKED, true).unwrap();
    w.engine.enroll(&ana(), "clicked", "cli").unwrap();
    w.tick("2026-06-01T10:00:00Z");
    let message = unfolded(&sink.messages()[0].0);
    let links = w.settings.nurture.as_ref().unwrap().links.clone();
    let pixel = link(&message, "http://lf.yourco.example/o/");
    let click = link(&message, "http://lf.yourco.example/c/");
    let open_token = pixel.rsplit('/').next().unwrap().strip_suffix(".gif").unwrap().to_string();
    let click_token = click.split("/c/").nth(1).unwrap().split('?').next().unwrap().to_string();
    let reader = Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15");

    // Apple's proxy fetches the pixel as the email arrives; the reader opens and clicks later.
    w.clock.set(t("2026-06-01T10:00:20Z"));
    w.engine.record_open(&links, &open_token, Some("Mozilla/5.0")).unwrap();
    w.clock.set(t("2026-06-01T15:00:00Z"));
    w.engine.record_open(&links, &open_token, reader).unwrap();
    w.engine.record_open(&links, &open_token, reader).unwrap();
    w.engine.record_click(&links, &click_token, "https://yourco.example/pricing", reader).unwrap();
    assert!(w.engine.record_click(&links, &click_token, "https://evil.example/", reader).is_err(), "signed for one");
    let view = w.engine.view(&ana(), None, 50).unwrap().unwrap();
    let mut kinds: Vec<&str> = view.timeline.iter().map(|e| e.shape.event_type.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["email_click", "email_machine_open", "email_open"], "each once, the machine's apart");
    let clicked = view.timeline.iter().find(|e| e.shape.event_type.as_str() == "email_click").unwrap();
    assert_eq!(clicked.shape.property("url"), Some("https://yourco.example/pricing"));

    // Two days on, the branch sees the click: thanks, not the nudge.
    w.tick("2026-06-03T10:00:00Z");
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(header(&messages[1].0, "Subject").as_deref(), Some("Glad you looked"));
}
