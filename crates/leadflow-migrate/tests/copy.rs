//! Copies of real embedded databases, made through the engine, into PostgreSQL (a schema of its
//! own per test on `LEADFLOW_TEST_PG_URL`; `scripts/test` starts a throwaway server): what the
//! ports read from the copy is what they read from the source, and a copy is all or nothing.

use leadflow_core::contact::{Channel, SuppressionReason};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use leadflow_core::{
    CustomValue, Email, EventKey, EventShape, EventType, ExternalId, LeadId, LeadRef, Outcome, OutcomeKind, Profile,
    Role, Timestamp, Topic, VisitorId,
};
use leadflow_engine::{
    Clock, Cutoff, Engine, EventInput, FixedClock, JobSettings, LeadInput, Quiet, RescoreOptions, TrackingLimits, Visit,
};
use leadflow_migrate::{
    CopyOptions, CopyReport, Fate, MARKER, MigrateError, Progress, Replaced, copy_sqlite_to_postgres,
};
use leadflow_postgres::PgStore;
use leadflow_postgres::testing::Schema;
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{AttemptOutcome, DatabaseUrl, LeadOrder, LeadQuery, ModelVersion, Store};

const MODEL: &str = leadflow_core::model::DEFAULT_MODEL_SOURCE;
const SLA: &str =
    "name = \"copy\"\n[[rules]]\nid = \"first-touch\"\nstarts = \"assigned\"\nmet_by = \"touched\"\nwithin = \"1d\"\n";
const ROOMY: TrackingLimits = TrackingLimits { events_per_lead_per_day: 50 };

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Progress that remembers what it was told.
#[derive(Default)]
struct Seen {
    tables: Vec<(&'static str, u64)>,
    copied: u64,
}

impl Progress for Seen {
    fn table(&mut self, table: &'static str, rows: u64) {
        self.tables.push((table, rows));
    }
    fn copied(&mut self, rows: u64) {
        self.copied += rows;
    }
}

fn copy(source: &Path, target: &Schema, replace: bool) -> Result<CopyReport, MigrateError> {
    copy_sqlite_to_postgres(source, &DatabaseUrl::Postgres(target.url()), CopyOptions { replace }, &mut Seen::default())
}

/// An embedded database with a bit of everything, made as users make it.
struct Source {
    dir: tempfile::TempDir,
    clock: Arc<FixedClock>,
    /// The ingest key's secret.
    secret: String,
    /// A revoked key's secret.
    revoked: String,
    /// The highest lead id ever given, whose lead was deleted.
    deleted: LeadId,
}

impl Source {
    fn path(&self) -> PathBuf {
        self.dir.path().join("source.db")
    }

    fn engine(&self) -> Engine<SqliteStore> {
        Engine::new(SqliteStore::open(&self.path()).unwrap(), self.clock.clone())
    }

    /// The last id SQLite gave in an AUTOINCREMENT table, a deleted row's too.
    fn sequence(&self, table: &str) -> Option<i64> {
        let conn = rusqlite::Connection::open(self.path()).unwrap();
        conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [table], |r| r.get(0)).ok()
    }
}

fn lead(email: Option<&str>, external_id: Option<&str>) -> LeadInput {
    let profile =
        Profile::named(email.map(|e| Email::parse(e).unwrap()), external_id.map(|x| ExternalId::parse(x).unwrap()))
            .unwrap();
    LeadInput::of(profile)
}

fn event(lead: LeadRef, key: Option<&str>, ts: Timestamp, kind: &str, props: &[(&str, &str)]) -> EventInput {
    let mut shape = EventShape::new(EventType::parse(kind).unwrap());
    for (name, value) in props {
        shape.set_property(name, value).unwrap();
    }
    EventInput { key: key.map(|k| EventKey::parse(k).unwrap()), lead, ts, shape }
}

fn by_email(email: &str) -> LeadRef {
    LeadRef::Email(Email::parse(email).unwrap())
}

fn source() -> Source {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-05-01T09:00:00Z")));
    let mut source = Source { dir, clock, secret: String::new(), revoked: String::new(), deleted: LeadId(0) };
    let mut e = source.engine();
    e.apply_model(MODEL, &Quiet).unwrap();
    // The scheduled jobs a server queues as it starts, one of them run.
    e.schedule_jobs(&JobSettings::default()).unwrap();
    e.run_due_jobs(&JobSettings::default(), 1).unwrap();
    // Pipelines, one version stored but not active: MQLs below enter them.
    e.save_pipeline(include_str!("../../../examples/pipeline-inbound-b2b.toml"), true).unwrap();
    e.save_pipeline(include_str!("../../../examples/pipeline-partner.toml"), false).unwrap();
    // A user, and rules that give every new lead without an owner to them (a rotation stored).
    let sam = leadflow_core::team::UserSpec {
        team: Some("dach"),
        capacity: Some(40),
        ..leadflow_core::team::UserSpec::new("sam", "Europe/Berlin")
    };
    e.put_user(&leadflow_core::team::User::build(sam).unwrap()).unwrap();
    e.save_assignment_rules("name = \"all\"\n[[rules]]\nid = \"all\"\non = \"created\"\nusers = [\"sam\"]\n", true)
        .unwrap();
    let hook = e.create_webhook("https://hooks.example/leadflow", &[Topic::LeadCreated, Topic::LeadMql]).unwrap();
    source.secret = e.create_api_key("website", Role::Ingest).unwrap().1;
    let (revoked, secret) = e.create_api_key("old", Role::Marketing).unwrap();
    assert!(e.revoke_api_key(revoked.id).unwrap());
    source.revoked = secret;

    // Leads of every kind: profiles with custom fields of each type, one known only by its CRM id.
    for i in 0..12 {
        let mut input = lead(Some(&format!("lead{i}@acme{}.example", i % 3)), None);
        let p = &mut input.profile;
        p.first_name = Some(format!("Ana {i}"));
        p.job_title = Some(["VP Sales", "CTO", "Student", "Head of Marketing"][i % 4].into());
        p.employees = (i % 2 == 0).then_some(50.0 * (i + 1) as f64);
        p.annual_revenue = Some(1.25e6 * i as f64);
        p.industry = Some("software".into());
        p.country = Some("DE".into());
        p.owner = (i % 3 == 0).then(|| "sam".to_string());
        p.custom = BTreeMap::from([
            ("plan".into(), CustomValue::Text(format!("tier-{}", i % 2))),
            ("seats".into(), CustomValue::Number(i as f64 + 0.5)),
            ("trial".into(), CustomValue::Bool(i % 2 == 1)),
            ("renewal".into(), CustomValue::Date(t("2026-09-01"))),
        ]);
        e.upsert_lead(input).unwrap();
    }
    e.upsert_lead(lead(None, Some("00Q5gA"))).unwrap();
    e.upsert_lead(lead(None, Some("00Q5ga"))).unwrap();
    // A lead reached through a second email, another system's id and a phone.
    let admin = leadflow_core::Actor { role: leadflow_core::Role::Admin, name: "" };
    for text in ["email:lead0.home@example.net", "salesforce:00Q5gB", "phone:+442079460958"] {
        let identity = leadflow_core::Identity::parse(text).unwrap();
        e.add_identity_as(&admin, &by_email("lead0@acme0.example"), &identity).unwrap();
    }

    // Events one at a time, some with properties no rule reads (set aside per event).
    for i in 0..12 {
        let who = by_email(&format!("lead{i}@acme{}.example", i % 3));
        for d in 0..(i % 5 + 1) {
            let ts = t("2026-04-01").plus_days(d as u32 * 3);
            let session = format!("s-{i}-{d}");
            let props: &[(&str, &str)] = &[("url", "/pricing"), ("session", &session)];
            e.track(event(who.clone(), Some(&format!("pv-{i}-{d}")), ts, "page_view", props)).unwrap();
        }
        if i % 4 == 0 {
            e.track(event(who.clone(), None, t("2026-04-20"), "demo_requested", &[])).unwrap();
            e.track(event(who, None, t("2026-04-21"), "webinar_attended", &[("topic", "scoring")])).unwrap();
        }
    }
    e.track(event(LeadRef::External(ExternalId::parse("00Q5gA").unwrap()), None, t("2026-04-25"), "email_click", &[]))
        .unwrap();

    // A move by hand with its reason, and a recycled lead.
    let admin = leadflow_core::Actor { role: Role::Admin, name: "" };
    let origin = leadflow_store::ChangeOrigin::of(leadflow_store::ChangeCause::Cli);
    for (stage, reason) in [("disqualified", Some("student")), ("recycled", None)] {
        let in_new = (0..12)
            .filter_map(|i| e.store().lead(&by_email(&format!("lead{i}@acme{}.example", i % 3))).unwrap())
            .find(|l| matches!(l.profile.pipeline_stage.as_deref(), Some("new" | "working")));
        let lead = in_new.expect("an MQL entered inbound-b2b").id;
        let request = leadflow_engine::StageMove {
            lead: LeadRef::Id(lead),
            pipeline: None,
            stage: Some(stage.into()),
            reason: reason.map(Into::into),
        };
        e.move_lead(&admin, &origin, &request).unwrap();
    }

    // An SLA policy: the lead given to Sam by hand has a first-touch clock, which the call done
    // below meets.
    e.save_sla_policy(SLA, true).unwrap();
    let given = by_email("lead1@acme1.example");
    let sam = leadflow_core::team::UserName::parse("sam").unwrap();
    let hand = leadflow_store::ChangeOrigin::of(leadflow_store::ChangeCause::Cli);
    e.assign_lead(&admin, &hand, &given, Some(&sam), Some("Sam knows them")).unwrap();

    // Tasks: one done, one to do.
    for (title, done) in [("Call back", true), ("Send the deck", false)] {
        let task = leadflow_engine::AddTask {
            lead: by_email("lead1@acme1.example"),
            kind: leadflow_core::task::TaskKind::Call,
            title: leadflow_core::task::TaskTitle::parse(title).unwrap(),
            owner: None,
            priority: leadflow_core::task::Priority::High,
            due_at: t("2026-05-02"),
        };
        let added = e.add_task(&admin, &task).unwrap();
        if done {
            let change = leadflow_engine::TaskChange::Done { note: Some("left a voicemail".into()) };
            e.change_task(&admin, added.id, &change).unwrap();
        }
    }

    // A nurture sequence with its templates: one enrollment running, one exited.
    e.save_template(include_str!("../../../examples/template-trial-welcome.toml"), true).unwrap();
    for name in ["tips-short", "tips-long", "case-study", "still-there"] {
        e.save_template(&format!("name = \"{name}\"\nsubject = \"{name}\"\ntext = \"Hi\"\n"), true).unwrap();
    }
    e.save_sequence(include_str!("../../../examples/sequence-trial.toml"), true).unwrap();
    for who in ["lead2@acme2.example", "lead3@acme0.example"] {
        e.enroll(&by_email(who), "trial-nurture", "cli").unwrap();
    }
    e.exit_enrollment(&by_email("lead3@acme0.example"), "trial-nurture", "replied").unwrap();
    // The scheduler plans lead2's welcome (the mailer is never reached: nothing is due to go).
    let nurture = leadflow_engine::NurtureSettings {
        every: std::time::Duration::from_secs(60),
        mailer: std::sync::Arc::new(Unreachable),
        links: leadflow_engine::MailLinks::new("https://lf.example", "yourco.example", &"s".repeat(32)).unwrap(),
        team_sender: leadflow_core::template::Sender::default(),
        policy: leadflow_core::sequence::SendPolicy {
            cap: leadflow_core::sequence::FrequencyCap { max: 3, days: 7 },
            hours: leadflow_core::calendar::WeeklyHours::parse(["09:00-17:00"; 7]).unwrap(),
        },
        default_zone: chrono_tz::UTC,
    };
    assert_eq!(e.run_nurture(&nurture).unwrap().planned, 1);
    // The do-not-contact list: an address unsubscribed, a phone.
    for (address, channel) in [("nobody@elsewhere.example", Channel::Email), ("+49 30 1234567", Channel::Phone)] {
        let listing = leadflow_engine::DoNotContact {
            address,
            channel,
            reason: SuppressionReason::Unsubscribed,
            note: Some("asked"),
            by: "cli",
        };
        e.add_do_not_contact(&listing).unwrap();
    }

    // A second model, then back to the first: the active one is not the newest.
    let second = MODEL.replacen("name = \"default-b2b\"", "name = \"second\"", 1);
    e.apply_model(&second, &Quiet).unwrap();
    e.activate_version(ModelVersion(1), &Quiet).unwrap();

    // Deliveries in every state: one delivered, one to retry, the rest pending.
    let claimed = e.claim_deliveries(10, 10, std::time::Duration::from_secs(30)).unwrap();
    assert!(claimed.len() >= 2, "the new leads were announced");
    let delivered = AttemptOutcome::Delivered { status: 204 };
    assert!(e.record_attempt(claimed[0].ticket, claimed[0].delivery.id, &delivered).unwrap());
    let retry =
        AttemptOutcome::Retry { status: Some(503), error: "busy".into(), next_attempt_at: t("2026-05-01T10:00:00Z") };
    assert!(e.record_attempt(claimed[1].ticket, claimed[1].delivery.id, &retry).unwrap());
    assert!(e.deliveries(hook.id, 100).unwrap().len() > 2);

    // Website visitors: one still anonymous, one who introduced a lead with a form.
    let visit = |visitor: &str, email: Option<&str>, url: &str| Visit {
        visitor: VisitorId::parse(visitor).unwrap(),
        email: email.map(|m| Email::parse(m).unwrap()),
        identity: None,
        ts: t("2026-04-30T12:00:00Z"),
        shape: EventShape::new(EventType::parse("page_view").unwrap()).with_property("url", url).unwrap(),
    };
    e.track_visit(visit("anonymous-visitor-0001", None, "/pricing"), ROOMY).unwrap();
    e.track_visit(visit("known-visitor-000001", None, "/features"), ROOMY).unwrap();
    e.track_visit(visit("known-visitor-000001", Some("visitor@web.example"), "/contact"), ROOMY).unwrap();

    for i in 0..8 {
        let kind = if i % 2 == 0 { OutcomeKind::Won } else { OutcomeKind::Lost };
        let lead = by_email(&format!("lead{i}@acme{}.example", i % 3));
        e.set_outcome(&lead, Some(Outcome { kind, at: t("2026-04-28") })).unwrap();
    }

    // Trained models: one kept but never used (its artifact opaque bytes, NULs included), and
    // trees learned from the outcomes, active, with every lead's prediction.
    let mut tx = e.store_mut().begin().unwrap();
    tx.save_trained("opaque", &[0, 1, 2, 255, 0, 42], t("2026-05-01")).unwrap();
    tx.commit().unwrap();
    let trees = e.train_trees(Cutoff::BeforeOutcome { days: 1 }, "trees", &Quiet).unwrap();
    e.apply_trees(&trees, &trees.to_bytes(), &Quiet).unwrap();

    // Time passes (decay, in the history), then an import leaves its leads stale.
    source.clock.set(t("2026-05-20T09:00:00Z"));
    e.rescore(RescoreOptions::all(t("2026-05-20T09:00:00Z")), &Quiet).unwrap();
    let imported = (0..6)
        .map(|i| event(by_email(&format!("lead{i}@acme{}.example", i % 3)), None, t("2026-05-19"), "email_click", &[]))
        .chain([event(by_email("imported@new.example"), Some("imp-1"), t("2026-05-19"), "page_view", &[])])
        .collect();
    let report = e.import_events(imported).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);

    // The newest lead is deleted: its id stays used.
    let newest = e.upsert_lead(lead(Some("gone@acme.example"), None)).unwrap().scored.lead;
    assert!(e.delete_lead(&LeadRef::Id(newest)).unwrap());
    source.deleted = newest;
    drop(e);
    source
}

/// Every lead, in id order, with what the ports keep of it.
fn leads(store: &impl Store) -> Vec<leadflow_store::LeadRecord> {
    let mut all =
        store.list_leads(&LeadQuery { order: LeadOrder::Newest, limit: 10_000, ..Default::default() }).unwrap();
    all.sort_by_key(|l| l.id);
    all
}

/// What the ports read, side by side: the copy reads as the source does.
fn assert_same_reads<A: Store, B: Store>(a: &mut A, b: &mut B) {
    assert_eq!(a.stats().unwrap(), b.stats().unwrap());
    let (leads_a, leads_b) = (leads(a), leads(b));
    assert_eq!(leads_a, leads_b, "the same leads, ids, profiles and scores");
    assert!(leads_a.len() > 10);
    assert_eq!(a.custom_field_names().unwrap(), b.custom_field_names().unwrap());
    for kind in leadflow_store::RuleFileKind::ALL {
        assert_eq!(a.rule_files(kind).unwrap(), b.rule_files(kind).unwrap());
        assert_eq!(a.active_rule_files(kind).unwrap(), b.active_rule_files(kind).unwrap());
    }
    assert!(leads_a.iter().any(|l| l.pipeline_clock.recycles == 1), "a recycled lead, with its count");
    assert_eq!(a.users().unwrap(), b.users().unwrap());
    assert_eq!(a.users().unwrap().len(), 1);
    let all = leadflow_store::TaskQuery { limit: 100, ..Default::default() };
    assert_eq!(a.tasks(&all).unwrap(), b.tasks(&all).unwrap());
    let tasks = a.tasks(&all).unwrap();
    assert_eq!(tasks.iter().filter(|t| t.created_by.as_deref() == Some("cli")).count(), 2, "two by hand");
    assert!(tasks.iter().any(|t| t.created_by.as_deref() == Some("pipeline:inbound-b2b")), "and the stages' own");
    let every = leadflow_store::EnrollmentQuery { limit: 100, ..Default::default() };
    assert_eq!(a.enrollments(&every).unwrap(), b.enrollments(&every).unwrap());
    let by: Vec<String> = a.enrollments(&every).unwrap().into_iter().map(|e| e.enrolled_by).collect();
    assert_eq!(by.iter().filter(|b| *b == "cli").count(), 2, "the two by hand, beside those by the rule: {by:?}");
    let listed = leadflow_store::DoNotContactQuery { limit: 100, ..Default::default() };
    assert_eq!(a.do_not_contact(&listed).unwrap(), b.do_not_contact(&listed).unwrap());
    assert_eq!(a.do_not_contact(&listed).unwrap().len(), 2);
    let sends = leadflow_store::SendQuery { limit: 100, ..Default::default() };
    assert_eq!(a.sends(&sends).unwrap(), b.sends(&sends).unwrap());
    assert_eq!(a.sends(&sends).unwrap().len(), 1);
    let clocks = leadflow_store::SlaClockQuery { limit: 100, ..Default::default() };
    assert_eq!(a.sla_clocks(&clocks).unwrap(), b.sla_clocks(&clocks).unwrap());
    assert!(!a.sla_clocks(&clocks).unwrap().is_empty());
    let active = a.active_version().unwrap().unwrap();
    assert!(leads_a.iter().any(|l| a.identities_of(l.id).unwrap().len() > 2), "a lead with a second identity");
    for lead in &leads_a {
        assert_eq!(a.identities_of(lead.id).unwrap(), b.identities_of(lead.id).unwrap(), "identities of {}", lead.id);
        assert_eq!(a.visitors_of(lead.id).unwrap(), b.visitors_of(lead.id).unwrap(), "visitors of {}", lead.id);
        assert_eq!(a.events_of(lead.id, 1000).unwrap(), b.events_of(lead.id, 1000).unwrap(), "events of {}", lead.id);
        assert_eq!(a.activity(lead.id).unwrap(), b.activity(lead.id).unwrap());
        assert_eq!(a.history_of(lead.id, 1000).unwrap(), b.history_of(lead.id, 1000).unwrap());
        assert_eq!(a.changes_of(lead.id, 1000).unwrap(), b.changes_of(lead.id, 1000).unwrap());
        assert_eq!(a.prediction(lead.id).unwrap(), b.prediction(lead.id).unwrap());
    }
    let states = |s: &mut dyn FnMut(LeadId) -> Option<Vec<u8>>| leads_a.iter().map(|l| s(l.id)).collect::<Vec<_>>();
    let kept_a = {
        let mut tx = a.begin().unwrap();
        states(&mut |id| tx.score_state(id, active).unwrap())
    };
    let kept_b = {
        let mut tx = b.begin().unwrap();
        states(&mut |id| tx.score_state(id, active).unwrap())
    };
    assert_eq!(kept_a, kept_b, "the kept scoring states");
    assert!(kept_a.iter().any(Option::is_some));
    let mut scores_a = BTreeMap::new();
    a.for_each_score(&mut |id, s| {
        scores_a.insert(id, s.clone());
    })
    .unwrap();
    let mut scores_b = BTreeMap::new();
    b.for_each_score(&mut |id, s| {
        scores_b.insert(id, s.clone());
    })
    .unwrap();
    assert_eq!(scores_a, scores_b);
    assert_eq!(a.shapes().unwrap(), b.shapes().unwrap());
    assert_eq!(a.event_properties().unwrap(), b.event_properties().unwrap());
    assert_eq!(a.models().unwrap(), b.models().unwrap());
    assert_eq!(a.active_model().unwrap(), b.active_model().unwrap());
    assert_eq!(a.api_keys().unwrap(), b.api_keys().unwrap());
    assert_eq!(a.trained_models().unwrap(), b.trained_models().unwrap());
    assert_eq!(a.outcomes().unwrap(), b.outcomes().unwrap());
    let webhooks = a.webhooks().unwrap();
    assert_eq!(webhooks, b.webhooks().unwrap());
    for hook in &webhooks {
        assert_eq!(a.deliveries(hook.id, 1000).unwrap(), b.deliveries(hook.id, 1000).unwrap());
    }
    assert_eq!(a.count_pending_deliveries().unwrap(), b.count_pending_deliveries().unwrap());
    for visitor in ["known-visitor-000001", "anonymous-visitor-0001"] {
        let visitor = VisitorId::parse(visitor).unwrap();
        let mut tx_a = a.begin().unwrap();
        let mut tx_b = b.begin().unwrap();
        assert_eq!(tx_a.visitor_lead(&visitor).unwrap(), tx_b.visitor_lead(&visitor).unwrap());
    }
}

#[test]
fn a_copy_reads_as_its_source_and_goes_on_from_it() {
    let source = source();
    let target = Schema::create();
    let mut seen = Seen::default();
    let url = DatabaseUrl::Postgres(target.url());
    let report = copy_sqlite_to_postgres(&source.path(), &url, CopyOptions::default(), &mut seen).unwrap();
    assert_eq!(report.replaced, Replaced::Nothing);
    assert_eq!(report.source, source.path().canonicalize().unwrap());
    let rows: u64 = report.tables.iter().map(|t| if let Fate::Copied { rows } = t.fate { rows } else { 0 }).sum();
    assert_eq!(seen.copied, rows, "progress counted every row");
    assert_eq!(seen.tables.iter().map(|(_, n)| n).sum::<u64>(), rows);
    for table in ["leads", "events", "scores", "score_history", "models", "api_keys", "webhook_deliveries"] {
        let copied = report.tables.iter().find(|t| t.table == table).unwrap();
        assert!(matches!(copied.fate, Fate::Copied { rows } if rows > 0), "{table}: {:?}", copied.fate);
    }
    for table in [
        "visitors",
        "visitor_events",
        "outcomes",
        "trained_models",
        "predictions",
        "public_quota",
        "jobs",
        "rule_files",
        "active_rule_files",
        "users",
        "assignment_cursors",
        "tasks",
        "sla_clocks",
        "lead_identities",
        "enrollments",
        "do_not_contact",
        "email_sends",
    ] {
        let copied = report.tables.iter().find(|t| t.table == table).unwrap();
        assert!(matches!(copied.fate, Fate::Copied { rows } if rows > 0), "{table}: {:?}", copied.fate);
    }

    // Every id sequence has given (as far as the next id is concerned) its copied ids, and the
    // deleted lead's; read without drawing from them.
    let mut raw = postgres_client(&target);
    let identities = raw
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES'",
            &[],
        )
        .unwrap();
    assert!(identities.len() >= 8, "leads, shapes, events, history, models, keys, webhooks, deliveries, trained");
    for row in identities {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        let highest: i64 =
            raw.query_one(&format!("SELECT coalesce(max({column}), 0) FROM {table}"), &[]).unwrap().get(0);
        assert!(highest > 0, "{table} was copied");
        let given: Option<i64> = raw
            .query_one("SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)", &[&table, &column])
            .unwrap()
            .get(0);
        // An AUTOINCREMENT table goes on from the last id SQLite gave, a deleted row's too (the
        // deleted lead's, and its change log's).
        let expected = source.sequence(&table).unwrap_or(highest);
        assert_eq!(given, Some(expected), "{table}.{column}");
    }

    let mut sqlite = SqliteStore::open(&source.path()).unwrap();
    let mut pg = PgStore::open(&target.url()).unwrap();
    assert_eq!(pg.verify().unwrap(), Vec::<String>::new());
    assert!(sqlite.stats().unwrap().stale_leads > 0, "the import left leads stale, and the copy says so too");
    assert_same_reads(&mut sqlite, &mut pg);

    // The key still opens the door; a revoked one still does not.
    let clock: Arc<dyn Clock> = source.clock.clone();
    let mut engine = Engine::new(pg, clock);
    let key = engine.authenticate(&source.secret).unwrap().expect("the ingest key authenticates on the copy");
    assert_eq!((key.name.as_str(), key.role), ("website", Role::Ingest));
    assert!(engine.authenticate(&source.revoked).unwrap().is_none());

    // Ids generated from now on come after every copied one, and after the deleted lead's.
    let highest = leads(engine.store()).iter().map(|l| l.id).max().unwrap();
    assert!(source.deleted > highest, "the deleted lead had the highest id");
    let new = engine.upsert_lead(lead(Some("after@copy.example"), None)).unwrap().scored.lead;
    assert!(new > source.deleted, "{new} comes after the deleted {}", source.deleted);
    let outcome =
        engine.track(event(by_email("lead3@acme0.example"), Some("after-1"), t("2026-05-20"), "demo_requested", &[]));
    assert!(outcome.is_ok(), "{outcome:?}");
    let models = engine.models().unwrap().len() as i64;
    let v = engine.apply_model(&MODEL.replacen("name = \"default-b2b\"", "name = \"third\"", 1), &Quiet).unwrap();
    assert_eq!(v.version, ModelVersion(models + 1));
    let (key, _) = engine.create_api_key("later", Role::Admin).unwrap();
    assert_eq!(key.id, 3, "after the two copied keys");
    let hook = engine.create_webhook("https://hooks.example/later", &[Topic::LeadMql]).unwrap();
    assert_eq!(hook.id, 2);
    assert_eq!(engine.store().verify().unwrap(), Vec::<String>::new());
}

#[test]
fn copying_again_replaces_the_copy_with_a_fresh_one() {
    let source = source();
    let target = Schema::create();
    let first = copy(&source.path(), &target, false).unwrap();
    let again = copy(&source.path(), &target, false).unwrap();
    assert_eq!(again.replaced, Replaced::EarlierCopy, "the marker lets the same source replace its copy");
    assert_eq!(first.tables, again.tables, "the same rows, none twice");

    // The source goes on; copying it again brings the copy up to date.
    let mut e = source.engine();
    e.upsert_lead(lead(Some("later@acme.example"), None)).unwrap();
    e.track(event(by_email("later@acme.example"), Some("later-1"), t("2026-05-20"), "page_view", &[])).unwrap();
    drop(e);
    let third = copy(&source.path(), &target, false).unwrap();
    let rows = |r: &CopyReport, table: &str| r.tables.iter().find(|t| t.table == table).unwrap().fate;
    assert!(
        matches!((rows(&first, "leads"), rows(&third, "leads")), (Fate::Copied { rows: a }, Fate::Copied { rows: b }) if b == a + 1)
    );
    let mut sqlite = SqliteStore::open(&source.path()).unwrap();
    let mut pg = PgStore::open(&target.url()).unwrap();
    assert!(pg.lead(&by_email("later@acme.example")).unwrap().is_some());
    assert_same_reads(&mut sqlite, &mut pg);
}

#[test]
fn a_target_holding_other_data_is_refused_and_left_as_it_was() {
    let source = source();
    let target = Schema::create();
    let mut pg = PgStore::open(&target.url()).unwrap();
    let mut tx = pg.begin().unwrap();
    tx.insert_lead(None, &Profile::new(Email::parse("own@target.example").unwrap()), t("2026-01-01"), t("2026-01-01"))
        .unwrap();
    tx.commit().unwrap();
    let before = leads(&pg);

    let refused = copy(&source.path(), &target, false).unwrap_err();
    assert!(matches!(refused, MigrateError::TargetHoldsData { migrated_from: None, .. }), "{refused}");
    let message = refused.to_string();
    assert!(message.contains("leads") && message.contains("--replace"), "{message}");
    assert_eq!(leads(&pg), before, "untouched");

    // A copy of another database is other data too, and says whose.
    let other = tempfile::tempdir().unwrap();
    let other_db = other.path().join("other.db");
    drop(SqliteStore::open(&other_db).unwrap());
    assert_eq!(copy(&other_db, &target, true).unwrap().replaced, Replaced::OtherData);
    let refused = copy(&source.path(), &target, false).unwrap_err();
    let marked = other_db.canonicalize().unwrap().display().to_string();
    assert!(matches!(&refused, MigrateError::TargetHoldsData { migrated_from: Some(m), .. } if *m == marked));
    assert!(refused.to_string().contains(&marked), "{refused}");

    let replaced = copy(&source.path(), &target, true).unwrap();
    assert_eq!(replaced.replaced, Replaced::OtherData);
    assert!(pg.lead(&by_email("own@target.example")).unwrap().is_none(), "replaced as asked");
}

/// A value with no exact counterpart stops the copy, which leaves the target as it was: here the
/// earlier copy, marker and all.
#[test]
fn a_failed_copy_changes_nothing() {
    let source = source();
    let target = Schema::create();
    copy(&source.path(), &target, false).unwrap();
    let pg = PgStore::open(&target.url()).unwrap();
    let before = (leads(&pg), pg.stats().unwrap());

    let raw = rusqlite::Connection::open(source.path()).unwrap();
    raw.execute("UPDATE scores SET stale = 2 WHERE lead_id = (SELECT max(lead_id) FROM scores)", []).unwrap();
    let error = copy(&source.path(), &target, false).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, MigrateError::Value { table: "scores", .. }), "{message}");
    assert!(message.contains("scores.stale") && message.contains("the integer 2"), "{message}");
    assert_eq!((leads(&pg), pg.stats().unwrap()), before);

    // So does one PostgreSQL refuses, late in the copy: a delivery to no webhook.
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF; UPDATE scores SET stale = 1; UPDATE webhook_deliveries SET webhook_id = 99",
    )
    .unwrap();
    let error = copy(&source.path(), &target, false).unwrap_err();
    assert!(matches!(&error, MigrateError::Postgres(m) if m.contains("foreign key")), "{error}");
    assert_eq!((leads(&pg), pg.stats().unwrap()), before);
    let mut check = postgres_client(&target);
    let marker: String = check.query_one("SELECT value FROM settings WHERE key = $1", &[&MARKER]).unwrap().get(0);
    assert_eq!(marker, source.path().canonicalize().unwrap().display().to_string());
}

/// Events an import stored but has not yet indexed per lead have not marked their leads stale:
/// a copy of that moment would keep the leads' old scores as current, so none is made.
#[test]
fn a_copy_waits_for_a_running_import() {
    let source = source();
    let target = Schema::create();
    let import = rusqlite::Connection::open(source.path()).unwrap();
    import
        .execute("INSERT INTO activity_tail (first_seq, last_seq) SELECT max(seq), max(seq) FROM events", [])
        .unwrap();
    // The import holds the write lock, so the copy cannot finish its work for it.
    import.execute_batch("BEGIN IMMEDIATE").unwrap();
    let refused = copy(&source.path(), &target, false).unwrap_err();
    assert!(matches!(refused, MigrateError::ImportRunning(1)), "{refused}");
    import.execute_batch("COMMIT").unwrap();
    drop(import);
    // Once it is over (here: the next opening folds what it left), the copy goes ahead.
    assert!(copy(&source.path(), &target, false).is_ok());
}

/// A table one side lacks (`jobs`, added to both backends by their migrations): copied from
/// nothing when the source predates it, and left out when the target does, unless the source
/// has rows for it.
#[test]
fn a_table_one_side_lacks_is_said_and_never_lost() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("source.db");
    drop(SqliteStore::open(&file).unwrap());
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    let target = Schema::create();
    let mut pg = postgres_client(&target);
    let fate = |r: &CopyReport| r.tables.iter().find(|t| t.table == "jobs").unwrap().fate;
    const JOBS: &str = "CREATE TABLE jobs (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL)";

    sqlite.execute_batch("DROP TABLE IF EXISTS jobs").unwrap();
    pg.batch_execute(&format!("DROP TABLE IF EXISTS jobs; {JOBS}")).unwrap();
    assert_eq!(fate(&copy(&file, &target, false).unwrap()), Fate::NotInSource);

    pg.batch_execute("DROP TABLE jobs").unwrap();
    sqlite.execute_batch(JOBS).unwrap();
    assert_eq!(fate(&copy(&file, &target, false).unwrap()), Fate::NotInTarget);
    sqlite.execute("INSERT INTO jobs VALUES (7, 'rescore', '1')", []).unwrap();
    let refused = copy(&file, &target, false).unwrap_err();
    assert!(matches!(refused, MigrateError::NoTargetTable { table: "jobs", rows: 1 }), "{refused}");

    // Both have it: its rows are copied like any table's.
    pg.batch_execute(JOBS).unwrap();
    assert_eq!(fate(&copy(&file, &target, false).unwrap()), Fate::Copied { rows: 1 });
    let (id, kind, key): (i64, String, String) = {
        let row = pg.query_one("SELECT id, kind, key FROM jobs", &[]).unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((id, kind.as_str(), key.as_str()), (7, "rescore", "1"));
}

#[test]
fn only_an_embedded_file_is_copied_and_only_into_postgres() {
    let target = Schema::create();
    let missing = Path::new("/nonexistent/leadflow.db");
    assert!(matches!(copy(missing, &target, false), Err(MigrateError::NoSource(_))));
    assert!(!missing.exists(), "a mistyped path creates no database");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.db");
    let into_sqlite = copy_sqlite_to_postgres(
        &file,
        &DatabaseUrl::sqlite(dir.path().join("y.db")),
        CopyOptions::default(),
        &mut Seen::default(),
    );
    assert!(matches!(into_sqlite, Err(MigrateError::NotPostgres(_))));
}

fn postgres_client(schema: &Schema) -> postgres::Client {
    leadflow_postgres::raw::connect_migrated(&schema.url()).unwrap()
}

/// A mailer the copy never reaches: it only plans emails.
struct Unreachable;

impl leadflow_engine::Mailer for Unreachable {
    fn send(&self, _: &leadflow_engine::OutgoingEmail) -> Result<(), leadflow_engine::MailError> {
        unreachable!("the copy test sends nothing")
    }
}
