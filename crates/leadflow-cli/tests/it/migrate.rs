//! `leadflow migrate --to postgres://...`: an embedded database copied into PostgreSQL (a
//! schema of its own on `LEADFLOW_TEST_PG_URL`) reads the same through every command.

use crate::common::{Cli, key, stats};

const LEADS: &str = "email,first_name,job_title,employees,industry,country,created_at,plan\n\
ana@acme.example,Ana,VP Marketing,2500,software,US,2026-01-01,pro\n\
ben@globex.example,Ben,Student,3,education,FR,2026-01-02,free\n\
dee@initech.example,Dee,VP Sales,800,retail,DE,2026-01-03,pro\n";

/// An embedded database with leads, events (properties set aside among them), two models, keys,
/// an outcome, and its file's `--db` arguments' CLI.
fn embedded() -> Cli {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let leads = cli.file("leads.csv", LEADS);
    cli.ok(&["import", "leads", &leads]);
    for (lead, kind, id, props) in [
        ("ana@acme.example", "page_view", "v1", &["url=/pricing", "session=s-1"][..]),
        ("ana@acme.example", "demo_requested", "d1", &[]),
        ("dee@initech.example", "page_view", "v2", &["url=/careers", "session=s-2"]),
        ("someone@new.example", "form_submitted", "f1", &[]),
    ] {
        let mut args = vec!["track", "--lead", lead, "--type", kind, "--id", id, "--ts", "2026-11-20"];
        for p in props {
            args.extend(["--prop", p]);
        }
        cli.ok(&args);
    }
    key(&cli, "ingest");
    cli.ok(&["leads", "outcome", "ana@acme.example", "won", "--at", "2026-11-25"]);
    let model = cli.ok(&["model", "show"]).replacen("name = \"default-b2b\"", "name = \"second\"", 1);
    let second = cli.file("second.toml", &model);
    cli.ok(&["model", "apply", &second]);
    cli.ok(&["model", "activate", "1"]);
    cli
}

/// The `--database-url` a CLI on PostgreSQL names its schema with.
fn url_of(pg: &Cli) -> String {
    pg.database_args()[1].clone()
}

#[test]
fn migrate_copies_an_embedded_database_into_postgres() {
    let sqlite = embedded();
    let pg = Cli::on_postgres();
    let out = sqlite.ok(&["migrate", "--to", &url_of(&pg)]);
    assert!(
        out.lines().any(|l| l.starts_with("leads ") && l.contains(" 4 ") && l.contains("copied, verified")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("events ") && l.contains(" 4 ")), "{out}");
    assert!(out.contains(&format!("copied {}", sqlite.db().canonicalize().unwrap().display())), "{out}");

    assert_eq!(stats(&pg), stats(&sqlite));
    assert_eq!(pg.ok(&["export", "scores"]), sqlite.ok(&["export", "scores"]));
    assert_eq!(pg.ok(&["model", "list"]), sqlite.ok(&["model", "list"]));
    assert_eq!(pg.ok(&["keys", "list"]), sqlite.ok(&["keys", "list"]));
    let show = ["leads", "show", "ana@acme.example", "--as-of", "2026-12-01", "--json"];
    assert_eq!(pg.ok(&show), sqlite.ok(&show), "profile, explanation, timeline (set-aside properties too), history");
    pg.ok(&["verify"]);

    // Again, after the embedded database moved on: the copy is replaced by a fresh one.
    sqlite.ok(&["track", "--lead", "ben@globex.example", "--type", "email_click", "--id", "c1"]);
    let again = sqlite.ok(&["migrate", "--to", &url_of(&pg)]);
    assert!(again.contains("replacing the earlier copy"), "{again}");
    assert_eq!(stats(&pg), stats(&sqlite));
    assert_eq!(pg.ok(&["export", "scores"]), sqlite.ok(&["export", "scores"]));

    // Another database is refused, and the copy stays as it was.
    let other = embedded();
    let refused = other.run(&["migrate", "--to", &url_of(&pg)]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(err.contains("already holds leadflow data") && err.contains("--replace"), "{err}");
    assert_eq!(stats(&pg), stats(&sqlite));
}

#[test]
fn migrate_says_what_is_wrong_and_never_shows_a_password() {
    let sqlite = embedded();
    let unreachable = "postgres://leadflow:s3cret-pw@127.0.0.1:1/leadflow";
    let out = sqlite.run(&["migrate", "--to", unreachable]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("postgres://leadflow:***@127.0.0.1:1/leadflow"), "{err}");
    for bad in ["leadflow:s3cret-pw@db/leadflow", "mysql://leadflow:s3cret-pw@db/leadflow", "sqlite://s3cret-pw.db"] {
        let out = sqlite.run(&["migrate", "--to", bad]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("--to takes a PostgreSQL database"), "{bad}: {err}");
        assert!(!err.contains("s3cret-pw"), "{err}");
    }
    let pg = Cli::on_postgres();
    let out = pg.run(&["migrate", "--to", &url_of(&pg)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("migrate copies an embedded database"), "{err}");
    let missing = Cli::new();
    let out = missing.run(&["migrate", "--to", &url_of(&pg)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no database at"), "{err}");
}
