//! `leadflow sequence ...`: a sequence file checked without a database, then stored, activated
//! (only once the stages it names are in an active pipeline), listed, shown, paused and
//! resumed, on both backends.

use crate::common::{Cli, workspace_root};

fn example(name: &str) -> String {
    workspace_root().join("examples").join(name).to_str().unwrap().to_string()
}

#[test]
fn a_sequence_is_checked_stored_activated_and_paused() {
    sequences_on(Cli::new());
}

#[test]
fn a_sequence_is_checked_stored_activated_and_paused_on_postgres() {
    sequences_on(Cli::on_postgres());
}

fn sequences_on(cli: Cli) {
    let trial = example("sequence-trial.toml");
    let checked = cli.ok(&["sequence", "check", &trial]);
    assert!(checked.contains("valid sequence `trial-nurture`: 13 steps (4 sends, 3 waits, 2 branches)"), "{checked}");
    let bad = cli.file("bad.toml", "name = \"n\"\n[[steps]]\nid = \"a\"\nsend = \"t\"\nnext = \"b\"\n");
    let out = cli.run(&["sequence", "check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 5, column 8: steps[0].next: no step `b` (steps: a)"), "{stderr}");

    cli.ok(&["init"]);
    // Its stages are in no pipeline yet: refused, every one named.
    let out = cli.run(&["sequence", "apply", &trial]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("names stages no active pipeline has: new, working, meeting (the active pipelines: none)"),
        "{stderr}"
    );
    // Stored without activating needs no pipeline.
    let stored = cli.ok(&["sequence", "apply", &trial, "--inactive"]);
    assert!(stored.starts_with("sequence v1 (trial-nurture) is stored, not active"), "{stored}");
    cli.ok(&["pipeline", "apply", &example("pipeline-inbound-b2b.toml")]);
    let applied = cli.ok(&["sequence", "apply", &trial]);
    assert!(applied.starts_with("sequence v1 (trial-nurture) is active"), "the same file keeps its version: {applied}");
    let list = cli.ok(&["sequence", "list"]);
    assert!(list.lines().any(|l| l.starts_with("*  v1") && l.contains("trial-nurture")), "{list}");
    assert_eq!(cli.ok(&["sequence", "show", "trial-nurture"]), std::fs::read_to_string(&trial).unwrap());
    assert!(cli.ok(&["sequence", "pause", "trial-nurture"]).contains("is paused"));
    let out = cli.run(&["sequence", "pause", "trial-nurture"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("sequence `trial-nurture` is not active"));
    assert!(!cli.ok(&["sequence", "list"]).contains('*'), "none active");
    assert!(cli.ok(&["sequence", "activate", "1"]).contains("sequence v1 (trial-nurture) is active"));
    let out = cli.run(&["sequence", "activate", "9"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sequence version 9"));
}
