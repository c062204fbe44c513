//! The import use case: batches, lines, and the rescore at the end, whoever reads the file.

use std::sync::Arc;

use leadflow_core::{Email, LeadId, Profile, Timestamp};
use leadflow_engine::{Engine, FixedClock, ImportOptions, ImportRow, LeadInput, Quiet};
use leadflow_sqlite::SqliteStore;
use leadflow_store::Store;

fn lead(email: &str, id: Option<i64>) -> LeadInput {
    let profile = Profile::new(Email::parse(email).unwrap());
    LeadInput { id: id.map(LeadId), profile, created_at: None, outcome: None, clear: Vec::new() }
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
    let options = ImportOptions { batch: 2, rescore: true };
    let summary = engine.import_lead_rows(rows.into_iter(), options, &Quiet, &Quiet).unwrap();
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
