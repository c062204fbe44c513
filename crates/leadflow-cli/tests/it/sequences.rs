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
    // Its templates are not there yet: refused, every one named.
    let out = cli.run(&["sequence", "apply", &trial]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "sends templates that are not active: trial-welcome, tips-short, tips-long, case-study, still-there"
        ),
        "{stderr}"
    );
    cli.ok(&["template", "apply", &example("template-trial-welcome.toml")]);
    for name in ["tips-short", "tips-long", "case-study", "still-there"] {
        let file =
            cli.file(&format!("{name}.toml"), &format!("name = \"{name}\"\nsubject = \"{name}\"\ntext = \"Hi\"\n"));
        cli.ok(&["template", "apply", &file]);
    }
    let applied = cli.ok(&["sequence", "apply", &trial]);
    assert!(applied.starts_with("sequence v1 (trial-nurture) is active"), "the same file keeps its version: {applied}");
    // A template an active sequence sends stays.
    let out = cli.run(&["template", "retire", "tips-long"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("template `tips-long` is sent by active sequences: trial-nurture"), "{stderr}");
    let list = cli.ok(&["sequence", "list"]);
    assert!(list.lines().any(|l| l.starts_with("*  v1") && l.contains("trial-nurture")), "{list}");
    assert_eq!(cli.ok(&["sequence", "show", "trial-nurture"]), std::fs::read_to_string(&trial).unwrap());
    assert!(cli.ok(&["sequence", "pause", "trial-nurture"]).contains("is paused"));
    let out = cli.run(&["sequence", "pause", "trial-nurture"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("sequence `trial-nurture` is not active"));
    assert!(!cli.ok(&["sequence", "list"]).contains('*'), "none active");
    assert!(cli.ok(&["template", "retire", "tips-long"]).contains("is retired"), "sent by no active sequence now");
    let out = cli.run(&["sequence", "activate", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not active: tips-long"));
    let tips_long = cli.ok(&["template", "list"]);
    let version = tips_long.lines().find(|l| l.contains("tips-long")).unwrap().split_whitespace().next().unwrap();
    cli.ok(&["template", "activate", version.trim_start_matches('v')]);
    assert!(cli.ok(&["sequence", "activate", "1"]).contains("sequence v1 (trial-nurture) is active"));
    let out = cli.run(&["sequence", "activate", "9"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no sequence version 9"));

    // A lead enrolled by hand: once at a time, out with a reason, not back for 90 days.
    cli.ok(&["import", "leads", &cli.file("leads.csv", "email,first_name\nkim@acme.example,Kim\n")]);
    let enrolled = cli.ok(&["sequence", "enroll", "trial-nurture", "--lead", "kim@acme.example"]);
    assert_eq!(enrolled, "lead 1 is in sequence `trial-nurture` (v1), at step `welcome`\n");
    let out = cli.run(&["sequence", "enroll", "trial-nurture", "--lead", "kim@acme.example"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("lead 1 is in sequence `trial-nurture` already"));
    let listed = cli.ok(&["sequence", "enrollments", "trial-nurture", "--active"]);
    assert!(listed.lines().nth(1).is_some_and(|l| l.starts_with("1     trial-nurture  v1       welcome")), "{listed}");
    let out =
        cli.ok(&["sequence", "exit", "trial-nurture", "--lead", "kim@acme.example", "--reason", "asked us to stop"]);
    assert_eq!(out, "lead 1 left sequence `trial-nurture`: asked us to stop\n");
    let out = cli.run(&["sequence", "enroll", "trial-nurture", "--lead", "kim@acme.example"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("it may be enrolled again from"), "reenroll_after_days = 90");
    let listed = cli.ok(&["sequence", "enrollments", "--lead", "kim@acme.example"]);
    assert!(listed.contains("asked us to stop"), "{listed}");
    assert_eq!(cli.ok(&["sequence", "enrollments", "trial-nurture", "--active"]).lines().count(), 1, "the header only");

    // The do-not-contact list: an address listed stops its lead's enrollments and keeps it out.
    cli.ok(&["import", "leads", &cli.file("more.csv", "email\nbo@acme.example\n")]);
    cli.ok(&["sequence", "enroll", "trial-nurture", "--lead", "bo@acme.example"]);
    let listed = cli.ok(&["do-not-contact", "add", "BO@acme.example", "--note", "asked on a call"]);
    assert_eq!(listed, "bo@acme.example (email) is on the do-not-contact list: manual\n1 enrollment(s) ended\n");
    let again = cli.ok(&["do-not-contact", "add", "bo@acme.example", "--reason", "bounced"]);
    assert_eq!(again, "bo@acme.example (email) was on the list already: manual (kept)\n");
    cli.ok(&["do-not-contact", "add", "+49 30 1234567", "--channel", "phone", "--reason", "unsubscribed"]);
    let list = cli.ok(&["do-not-contact", "list"]);
    assert!(list.lines().nth(1).is_some_and(|l| l.starts_with("bo@acme.example  email    manual")), "{list}");
    assert!(list.contains("+49 30 1234567") && list.contains("asked on a call"), "{list}");
    let ended = cli.ok(&["sequence", "enrollments", "--lead", "bo@acme.example"]);
    assert!(ended.contains("unsubscribed"), "{ended}");
    let out = cli.run(&["do-not-contact", "add", "not an address"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an address for the email do-not-contact list"));
    assert!(cli.ok(&["do-not-contact", "remove", "bo@acme.example"]).contains("is off the email list"));
    let out = cli.run(&["do-not-contact", "remove", "bo@acme.example"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("bo@acme.example is not on the email list"));

    // Enrolled by import: a file of leads, each refusal with its line, the rest in.
    let file = cli.file(
        "enroll.csv",
        "name,email\nAna,ana@acme.example\nKim,kim@acme.example\nBo,bo@acme.example\nNobody,nobody@acme.example\nX,not an address\n",
    );
    cli.ok(&["import", "leads", &cli.file("ana.csv", "email\nana@acme.example\n")]);
    let out = cli.run(&["sequence", "enroll", "trial-nurture", "--file", &file]);
    assert_eq!(out.status.code(), Some(3), "some refused");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, "sequence `trial-nurture`: 1 enrolled, 4 refused\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].starts_with("line 3: lead 1 was in sequence `trial-nurture`"), "kim left it: {stderr}");
    assert!(lines[1].starts_with("line 4: lead 2 was in sequence `trial-nurture`"), "so did bo: {stderr}");
    assert!(lines[2].starts_with("line 5: no lead"), "{stderr}");
    assert!(lines[3].starts_with("line 6: no lead with external id not an address"), "{stderr}");
    let by_import = cli.ok(&["sequence", "enrollments", "trial-nurture", "--active"]);
    assert_eq!(by_import.lines().filter(|l| l.contains("import")).count(), 1, "ana: {by_import}");
    let plain = cli.file("plain.txt", "ana@acme.example\n\n");
    let again = cli.run(&["sequence", "enroll", "trial-nurture", "--file", &plain]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("line 1: lead"), "one per line, no header");

    // Nothing sent yet: the figures are empty, as a table and as the API's JSON.
    assert_eq!(cli.ok(&["sequence", "metrics"]).lines().count(), 1, "the header only");
    let json: serde_json::Value =
        serde_json::from_str(&cli.ok(&["sequence", "metrics", "trial-nurture", "--json"])).unwrap();
    assert_eq!(json, serde_json::json!({"sequences": [], "templates": []}));
}

#[test]
fn a_template_is_checked_stored_and_previewed_with_a_lead() {
    templates_on(Cli::new());
}

#[test]
fn a_template_is_checked_stored_and_previewed_with_a_lead_on_postgres() {
    templates_on(Cli::on_postgres());
}

fn templates_on(cli: Cli) {
    let welcome = example("template-trial-welcome.toml");
    let checked = cli.ok(&["template", "check", &welcome]);
    assert!(
        checked
            .contains("valid template `trial-welcome`: subject, text and HTML; fills in lead.first_name, lead.company"),
        "{checked}"
    );
    let bad = cli.file("bad.toml", "name = \"t\"\nsubject = \"Hi {{ lead.frist_name }}\"\ntext = \"{{ owner.name\"\n");
    let out = cli.run(&["template", "check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2, column 18: subject: unknown variable `lead.frist_name`"), "{stderr}");
    assert!(stderr.contains("line 3, column 9: text: `{{` is not closed by `}}`"), "{stderr}");

    cli.ok(&["init"]);
    let leads = cli.file(
        "leads.csv",
        "email,first_name,company,owner\nkim@acme.example,Kim,<Acme & Co>,ana@yourco.example\nlee@acme.example,,,\n",
    );
    cli.ok(&["import", "leads", &leads]);
    assert!(cli.ok(&["template", "apply", &welcome]).starts_with("template v1 (trial-welcome) is active"));
    assert!(cli.ok(&["template", "list"]).lines().any(|l| l.starts_with("*  v1") && l.contains("trial-welcome")));
    let preview = cli.ok(&["template", "preview", "trial-welcome", "--lead", "kim@acme.example"]);
    assert!(preview.starts_with("Subject: Welcome to your trial, Kim\n\nHi Kim,"), "{preview}");
    assert!(preview.contains("teams like <Acme & Co>\n"), "the text part as it is: {preview}");
    assert!(preview.contains("<p>ana@yourco.example</p>"), "the owner sends it: {preview}");
    assert!(preview.contains("Unsubscribe: https://unsubscribe.invalid/preview"), "{preview}");
    let fallback = cli.ok(&["template", "preview", "trial-welcome", "--lead", "lee@acme.example"]);
    assert!(fallback.starts_with("Subject: Welcome to your trial, there\n\nHi there,"), "{fallback}");
    assert!(fallback.contains("The leadflow team"), "{fallback}");
    let unstored = cli.file(
        "draft.toml",
        "name = \"draft\"\nsubject = \"s\"\ntext = \"{{ lead.company }}\"\nhtml = \"{{ lead.company }}\"\n",
    );
    let draft = cli.ok(&["template", "preview", "--file", &unstored, "--lead", "kim@acme.example"]);
    assert!(draft.contains("&lt;Acme &amp; Co&gt;"), "escaped in HTML: {draft}");
    let out = cli.run(&["template", "preview", "nothing", "--lead", "kim@acme.example"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no active template `nothing`"));
    assert!(cli.ok(&["template", "retire", "trial-welcome"]).contains("retired"));
    assert!(cli.ok(&["template", "show", "v1"]).starts_with("# An email template"));
}
