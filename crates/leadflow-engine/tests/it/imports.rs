//! The import use case: batches, lines, and the rescore at the end, whoever reads the file.

use std::sync::Arc;

use leadflow_core::{Email, ExternalId, LeadId, Profile, Timestamp};
use leadflow_engine::{Engine, FixedClock, ImportOptions, ImportRow, LeadInput, Quiet};
use leadflow_sqlite::SqliteStore;
use leadflow_store::{LeadOrder, LeadQuery, LeadReads, Store};
use proptest::prelude::*;

fn lead(email: &str, id: Option<i64>) -> LeadInput {
    let profile = Profile::new(Email::parse(email).unwrap());
    LeadInput {
        id: id.map(LeadId),
        profile,
        created_at: None,
        outcome: None,
        clear: Vec::new(),
        identities: Vec::new(),
    }
}

#[test]
fn rows_go_in_by_batch_and_every_refusal_keeps_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(Timestamp::parse("2026-12-01T09:00:00Z").unwrap()));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("i.db")).unwrap(), clock);
    engine.ensure_model().unwrap();
    let row = |line: u64, parsed: Result<LeadInput, String>, warnings: Vec<String>| ImportRow {
        line,
        offset: line * 10,
        parsed,
        warnings,
    };
    let rows = vec![
        row(2, Ok(lead("ana@acme.example", None)), Vec::new()),
        row(3, Err("email: `x` is not an email address".into()), Vec::new()),
        row(4, Ok(lead("ben@acme.example", None)), vec!["employees: `many` is not a number; left out".into()]),
        // A second batch: an id given with the email of another lead is refused, alone.
        row(6, Ok(lead("ana@acme.example", Some(77))), Vec::new()),
        row(7, Ok(lead("cid@acme.example", None)), Vec::new()),
    ];
    let options = ImportOptions { batch: 2, rescore: true, pipeline: None };
    let summary = engine.import_lead_rows(rows.into_iter(), options, &from_file(), &Quiet, &Quiet).unwrap();
    assert_eq!((summary.totals.accepted, summary.totals.created_leads), (3, 3));
    let lines: Vec<u64> = summary.rejected.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 6], "{:?}", summary.rejected);
    assert!(summary.rejected[1].1.contains("ana@acme.example"), "{:?}", summary.rejected);
    assert_eq!(summary.warnings.len(), 1);
    assert_eq!(summary.warnings[0].0, 4);
    assert!(!summary.all_in());
    assert_eq!(summary.rescore.as_ref().map(|r| r.leads), Some(3), "the leads it touched are rescored");
    assert_eq!(engine.store().stats().unwrap().stale_leads, 0);
}

/// A lead row of the property below: keys from small pools, so that rows meet each other.
fn arbitrary_row() -> impl Strategy<Value = LeadInput> {
    (0usize..6, 0usize..5, prop::option::of(1i64..8), 0usize..3, prop::option::of(0i64..3)).prop_map(
        |(email, external, id, company, created)| {
            let email = (email < 4).then(|| Email::parse(&format!("p{email}@acme.example")).unwrap());
            let external = (external < 3).then(|| ExternalId::parse(&format!("00Q{external}")).unwrap());
            let mut profile = match (email, external) {
                (Some(e), x) => {
                    let mut p = Profile::new(e);
                    p.external_id = x;
                    p
                }
                (None, Some(x)) => Profile::with_external_id(x),
                (None, None) => Profile::with_external_id(ExternalId::parse("00Q9").unwrap()),
            };
            profile.company = ["Acme", "Globex", ""][company].to_string().into();
            profile.company = profile.company.filter(|c| !c.is_empty());
            // An id only now and then: most rows of a CRM file name leads by their keys.
            let id = id.filter(|i| *i > 5).map(LeadId);
            let created_at = created.map(|d| Timestamp::from_secs(1_750_000_000 + d * 86_400));
            LeadInput { id, profile, created_at, outcome: None, clear: Vec::new(), identities: Vec::new() }
        },
    )
}

/// A stored lead as the property compares it: id, email, external id, company, created at.
type Stored = (LeadId, Option<String>, Option<String>, Option<String>, Timestamp);

fn leads_of(engine: &Engine<SqliteStore>) -> Vec<Stored> {
    let query = LeadQuery { order: LeadOrder::Newest, limit: 1_000, ..LeadQuery::default() };
    let mut leads: Vec<_> = engine
        .store()
        .list_leads(&query)
        .unwrap()
        .into_iter()
        .map(|l| {
            let p = l.profile;
            (l.id, p.email.map(|e| e.to_string()), p.external_id.map(|x| x.to_string()), p.company, l.created_at)
        })
        .collect();
    leads.sort();
    leads
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A batch goes in as its rows would one at a time: the new rows together, the rows that
    /// meet a lead (an earlier row's, or one stored before) each after everything before it.
    #[test]
    fn a_batch_of_leads_goes_in_as_its_rows_one_at_a_time(
        before in prop::collection::vec(arbitrary_row(), 0..4),
        rows in prop::collection::vec(arbitrary_row(), 1..24),
    ) {
        let now = Timestamp::parse("2026-12-01T09:00:00Z").unwrap();
        let import = |batch: usize| {
            let dir = tempfile::tempdir().unwrap();
            let mut engine = Engine::new(SqliteStore::open(&dir.path().join("i.db")).unwrap(), Arc::new(FixedClock::new(now)));
            engine.ensure_model().unwrap();
            for row in &before {
                let _ = engine.import_leads(std::slice::from_ref(row), &from_file()).unwrap();
            }
            let mut rejected = Vec::new();
            let mut created = 0;
            for (n, chunk) in rows.chunks(batch).enumerate() {
                let report = engine.import_leads(chunk, &from_file()).unwrap();
                created += report.created_leads;
                rejected.extend(report.rejected.into_iter().map(|(i, why)| (n * batch + i, why)));
            }
            (leads_of(&engine), rejected, created, dir)
        };
        let (one_by_one, rejected_alone, created_alone, _a) = import(1);
        let (batched, rejected_batched, created_batched, _b) = import(rows.len());
        prop_assert_eq!(batched, one_by_one);
        prop_assert_eq!(rejected_batched, rejected_alone);
        prop_assert_eq!(created_batched, created_alone);
    }
}

fn from_file() -> leadflow_store::ChangeOrigin {
    leadflow_store::ChangeOrigin::new(leadflow_store::ChangeCause::Import, "leads.csv")
}
