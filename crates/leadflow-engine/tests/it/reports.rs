//! Stage histories and the pipeline report through the engine: a history goes in sorted, once,
//! oldest first, with every refusal on its line; and the report's figures on leads that skip
//! stages, go back, are recycled and qualify again, change owner, stall or never move, against
//! numbers worked out by hand from the definitions.

use std::sync::Arc;

use leadflow_core::report::{LeadScope, Period, PipelineReport, ReportPeriod};
use leadflow_core::{Email, LeadRef, LifecycleStage, Profile, Timestamp};
use leadflow_engine::{
    ChangeInput, Engine, FixedClock, HistoryRow, HistorySummary, ImportOptions, ImportRow, LeadInput,
    ModelReportRequest, OutcomeSource, PipelineReportRequest, Quiet, RepsReportRequest, TouchpointRequest,
};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin};

const SALES: &str = include_str!("../../../../bench/pipeline/sales.toml");

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// 2026-01-01 plus `d` days.
fn day(d: u32) -> Timestamp {
    t("2026-01-01").plus_days(d)
}

/// Days are computed from milliseconds: equal to the last few bits.
fn close(got: Option<f64>, want: f64) {
    let got = got.expect("a figure");
    assert!((got - want).abs() < 1e-9, "{got} is not {want}");
}

/// A history file's row: line, the lead's email, when, from, to, reason.
type Row<'a> = (u64, &'a str, Timestamp, Option<&'a str>, &'a str, Option<&'a str>);

/// An owner's figures: owner, leads, won, lost, win rate, median days to won.
type Owner<'a> = (Option<&'a str>, u64, u64, u64, Option<f64>, Option<f64>);

/// A rep's line: owner, team, leads, recycled, median cycle days, tasks (pending, overdue, done,
/// done late).
type Rep<'a> = (Option<&'a str>, Option<&'a str>, u64, u64, Option<f64>, (u64, u64, u64, u64));

/// A team's line: team, reps, leads, pending tasks, win rate.
type Team<'a> = (Option<&'a str>, u64, u64, u64, Option<f64>);

struct World {
    engine: Engine<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock);
        engine.ensure_model().unwrap();
        engine.save_pipeline(SALES, true).unwrap();
        World { engine, _dir: dir }
    }

    /// Leads created on 2026-01-01, each (email, owner, source); `placed`: in `sales` from then.
    fn leads(&mut self, leads: &[(&str, Option<&str>, Option<&str>)], placed: bool) {
        let rows = leads.iter().enumerate().map(|(i, (email, owner, source))| {
            let mut profile = Profile::new(Email::parse(email).unwrap());
            profile.owner = owner.map(String::from);
            profile.source = source.map(String::from);
            let input = LeadInput { created_at: Some(day(0)), ..LeadInput::of(profile) };
            ImportRow { line: i as u64 + 2, offset: 0, parsed: Ok(input), warnings: Vec::new() }
        });
        let options =
            ImportOptions { rescore: false, pipeline: placed.then(|| "sales".to_string()), ..ImportOptions::LEADS };
        let origin = ChangeOrigin::new(ChangeCause::Import, "leads.csv");
        let summary = self.engine.import_lead_rows(rows, options, &origin, &Quiet, &Quiet).unwrap();
        assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    }

    /// Imports rows (line, email, when, from, to, reason) as one history file.
    fn history(&mut self, rows: &[Row]) -> HistorySummary {
        let rows = rows.iter().map(|(line, email, at, from, to, reason)| ImportRow {
            line: *line,
            offset: 0,
            parsed: Ok(HistoryRow::Change(ChangeInput {
                lead: LeadRef::Email(Email::parse(email).unwrap()),
                at: *at,
                from: from.map(String::from),
                to: to.to_string(),
                reason: reason.map(String::from),
            })),
            warnings: Vec::new(),
        });
        let origin = ChangeOrigin::new(ChangeCause::Import, "history.csv");
        self.engine.import_history_rows(rows, "sales", &origin, 2, &Quiet, &Quiet).unwrap()
    }

    fn lead(&self, email: &str) -> leadflow_store::LeadRecord {
        self.engine.store().lead(&LeadRef::Email(Email::parse(email).unwrap())).unwrap().unwrap()
    }

    fn stage_at(&self, email: &str, at: Timestamp) -> Option<String> {
        let lead = LeadRef::Email(Email::parse(email).unwrap());
        self.engine.profile_at(&lead, at).unwrap().unwrap().pipeline_stage
    }

    fn report(&mut self, as_of: Timestamp) -> PipelineReport {
        let request = PipelineReportRequest { as_of: Some(as_of), ..PipelineReportRequest::default() };
        self.engine.pipeline_report(&request, &Quiet).unwrap()
    }
}

#[test]
fn a_history_goes_in_sorted_once_and_oldest_first() {
    let mut w = World::new();
    w.leads(&[("ana@acme.example", None, None), ("cy@acme.example", None, None)], false);
    // Changed in leadflow before its past arrives: the log is read in time order, not as appended.
    let mut renamed = Profile::new(Email::parse("ana@acme.example").unwrap());
    renamed.company = Some("Acme".into());
    w.engine.upsert_lead(LeadInput::of(renamed)).unwrap();
    // Out of order in the file, in batches of two rows (whole leads each).
    let file = [
        (2, "ana@acme.example", day(9), Some("mql"), "sql", None),
        (3, "ana@acme.example", day(5), Some("new"), "mql", None),
        (4, "nobody@acme.example", day(5), None, "mql", None),
        (5, "ana@acme.example", day(20), Some("working"), "won", None),
        (6, "cy@acme.example", day(3), Some("working"), "disqualified", Some("spam")),
    ];
    let summary = w.history(&file);
    assert_eq!((summary.logged, summary.leads, summary.duplicates), (4, 2, 0));
    assert_eq!(summary.rejected.len(), 1);
    assert_eq!(summary.rejected[0].0, 4, "{:?}", summary.rejected);
    assert!(summary.rejected[0].1.contains("nobody@acme.example"), "{:?}", summary.rejected);
    assert_eq!(summary.warnings.len(), 1);
    assert_eq!(summary.warnings[0].0, 5);
    assert!(summary.warnings[0].1.contains("the lead was in `sql`"), "{:?}", summary.warnings);

    // Where the leads are now, since when, and where they were on any day before.
    let ana = w.lead("ana@acme.example");
    assert_eq!((ana.profile.pipeline.as_deref(), ana.profile.pipeline_stage.as_deref()), (Some("sales"), Some("won")));
    assert_eq!(ana.profile.stage, LifecycleStage::Customer, "the won stage's lifecycle stage");
    assert_eq!((ana.pipeline_clock.entered_at, ana.pipeline_clock.stage_entered_at), (Some(day(0)), Some(day(20))));
    let stages: Vec<Option<String>> = [0, 6, 10, 21].iter().map(|d| w.stage_at("ana@acme.example", day(*d))).collect();
    assert_eq!(stages, [Some("new".into()), Some("mql".into()), Some("sql".into()), Some("won".into())]);
    let ana_then = w.engine.profile_at(&LeadRef::Email(Email::parse("ana@acme.example").unwrap()), day(6)).unwrap();
    assert_eq!(ana_then.unwrap().company, None, "renamed in June");
    // A lead with no recorded place was where the file's first row took it from since its creation.
    assert_eq!(w.stage_at("cy@acme.example", day(1)).as_deref(), Some("working"));
    assert_eq!(w.lead("cy@acme.example").profile.stage, LifecycleStage::Disqualified);

    // The file again: nothing new. A row before what is recorded, not in the log: refused.
    let summary = w.history(&file);
    assert_eq!((summary.logged, summary.leads, summary.duplicates), (0, 0, 4));
    let summary = w.history(&[(7, "ana@acme.example", day(12), Some("sql"), "opportunity", None)]);
    assert_eq!(summary.logged, 0);
    assert_eq!(summary.rejected[0].0, 7);
    assert!(summary.rejected[0].1.contains("oldest first"), "{:?}", summary.rejected);

    // A later file goes on from where the last left it: back to nurture, recycled once.
    let summary = w.history(&[(2, "ana@acme.example", day(30), Some("won"), "recycled", None)]);
    assert_eq!((summary.logged, summary.rejected.len()), (1, 0));
    let ana = w.lead("ana@acme.example");
    assert_eq!((ana.profile.stage, ana.pipeline_clock.recycles, ana.mql_at), (LifecycleStage::Recycled, 1, None));
}

/// Five leads, worked out by hand (days from 2026-01-01; as of March 1st):
///
/// - ana (owner a, web): new -1- mql -3- sql -4- mql (back) -6- sql -8- opportunity -10- won
/// - bo (owner a, web): new -2- mql (skips working) -5- recycled -7- mql (again) -9- lost (price)
/// - cy (owner b, ads): never moves
/// - dee (owner b, then c, ads): new -1- working -3- disqualified (spam)
/// - eve (no owner, no source): new -33- mql, still there
#[test]
fn the_report_follows_leads_that_skip_go_back_requalify_and_never_move() {
    let mut w = World::new();
    w.leads(
        &[
            ("ana@acme.example", Some("a"), Some("web")),
            ("bo@acme.example", Some("a"), Some("web")),
            ("cy@acme.example", Some("b"), Some("ads")),
            ("dee@acme.example", Some("b"), Some("ads")),
            ("eve@acme.example", None, None),
        ],
        true,
    );
    let (ana, bo, dee, eve) = ("ana@acme.example", "bo@acme.example", "dee@acme.example", "eve@acme.example");
    let summary = w.history(&[
        (2, ana, day(1), Some("new"), "mql", None),
        (3, ana, day(3), Some("mql"), "sql", None),
        (4, ana, day(4), Some("sql"), "mql", None),
        (5, ana, day(6), Some("mql"), "sql", None),
        (6, ana, day(8), Some("sql"), "opportunity", None),
        (7, ana, day(10), Some("opportunity"), "won", None),
        (8, bo, day(2), Some("new"), "mql", None),
        (9, bo, day(5), Some("mql"), "recycled", None),
        (10, bo, day(7), Some("recycled"), "mql", None),
        (11, bo, day(9), Some("mql"), "lost", Some("price")),
        (12, dee, day(1), Some("new"), "working", None),
        (13, dee, day(3), Some("working"), "disqualified", Some("spam")),
        (14, eve, day(33), Some("new"), "mql", None),
    ]);
    assert_eq!((summary.logged, summary.rejected.len(), summary.warnings.len()), (13, 0, 0));
    // dee changes hands mid-stage: reps' figures count a lead for its owner now.
    let mut owned = Profile::new(Email::parse(dee).unwrap());
    owned.owner = Some("c".into());
    w.engine.upsert_lead(LeadInput::of(owned)).unwrap();

    let r = w.report(t("2026-03-01"));
    assert_eq!((r.pipeline.as_str(), r.leads), ("sales", 5));
    let stage = |id: &str| r.stages.iter().find(|s| s.stage == id).unwrap();
    let reached: Vec<(&str, u64)> = r.stages.iter().map(|s| (s.stage.as_str(), s.reached)).collect();
    assert_eq!(
        reached,
        [
            ("new", 5),
            ("working", 1),
            ("mql", 3),
            ("sql", 1),
            ("opportunity", 1),
            ("won", 1),
            ("lost", 1),
            ("recycled", 1),
            ("disqualified", 1)
        ]
    );
    // new: ana 1, dee 1, bo 2, eve 33 days; cy still there.
    let new = stage("new");
    assert_eq!((new.completed, new.open), (4, 1));
    assert_eq!(new.median_days, Some(1.5));
    close(new.p90_days, 2.0 + 31.0 * 0.7);
    close(new.p75_days, 2.0 + 31.0 * 0.25);
    close(new.mean_days, 37.0 / 4.0);
    // mql: ana 2 and 2, bo 3 and 2; eve still there.
    let mql = stage("mql");
    assert_eq!((mql.completed, mql.open, mql.median_days), (4, 1, Some(2.0)));
    close(mql.p90_days, 2.7);
    let sql = stage("sql");
    assert_eq!((sql.completed, sql.open, sql.median_days), (2, 0, Some(1.5)));
    assert_eq!((stage("won").completed, stage("won").open, stage("won").median_days), (0, 1, None));

    let conversion: Vec<(&str, &str, u64, u64)> =
        r.conversion.iter().map(|c| (c.from.as_str(), c.to.as_str(), c.reached, c.converted)).collect();
    assert_eq!(
        conversion,
        [
            ("new", "working", 5, 1),
            ("working", "mql", 1, 0),
            ("mql", "sql", 3, 1),
            ("sql", "opportunity", 1, 1),
            ("opportunity", "won", 1, 1)
        ]
    );
    assert_eq!(r.conversion[2].rate, Some(1.0 / 3.0));

    let owners: Vec<Owner> = r
        .owners
        .iter()
        .map(|o| (o.owner.as_deref(), o.leads, o.won, o.lost, o.win_rate, o.median_days_to_won))
        .collect();
    assert_eq!(
        owners,
        [
            (Some("a"), 2, 1, 1, Some(0.5), Some(10.0)),
            (Some("b"), 1, 0, 0, None, None),
            (Some("c"), 1, 0, 0, None, None),
            (None, 1, 0, 0, None, None)
        ]
    );
    // MQLs: ana on days 1 and 4 (back from sql), bo on 2 and 7 (back from nurture); eve in February.
    let months: Vec<(&str, u64, Option<f64>)> =
        r.months.iter().map(|m| (m.month.as_str(), m.mqls, m.velocity_rate)).collect();
    assert_eq!(months, [("2026-01", 4, None), ("2026-02", 1, Some(-0.75))]);
    let sources: Vec<(Option<&str>, u64, u64, f64)> =
        r.sources.iter().map(|s| (s.source.as_deref(), s.leads, s.won, s.conversion)).collect();
    assert_eq!(sources, [(Some("ads"), 2, 0, 0.0), (Some("web"), 2, 1, 0.5), (None, 1, 0, 0.0)]);
    let reasons: Vec<(&str, Option<&str>, u64)> =
        r.reasons.iter().map(|x| (x.stage.as_str(), x.reason.as_deref(), x.count)).collect();
    assert_eq!(reasons, [("disqualified", Some("spam"), 1), ("lost", Some("price"), 1)]);

    // Velocity: created to the first MQL (ana 1, bo 2, eve 33 days), to acceptance (ana's sql
    // on day 3), to won (ana's, 7 days after).
    let steps: Vec<(&str, &str, u64, Option<f64>)> =
        r.velocity.iter().map(|v| (v.from, v.to, v.leads, v.median_days)).collect();
    assert_eq!(
        steps,
        [("created", "mql", 3, Some(2.0)), ("mql", "accepted", 1, Some(2.0)), ("accepted", "won", 1, Some(7.0))]
    );
    let by_month: Vec<(&str, u64, Option<f64>)> =
        r.velocity[0].by_month.iter().map(|m| (m.month.as_str(), m.leads, m.median_days)).collect();
    assert_eq!(by_month, [("2026-01", 2, Some(1.5)), ("2026-02", 1, Some(33.0))]);
    // One cohort, seen for January and February (as of March's first instant, March has no time).
    let cohorts: Vec<(&str, u64, &[u64], &[u64])> =
        r.cohorts.iter().map(|c| (c.month.as_str(), c.leads, &c.qualified[..], &c.won[..])).collect();
    assert_eq!(cohorts, [("2026-01", 5, &[2, 3][..], &[1, 1][..])]);
    // The pipeline now: cy in new since January 1st, eve in mql; weighted by 0.02 and 0.1.
    assert_eq!((stage("new").open_median_age_days, stage("new").rotting), (Some(59.0), 0));
    close(Some(r.weighted_open), 0.02 + 0.1);

    // Cohorts and filters: by source, by owner, by team (its members' leads), by the month of
    // the first MQL, by creation.
    for name in ["b", "c"] {
        let user =
            leadflow_core::team::UserSpec { team: Some("east"), ..leadflow_core::team::UserSpec::new(name, "UTC") };
        w.engine.put_user(&leadflow_core::team::User::build(user).unwrap()).unwrap();
    }
    let scoped = |w: &mut World, scope: LeadScope, teams: Option<Vec<String>>| {
        let request = PipelineReportRequest { as_of: Some(t("2026-03-01")), scope, teams, ..Default::default() };
        let r = w.engine.pipeline_report(&request, &Quiet).unwrap();
        let won: u64 = r.owners.iter().map(|o| o.won).sum();
        (r.leads, won)
    };
    let list = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(scoped(&mut w, LeadScope { sources: list(&["web"]), ..Default::default() }, None), (2, 1));
    assert_eq!(scoped(&mut w, LeadScope { owners: list(&["a", "c"]), ..Default::default() }, None), (3, 1));
    assert_eq!(scoped(&mut w, LeadScope::default(), list(&["east"])), (2, 0), "cy (b) and dee (c)");
    // The funnel split by team: the east team's two leads, then the three of owners in none.
    let by_team = PipelineReportRequest {
        as_of: Some(t("2026-03-01")),
        by: Some(leadflow_core::report::FunnelDimension::Team),
        ..Default::default()
    };
    let split = w.engine.pipeline_report(&by_team, &Quiet).unwrap().breakdown.unwrap();
    let groups: Vec<(Option<&str>, u64)> = split.groups.iter().map(|g| (g.value.as_deref(), g.leads)).collect();
    assert_eq!(groups, [(Some("east"), 2), (None, 3)]);
    assert_eq!(scoped(&mut w, LeadScope { owners: list(&["c"]), ..Default::default() }, list(&["east"])), (1, 0));
    let february = Period::new(Some(t("2026-02-01")), Some(t("2026-03-01")));
    assert_eq!(scoped(&mut w, LeadScope { qualified: february, ..Default::default() }, None), (1, 0), "eve");
    let january = Period::new(None, Some(t("2026-02-01")));
    assert_eq!(scoped(&mut w, LeadScope { qualified: january, ..Default::default() }, None), (2, 1), "ana, bo");
    assert_eq!(scoped(&mut w, LeadScope { created: february, ..Default::default() }, None), (0, 0));
    assert_eq!(scoped(&mut w, LeadScope { created: january, ..Default::default() }, None), (5, 1));
    // Small counts, wide intervals: 1 of 2 web leads won is anywhere from 9% to 91%.
    let web = r.sources.iter().find(|s| s.source.as_deref() == Some("web")).unwrap();
    let (low, high) = web.interval.unwrap();
    assert!((low - 0.0945).abs() < 1e-3 && (high - 0.9055).abs() < 1e-3, "{low} {high}");

    // The reps: their leads' figures, their tasks (an overdue call of ana's, one of bo's done a
    // day late, one of cy's not yet due), by owner and by team.
    let west = leadflow_core::team::UserSpec { team: Some("west"), ..leadflow_core::team::UserSpec::new("a", "UTC") };
    w.engine.put_user(&leadflow_core::team::User::build(west).unwrap()).unwrap();
    let admin = leadflow_core::Actor { role: leadflow_core::Role::Admin, name: "ops" };
    let task = |email: &str, due: &str| leadflow_engine::AddTask {
        lead: LeadRef::Email(Email::parse(email).unwrap()),
        kind: leadflow_core::task::TaskKind::Call,
        title: leadflow_core::task::TaskTitle::parse("Call back").unwrap(),
        owner: None,
        priority: leadflow_core::task::Priority::Normal,
        due_at: t(due),
    };
    w.engine.add_task(&admin, &task(ana, "2026-05-30")).unwrap();
    let done = w.engine.add_task(&admin, &task(bo, "2026-05-31")).unwrap().id;
    w.engine.change_task(&admin, done, &leadflow_engine::TaskChange::Done { note: None }).unwrap();
    w.engine.add_task(&admin, &task("cy@acme.example", "2026-06-10")).unwrap();
    let request = RepsReportRequest {
        pipeline: PipelineReportRequest { as_of: Some(t("2026-06-02")), ..Default::default() },
        from: None,
    };
    let reps = w.engine.reps_report(&request, &Quiet).unwrap();
    assert_eq!(reps.from, t("2026-05-03"), "30 days before");
    let lines: Vec<Rep> = reps
        .reps
        .iter()
        .map(|l| {
            let tasks = (l.tasks.pending, l.tasks.overdue, l.tasks.done, l.tasks.done_late);
            (
                l.owner.as_deref(),
                l.team.as_deref(),
                l.pipeline.leads,
                l.pipeline.recycled,
                l.pipeline.median_cycle_days,
                tasks,
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // ana closed (won) 10 days after she entered, bo (lost) 9: a median of 9.5.
            (Some("a"), Some("west"), 2, 1, Some(9.5), (1, 1, 1, 1)),
            (Some("b"), Some("east"), 1, 0, None, (1, 0, 0, 0)),
            // dee, disqualified 3 days in.
            (Some("c"), Some("east"), 1, 0, Some(3.0), (0, 0, 0, 0)),
            (None, None, 1, 0, None, (0, 0, 0, 0)),
        ]
    );
    let teams: Vec<Team> =
        reps.teams.iter().map(|t| (t.team.as_deref(), t.reps, t.leads, t.tasks.pending, t.win_rate)).collect();
    assert_eq!(teams, [(Some("east"), 2, 2, 1, None), (Some("west"), 1, 2, 1, Some(0.5))]);

    // As of day 5: ana back in mql since day 4; bo recycled that very instant (a change at the
    // as-of instant has happened); eve not yet qualified.
    let r = w.report(day(5));
    let mql = r.stages.iter().find(|s| s.stage == "mql").unwrap();
    assert_eq!((mql.reached, mql.completed, mql.open), (2, 2, 1));
    assert_eq!(r.months.iter().map(|m| m.mqls).sum::<u64>(), 3);
    assert_eq!(r.reasons.len(), 1, "only dee's disqualification by then");
}

/// HubSpot's history starts with the value a lead was created with: a row that changes nothing.
/// Imported again, it is already recorded, not refused; a row later than now is refused; a lead
/// in another pipeline enters this one by a logged move, so its stay there is kept.
#[test]
fn rows_that_change_nothing_rows_from_the_future_and_leads_of_another_pipeline() {
    let mut w = World::new();
    w.engine.save_pipeline(include_str!("../../../../examples/pipeline-partner.toml"), true).unwrap();
    w.leads(&[("ana@acme.example", None, None)], true);
    let file = [
        (2, "ana@acme.example", day(0), None, "new", None),
        (3, "ana@acme.example", day(4), None, "mql", None),
        (4, "ana@acme.example", t("2026-06-02"), None, "sql", None),
    ];
    let summary = w.history(&file);
    assert_eq!((summary.logged, summary.duplicates), (1, 1), "the first row moves nothing");
    assert_eq!(summary.rejected.len(), 1);
    assert_eq!(summary.rejected[0].0, 4);
    assert!(summary.rejected[0].1.contains("later than now"), "{:?}", summary.rejected);
    let again = w.history(&file[..2]);
    assert_eq!((again.logged, again.duplicates, again.rejected.len()), (0, 2, 0), "{:?}", again.rejected);

    // bo is in the partner pipeline since his creation; his history in `sales` is a move there.
    let rows = [ImportRow {
        line: 2,
        offset: 0,
        parsed: Ok(LeadInput {
            created_at: Some(day(0)),
            ..LeadInput::of(Profile::new(Email::parse("bo@acme.example").unwrap()))
        }),
        warnings: Vec::new(),
    }];
    let options = ImportOptions { rescore: false, pipeline: Some("partner".into()), ..ImportOptions::LEADS };
    let origin = ChangeOrigin::new(ChangeCause::Import, "partner-leads.csv");
    w.engine.import_lead_rows(rows.into_iter(), options, &origin, &Quiet, &Quiet).unwrap();
    let summary = w.history(&[(2, "bo@acme.example", day(5), Some("new"), "mql", None)]);
    assert_eq!((summary.logged, summary.rejected.len()), (1, 0));
    let bo = LeadRef::Email(Email::parse("bo@acme.example").unwrap());
    let before = w.engine.profile_at(&bo, day(3)).unwrap().unwrap();
    assert_eq!((before.pipeline.as_deref(), before.pipeline_stage.as_deref()), (Some("partner"), Some("registered")));
    let after = w.lead("bo@acme.example").profile;
    assert_eq!((after.pipeline.as_deref(), after.pipeline_stage.as_deref()), (Some("sales"), Some("mql")));
    let request =
        PipelineReportRequest { pipeline: Some("partner".into()), as_of: Some(day(10)), ..Default::default() };
    let partner = w.engine.pipeline_report(&request, &Quiet).unwrap();
    let registered = partner.stages.iter().find(|s| s.stage == "registered").unwrap();
    assert_eq!((partner.leads, registered.completed, registered.median_days), (1, 1, Some(5.0)));
}

/// Companies of 50+ people fit (40), a demo request engages (40): 80 is hot, 40 warm, 0 cold.
const SCORING: &str = r#"
name = "report-test"
[fit]
min = 0
max = 40
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 40
[engagement]
min = 0
max = 60
[[engagement.rules]]
id = "demo"
event = "demo_requested"
points = 40
[[buckets]]
name = "hot"
min = 70
[[buckets]]
name = "warm"
min = 35
[[buckets]]
name = "cold"
[[grades]]
grade = "A"
min_fit = 35
[[grades]]
grade = "F"
"#;

/// In January 30 hot, 30 warm and 10 cold leads qualify (as they were scored a week before);
/// 6 hot, 9 warm and no cold ones are won, and one lead is won without qualifying. Hot converting
/// no better than warm is the drift the report warns of; precision and recall are by month.
#[test]
fn the_model_over_time_reads_each_mqls_score_as_it_qualified_and_warns_of_drift() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-01-05T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock.clone());
    engine.apply_model(SCORING, &Quiet).unwrap();
    engine.save_pipeline(SALES, true).unwrap();
    let mut rows = Vec::new();
    let mut line = 1;
    let mut lead = |engine: &mut Engine<SqliteStore>, name: &str, employees: f64, demo: bool, won: bool| {
        let email = Email::parse(&format!("{name}@acme.example")).unwrap();
        let mut profile = Profile::new(email.clone());
        profile.employees = Some(employees);
        engine.upsert_lead(LeadInput { created_at: Some(day(0)), ..LeadInput::of(profile) }).unwrap();
        if demo {
            let shape = leadflow_core::EventShape::new(leadflow_core::EventType::parse("demo_requested").unwrap());
            let event =
                leadflow_engine::EventInput { key: None, lead: LeadRef::Email(email.clone()), ts: day(4), shape };
            engine.track(event).unwrap();
        }
        let mut change = |at, from: &str, to: &str| {
            line += 1;
            let change = ChangeInput {
                lead: LeadRef::Email(email.clone()),
                at,
                from: Some(from.into()),
                to: to.into(),
                reason: None,
            };
            rows.push(ImportRow { line, offset: 0, parsed: Ok(HistoryRow::Change(change)), warnings: Vec::new() });
        };
        change(day(10), "new", "mql");
        if won {
            change(day(20), "mql", "won");
        }
    };
    for i in 0..30 {
        lead(&mut engine, &format!("hot{i}"), 500.0, true, i < 6);
        lead(&mut engine, &format!("warm{i}"), 500.0, false, i < 9);
    }
    for i in 0..10 {
        lead(&mut engine, &format!("cold{i}"), 5.0, false, false);
    }
    // Won straight from new, never qualified.
    let email = Email::parse("direct@acme.example").unwrap();
    engine.upsert_lead(LeadInput { created_at: Some(day(0)), ..LeadInput::of(Profile::new(email.clone())) }).unwrap();
    let direct = ChangeInput {
        lead: LeadRef::Email(email),
        at: day(25),
        from: Some("new".into()),
        to: "won".into(),
        reason: None,
    };
    rows.push(ImportRow { line: 1000, offset: 0, parsed: Ok(HistoryRow::Change(direct)), warnings: Vec::new() });
    clock.set(t("2026-06-01T09:00:00Z"));
    let origin = ChangeOrigin::new(ChangeCause::Import, "history.csv");
    let summary = engine.import_history_rows(rows.into_iter(), "sales", &origin, 1000, &Quiet, &Quiet).unwrap();
    assert_eq!((summary.logged, summary.rejected.len()), (70 + 15 + 1, 0), "{:?}", summary.rejected);

    let as_of = |at| ModelReportRequest { as_of: Some(at), ..ModelReportRequest::default() };
    let report = engine.model_report(&as_of(t("2026-06-01")), &Quiet).unwrap();
    assert_eq!(report.periods.len(), 1);
    let january = &report.periods[0];
    assert_eq!((january.period.as_str(), january.mqls, january.won), ("2026-01", 70, 15));
    assert_eq!(january.precision, Some(15.0 / 70.0));
    assert_eq!((january.won_in_period, january.won_after_mql, january.recall), (16, 15, Some(15.0 / 16.0)));
    let buckets: Vec<(&str, u64, u64)> = january.buckets.iter().map(|b| (b.name.as_str(), b.leads, b.won)).collect();
    assert_eq!(buckets, [("hot", 30, 6), ("warm", 30, 9), ("cold", 10, 0), ("unscored", 0, 0)]);
    let grades: Vec<(&str, u64, u64)> =
        january.grades.iter().filter(|g| g.leads > 0).map(|g| (g.name.as_str(), g.leads, g.won)).collect();
    assert_eq!(grades, [("A", 60, 15), ("F", 10, 0)]);
    assert_eq!(report.warnings.len(), 2, "January's and all periods': {:?}", report.warnings);
    assert!(
        report.warnings[0]
            .starts_with("2026-01: bucket `hot` converted 20.0% of 30 leads, no better than `warm` at 30.0% of 30"),
        "{:?}",
        report.warnings
    );
    // Deciles of the totals at the MQL: 70 scored MQLs in tens, cold (0) lowest, hot (80) highest.
    let deciles: Vec<(u32, f64, f64, u64)> =
        report.deciles.iter().map(|d| (d.decile, d.min_total, d.max_total, d.leads)).collect();
    assert_eq!(deciles.len(), 10);
    assert_eq!(deciles[0], (1, 0.0, 0.0, 7));
    assert_eq!((deciles[9].1, deciles[9].2, deciles[9].3), (80.0, 80.0, 7));
    assert_eq!(report.deciles.iter().map(|d| d.won).sum::<u64>(), 15);
    // The cold bucket has too few leads to be compared.
    assert!(report.warnings.iter().all(|w| !w.contains("`cold`")));

    // By quarter: the same leads, the first quarter's.
    let quarterly = ModelReportRequest { period: ReportPeriod::Quarter, ..as_of(t("2026-06-01")) };
    let quarterly = engine.model_report(&quarterly, &Quiet).unwrap();
    let q1: Vec<(&str, u64, u64, u64)> =
        quarterly.periods.iter().map(|q| (q.period.as_str(), q.mqls, q.won, q.won_in_period)).collect();
    assert_eq!(q1, [("2026-Q1", 70, 15, 16)]);
    assert!(quarterly.warnings[0].starts_with("2026-Q1: bucket `hot`"), "{:?}", quarterly.warnings);

    // As of before the MQLs: nothing qualified yet.
    let before = engine.model_report(&as_of(day(9)), &Quiet).unwrap();
    assert!(before.periods.is_empty() && before.warnings.is_empty());
}

/// A demo request is worth 10 points, a newsletter signup 30; but 24 of the 40 leads that asked
/// for a demo were won, and 4 of the 40 that signed up for the newsletter. The touchpoints say so,
/// and suggest giving the demo more.
#[test]
fn touchpoints_compare_leads_with_and_without_each_and_suggest_where_points_disagree() {
    const DISAGREEING: &str = r#"
name = "disagreeing"
[fit]
min = 0
max = 40
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 40
[engagement]
min = 0
max = 60
[[engagement.rules]]
id = "demo"
event = "demo_requested"
points = 10
[[engagement.rules]]
id = "newsletter"
event = "newsletter_signup"
points = 30
[[buckets]]
name = "hot"
min = 50
[[buckets]]
name = "warm"
min = 20
[[buckets]]
name = "cold"
"#;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(t("2026-03-05T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock);
    engine.apply_model(DISAGREEING, &Quiet).unwrap();
    let lead = |engine: &mut Engine<SqliteStore>, name: String, employees: f64, event: Option<&str>, won: bool| {
        let email = Email::parse(&format!("{name}@acme.example")).unwrap();
        let mut profile = Profile::new(email.clone());
        profile.employees = Some(employees);
        engine.upsert_lead(LeadInput { created_at: Some(t("2026-01-01")), ..LeadInput::of(profile) }).unwrap();
        if let Some(event) = event {
            let shape = leadflow_core::EventShape::new(leadflow_core::EventType::parse(event).unwrap());
            let input = leadflow_engine::EventInput {
                key: None,
                lead: LeadRef::Email(email.clone()),
                ts: t("2026-02-01"),
                shape,
            };
            engine.track(input).unwrap();
        }
        let kind = if won { leadflow_core::OutcomeKind::Won } else { leadflow_core::OutcomeKind::Lost };
        let outcome = leadflow_core::Outcome { kind, at: t("2026-03-01") };
        engine.set_outcome(&LeadRef::Email(email), Some(outcome)).unwrap();
    };
    for i in 0..40 {
        lead(&mut engine, format!("demo{i}"), 5.0, Some("demo_requested"), i < 24);
        lead(&mut engine, format!("news{i}"), 5.0, Some("newsletter_signup"), i < 4);
        lead(&mut engine, format!("fit{i}"), 500.0, None, i < 8);
    }
    let model = leadflow_core::Model::parse(DISAGREEING).unwrap();
    let before = |days| TouchpointRequest {
        cutoff: leadflow_engine::Cutoff::BeforeOutcome { days },
        outcomes: OutcomeSource::Recorded,
        closed: None,
    };
    let report = engine.touchpoints(&model, &before(0), &Quiet).unwrap();
    assert_eq!((report.leads, report.converted), (120, 36));
    let row = |kind: leadflow_core::report::TouchKind, name: &str| {
        let t = report.touchpoints.iter().find(|t| t.kind == kind && t.name == name).unwrap();
        (t.with_leads, t.with_converted, t.without_leads, t.without_converted)
    };
    use leadflow_core::report::TouchKind::{Engagement, Event, Fit};
    assert_eq!(row(Engagement, "demo"), (40, 24, 80, 12));
    assert_eq!(row(Event, "demo_requested"), (40, 24, 80, 12));
    assert_eq!(row(Engagement, "newsletter"), (40, 4, 80, 32));
    assert_eq!(row(Fit, "mid_market"), (40, 8, 80, 28));
    assert_eq!(report.touchpoints[0].lift, Some(4.0), "the demo's, first");
    assert_eq!(report.suggestions.len(), 1, "{:?}", report.suggestions);
    assert!(
        report.suggestions[0]
            .starts_with("engagement rule `demo` (10 points) converts better than `newsletter` (30 points)")
    );

    // Seen a month before their outcomes, nobody had done anything yet.
    let early = engine.touchpoints(&model, &before(40), &Quiet).unwrap();
    assert_eq!(early.touchpoints.iter().filter(|t| t.kind != Fit).map(|t| t.with_leads).sum::<u64>(), 0);

    // Judged by the pipeline instead: every demo lead won there on 1 March, every newsletter
    // lead lost on 20 February, the fit leads never closed (whatever the lab has recorded).
    engine.save_pipeline(SALES, true).unwrap();
    let mut rows = Vec::new();
    for i in 0..40 {
        for (name, to, at) in [("demo", "won", "2026-03-01"), ("news", "lost", "2026-02-20")] {
            let change = ChangeInput {
                lead: LeadRef::Email(Email::parse(&format!("{name}{i}@acme.example")).unwrap()),
                at: t(at),
                from: None,
                to: to.into(),
                reason: None,
            };
            let line = rows.len() as u64 + 2;
            rows.push(ImportRow { line, offset: 0, parsed: Ok(HistoryRow::Change(change)), warnings: Vec::new() });
        }
    }
    let origin = ChangeOrigin::new(ChangeCause::Import, "closes.csv");
    let summary = engine.import_history_rows(rows.into_iter(), "sales", &origin, 100, &Quiet, &Quiet).unwrap();
    assert_eq!((summary.logged, summary.rejected.len()), (80, 0), "{:?}", summary.rejected);
    let by_pipeline = TouchpointRequest { outcomes: OutcomeSource::Pipeline(None), ..before(0) };
    let report = engine.touchpoints(&model, &by_pipeline, &Quiet).unwrap();
    assert_eq!((report.leads, report.converted), (80, 40));
    let row = |report: &leadflow_core::report::TouchpointReport, name: &str| {
        let t = report.touchpoints.iter().find(|t| t.kind == Engagement && t.name == name).unwrap();
        (t.with_leads, t.with_converted, t.without_leads, t.without_converted)
    };
    assert_eq!(row(&report, "demo"), (40, 40, 40, 0));
    assert_eq!(row(&report, "newsletter"), (40, 0, 40, 40));
    // Only the leads that closed from 25 February on: the demo leads.
    let late = TouchpointRequest { closed: Period::new(Some(t("2026-02-25")), None), ..by_pipeline.clone() };
    let report = engine.touchpoints(&model, &late, &Quiet).unwrap();
    assert_eq!((report.leads, report.converted, row(&report, "demo")), (40, 40, (40, 40, 0, 0)));
    let none = TouchpointRequest { closed: Period::new(None, Some(t("2026-01-01"))), ..by_pipeline };
    assert!(engine.touchpoints(&model, &none, &Quiet).is_err(), "no outcome closed before 2026");
}

/// The scoring model of the attribution test: a click in the webinar campaign is worth 40, so
/// shapes keep `campaign` (a model reads it) while `utm_campaign` and pages' `url` are set aside.
const CAMPAIGN_SCORING: &str = r#"
name = "campaign-test"
[fit]
min = 0
max = 40
[[fit.rules]]
id = "mid_market"
field = "employees"
op = "between"
min = 50
points = 40
[engagement]
min = 0
max = 60
[[engagement.rules]]
id = "webinar_click"
event = "email_click"
where = [{ property = "campaign", op = "equals", value = "webinar" }]
points = 40
[[buckets]]
name = "hot"
min = 70
[[buckets]]
name = "warm"
min = 35
[[buckets]]
name = "cold"
[[grades]]
grade = "A"
min_fit = 35
[[grades]]
grade = "F"
"#;

/// Attribution by hand: ana lands on /pricing from the spring campaign (a `utm_campaign` set
/// aside), clicks the webinar (a `campaign` kept in the shape), qualifies, then clicks a
/// retargeting mail and is won: first touch spring, last touch webinar. Bo lands on /blog (his
/// earliest page, read after a later one) and clicks the webinar. Cy qualifies with no events.
/// Dee's only touch comes after the report's as-of. Eve's form names both `campaign` and
/// `utm_campaign`: `campaign` wins. The campaign, bucket and grade filters keep the leads they
/// name.
#[test]
fn sources_campaigns_first_and_last_touch_and_landing_pages_come_from_the_events() {
    let mut w = World::new();
    w.engine.apply_model(CAMPAIGN_SCORING, &Quiet).unwrap();
    let leads = ["ana", "bo", "cy", "dee", "eve"].map(|n| format!("{n}@acme.example"));
    let sources = [Some("ads"), Some("ads"), None, Some("referral"), Some("referral")];
    let rows: Vec<(&str, Option<&str>, Option<&str>)> =
        leads.iter().zip(sources).map(|(email, source)| (email.as_str(), None, source)).collect();
    w.leads(&rows, true);
    let event = |w: &mut World, who: usize, at: Timestamp, kind: &str, properties: &[(&str, &str)]| {
        let mut shape = leadflow_core::EventShape::new(leadflow_core::EventType::parse(kind).unwrap());
        for (name, value) in properties {
            shape.set_property(name, value).unwrap();
        }
        let lead = LeadRef::Email(Email::parse(&leads[who]).unwrap());
        w.engine.track(leadflow_engine::EventInput { key: None, lead, ts: at, shape }).unwrap();
    };
    event(&mut w, 0, day(1), "page_view", &[("url", "/pricing"), ("utm_campaign", "spring")]);
    event(&mut w, 0, day(3), "email_click", &[("campaign", "webinar")]);
    event(&mut w, 0, day(6), "email_click", &[("campaign", "retarget")]);
    event(&mut w, 1, day(2), "page_view", &[("url", "/")]);
    event(&mut w, 1, day(1), "page_view", &[("url", "/blog")]);
    event(&mut w, 1, day(4), "email_click", &[("campaign", "webinar")]);
    event(&mut w, 3, day(40), "email_click", &[("campaign", "spring")]);
    event(&mut w, 4, day(2), "form_submitted", &[("campaign", "partner"), ("utm_campaign", "ignored")]);
    let summary = w.history(&[
        (2, &leads[0], day(5), Some("new"), "mql", None),
        (3, &leads[0], day(10), Some("mql"), "won", None),
        (4, &leads[2], day(3), Some("new"), "mql", None),
        (5, &leads[2], day(8), Some("mql"), "lost", Some("budget")),
    ]);
    assert_eq!((summary.logged, summary.rejected.len()), (4, 0), "{:?}", summary.rejected);

    let report = w.report(day(30));
    type Line = (Option<String>, u64, u64, u64);
    let lines = |list: &[leadflow_core::report::AttributionFigures]| -> Vec<Line> {
        list.iter().map(|f| (f.value.clone(), f.leads, f.mqls, f.won)).collect()
    };
    let some = |s: &str| Some(s.to_string());
    let a = &report.attribution;
    assert_eq!(
        lines(&a.first_touch),
        [(some("partner"), 1, 0, 0), (some("spring"), 1, 1, 1), (some("webinar"), 1, 0, 0), (None, 2, 1, 0)]
    );
    assert_eq!(lines(&a.last_touch), [(some("webinar"), 2, 1, 1), (some("partner"), 1, 0, 0), (None, 2, 1, 0)]);
    assert_eq!(
        lines(&a.campaigns),
        [(some("webinar"), 2, 1, 1), (some("partner"), 1, 0, 0), (some("spring"), 1, 1, 1), (None, 2, 1, 0)]
    );
    assert_eq!(lines(&a.landing_pages), [(some("/blog"), 1, 0, 0), (some("/pricing"), 1, 1, 1), (None, 3, 1, 0)]);
    let spring = &a.first_touch[1];
    assert_eq!(spring.conversion, 1.0);
    let (low, high) = spring.interval.unwrap();
    assert!(low > 0.2 && low < 0.21 && high == 1.0, "Wilson's interval of 1 of 1: {low} to {high}");
    // Sources now say their MQLs too.
    let sources: Vec<(Option<String>, u64, u64, u64)> =
        report.sources.iter().map(|s| (s.source.clone(), s.leads, s.mqls, s.won)).collect();
    assert_eq!(sources, [(some("ads"), 2, 1, 1), (some("referral"), 2, 0, 0), (None, 1, 1, 0)]);
    // As of the day after, Dee's late touch counts.
    let later = w.report(day(41));
    assert_eq!(lines(&later.attribution.first_touch)[0], (some("spring"), 2, 1, 1));

    let scoped = |w: &mut World, scope: LeadScope| {
        let request = PipelineReportRequest { as_of: Some(day(30)), scope, ..PipelineReportRequest::default() };
        w.engine.pipeline_report(&request, &Quiet).unwrap().leads
    };
    let webinar = LeadScope { campaigns: Some(vec!["webinar".into()]), ..LeadScope::default() };
    assert_eq!(scoped(&mut w, webinar), 2, "ana and bo");
    let retarget = LeadScope { campaigns: Some(vec!["retarget".into(), "nothing".into()]), ..LeadScope::default() };
    assert_eq!(scoped(&mut w, retarget), 1, "ana touched it after qualifying: still a lead that touched it");
    w.engine.rescore(leadflow_engine::RescoreOptions::all(day(30)), &Quiet).unwrap();
    let warm = LeadScope { buckets: Some(vec!["warm".into()]), ..LeadScope::default() };
    assert_eq!(scoped(&mut w, warm), 2, "the two webinar clicks are worth 40");
    let f = LeadScope { grades: Some(vec![leadflow_core::Grade::F]), ..LeadScope::default() };
    assert_eq!(scoped(&mut w, f), 5);
    let a = LeadScope { grades: Some(vec![leadflow_core::Grade::A]), ..LeadScope::default() };
    assert_eq!(scoped(&mut w, a), 0);
}

/// A sink that keeps what it is given.
#[derive(Default)]
struct KeptDigests(std::sync::Mutex<Vec<leadflow_engine::Digest>>);

impl leadflow_engine::DigestSink for KeptDigests {
    fn deliver(&self, digest: &leadflow_engine::Digest) -> Result<(), String> {
        self.0.lock().unwrap().push(digest.clone());
        Ok(())
    }
}

/// The week to Monday 1 June 2026 08:00 (25 May to 1 June) against the week before: ana
/// qualified in the week before and was accepted and won in this one; bo came in this week
/// from the spring campaign, qualified and was lost for budget; cy came this week and waits in
/// `new`. The digest job hands it over on Mondays at 08:00 UTC, once per week however often
/// the queue is run.
#[test]
fn the_digest_compares_the_week_with_the_one_before_and_is_delivered_on_mondays() {
    let mut w = World::new();
    let created = |w: &mut World, email: &str, at: Timestamp| {
        let input = LeadInput { created_at: Some(at), ..LeadInput::of(Profile::new(Email::parse(email).unwrap())) };
        let rows = [ImportRow { line: 2, offset: 0, parsed: Ok(input), warnings: Vec::new() }];
        let options = ImportOptions { rescore: false, pipeline: Some("sales".into()), ..ImportOptions::LEADS };
        let origin = ChangeOrigin::new(ChangeCause::Import, "leads.csv");
        w.engine.import_lead_rows(rows.into_iter(), options, &origin, &Quiet, &Quiet).unwrap();
    };
    created(&mut w, "ana@acme.example", t("2026-05-10"));
    created(&mut w, "bo@acme.example", t("2026-05-26"));
    created(&mut w, "cy@acme.example", t("2026-05-30"));
    let click = leadflow_core::EventShape::new(leadflow_core::EventType::parse("email_click").unwrap())
        .with_property("campaign", "spring")
        .unwrap();
    let bo = LeadRef::Email(Email::parse("bo@acme.example").unwrap());
    let event = leadflow_engine::EventInput { key: None, lead: bo, ts: t("2026-05-26T10:00:00Z"), shape: click };
    w.engine.track(event).unwrap();
    let summary = w.history(&[
        (2, "ana@acme.example", t("2026-05-20"), Some("new"), "mql", None),
        (3, "ana@acme.example", t("2026-05-27"), Some("mql"), "sql", None),
        (4, "ana@acme.example", t("2026-05-29"), Some("sql"), "won", None),
        (5, "bo@acme.example", t("2026-05-27"), Some("new"), "mql", None),
        (6, "bo@acme.example", t("2026-05-28"), Some("mql"), "lost", Some("budget")),
    ]);
    assert_eq!((summary.logged, summary.rejected.len()), (5, 0), "{:?}", summary.rejected);

    let monday = t("2026-06-01T08:00:00Z");
    let request = leadflow_engine::DigestRequest { as_of: Some(monday), ..Default::default() };
    let digest = w.engine.digest(&request, &Quiet).unwrap();
    let c = digest.current;
    assert_eq!((c.from, c.to), (t("2026-05-25T08:00:00Z"), monday));
    assert_eq!((c.created, c.mqls, c.accepted, c.won, c.lost), (2, 1, 1, 1, 1));
    let p = digest.previous;
    assert_eq!((p.created, p.mqls, p.accepted, p.won, p.lost), (0, 1, 0, 0, 0));
    assert_eq!(digest.lost_reasons, [(Some("budget".to_string()), 1)]);
    let open: Vec<(&str, u64)> =
        digest.open_stages.iter().filter(|s| s.open > 0).map(|s| (s.stage.as_str(), s.open)).collect();
    assert_eq!(open, [("new", 1)], "cy waits in new");
    let campaigns: Vec<(Option<&str>, u64)> = digest.campaigns.iter().map(|f| (f.value.as_deref(), f.leads)).collect();
    assert_eq!(campaigns, [(Some("spring"), 1)], "bo's first touch; cy has none");

    // The job: due at Monday 08:00, run at 09:00, as of its slot; not again that week.
    let sink = Arc::new(KeptDigests::default());
    let settings = leadflow_engine::JobSettings {
        rescore_every: None,
        anonymous_retention_days: None,
        keep_finished_days: 7,
        pipeline_sweep_every: None,
        digest: Some(sink.clone()),
        nurture: None,
    };
    w.engine.schedule_jobs(&settings).unwrap();
    w.engine.run_due_jobs(&settings, 10).unwrap();
    w.engine.run_due_jobs(&settings, 10).unwrap();
    let delivered: Vec<Timestamp> = sink.0.lock().unwrap().iter().map(|d| d.as_of).collect();
    assert_eq!(delivered, [monday]);
    assert_eq!(sink.0.lock().unwrap()[0], digest, "the same digest as asked for");
}
