//! leadflow's scores for `examples/reference-b2b.toml` match the benchmark's reference scores
//! (DuckDB and plain-Python implementations agree on them) for every lead of
//! `../shared/bench/small`, through the real binary: import, rescore, export.

use std::collections::HashMap;

use crate::common::{Cli, workspace_root};

#[test]
fn scores_match_the_reference_implementation() {
    the_reference_scores_on(Cli::new());
}

/// The same on PostgreSQL: the backend changes nothing of the scores, nor of the paths to them.
#[test]
fn scores_match_the_reference_implementation_on_postgres() {
    the_reference_scores_on(Cli::on_postgres());
}

fn the_reference_scores_on(cli: Cli) {
    let bench = workspace_root().join("../shared/bench/small");
    assert!(bench.join("leads.csv").exists(), "the benchmark's small workload is expected at {}", bench.display());
    let model = workspace_root().join("examples/reference-b2b.toml");
    cli.ok(&["init", "--model", model.to_str().unwrap()]);
    cli.ok(&["import", "leads", bench.join("leads.csv").to_str().unwrap(), "--no-rescore"]);
    let out = cli.ok(&["import", "events", bench.join("events.csv").to_str().unwrap(), "--no-rescore"]);
    assert!(out.contains("38986 imported"), "{out}");
    cli.ok(&["rescore", "--as-of", "2026-07-01T00:00:00Z"]);
    let ours = cli.ok(&["export", "scores"]);

    let expected = read_scores(&std::fs::read_to_string(bench.join("ref_scores.csv")).unwrap());
    let actual = read_scores(&ours);
    assert_eq!(expected.len(), 2000);
    assert_eq!(actual.len(), expected.len(), "every lead is scored");
    compare(&expected, &actual);

    // A bulk rescore from events agrees with itself...
    cli.ok(&["rescore", "--all", "--as-of", "2026-07-01T00:00:00Z"]);
    compare(&expected, &read_scores(&cli.ok(&["export", "scores"])));

    // ...and the incremental path agrees with it: tracking events keeps states for those leads,
    // a later bulk rescore scores them from their states alone, and recomputing everything from
    // events gives the same scores.
    for lead in ["7", "42", "1999"] {
        let out = cli.ok(&["track", "--lead", lead, "--type", "demo_requested", "--ts", "2026-07-15T12:00:00Z"]);
        assert!(out.starts_with(&format!("lead {lead}:")), "{out}");
    }
    let later = "2026-12-15T00:00:00Z";
    let out = cli.ok(&["rescore", "--all", "--as-of", later]);
    assert!(out.contains("(1997 from events, 3 from kept state)"), "{out}");
    let from_state = read_scores(&cli.ok(&["export", "scores"]));
    let out = cli.ok(&["rescore", "--from-events", "--as-of", later]);
    assert!(out.contains("(2000 from events, 0 from kept state)"), "{out}");
    compare(&read_scores(&cli.ok(&["export", "scores"])), &from_state);
}

type Scores = HashMap<i64, (f64, f64, f64, String, String)>;

fn read_scores(csv: &str) -> Scores {
    let mut lines = csv.lines();
    // The reference's files, and ours with the email and CRM id after the same columns.
    assert!(lines.next().is_some_and(|h| h.starts_with("lead_id,fit,engagement,total,bucket,grade")));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            (f[0].parse().unwrap(), (n(1), n(2), n(3), f[4].to_string(), f[5].to_string()))
        })
        .collect()
}

/// The comparer's rule: numbers within 1e-4; bucket and grade equal unless a number sits within
/// the tolerance of a threshold.
fn compare(expected: &Scores, actual: &Scores) {
    let mut problems = Vec::new();
    for (id, e) in expected {
        let Some(a) = actual.get(id) else {
            problems.push(format!("lead {id} missing"));
            continue;
        };
        let diffs = [(e.0 - a.0).abs(), (e.1 - a.1).abs(), (e.2 - a.2).abs()];
        if diffs.iter().any(|d| *d > 1e-4) {
            problems.push(format!("lead {id}: expected {e:?}, got {a:?}"));
        }
        let near = diffs.iter().any(|d| *d > 0.0);
        if (e.3 != a.3 || e.4 != a.4) && !near {
            problems.push(format!("lead {id}: expected {}/{}, got {}/{}", e.3, e.4, a.3, a.4));
        }
    }
    problems.sort();
    assert!(
        problems.is_empty(),
        "{} differences, e.g.:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}
