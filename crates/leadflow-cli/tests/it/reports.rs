//! leadflow's pipeline report gives exactly the figures of the pipeline benchmark's executable
//! definition (`../shared/bench/pipeline`, DuckDB) on its small workload, after importing its
//! leads and their stage history through the real binary, on both backends; a history imported
//! again changes nothing.

use serde_json::Value;

use crate::common::{Cli, workspace_root};

fn t(s: &str) -> leadflow_core::Timestamp {
    leadflow_core::Timestamp::parse(s).unwrap()
}

#[test]
fn the_pipeline_report_gives_the_reference_figures() {
    the_reference_figures_on(Cli::new());
}

/// The other renderings and reports of the same workload: tables, CSV, charts, reps, the model.
#[test]
fn every_report_renders_as_a_table_csv_and_charts() {
    let cli = Cli::new();
    let bench = workspace_root().join("../shared/bench/pipeline/small");
    let path = |name: &str| bench.join(name).to_str().unwrap().to_string();
    cli.ok(&["init"]);
    cli.ok(&["pipeline", "apply", workspace_root().join("bench/pipeline/sales.toml").to_str().unwrap()]);
    cli.ok(&["import", "leads", &path("leads.csv"), "--pipeline", "sales"]);
    cli.ok(&["import", "changes", &path("stage_changes.csv")]);
    let as_of = ["--as-of", "2026-07-01T00:00:00Z"];
    let table = cli.ok(&[&["report", "pipeline"][..], &as_of].concat());
    assert!(table.starts_with("pipeline `sales` as of 2026-07-01T00:00:00Z: 3000 leads"), "{table}");
    assert!(table.contains("mql -> sql          879      572      65.1%       61.9% to 68.2%"), "{table}");
    assert!(table.contains("cohorts: won by months since creation"), "{table}");
    let csv = cli.ok(&[&["report", "pipeline", "--format", "csv"][..], &as_of].concat());
    assert!(csv.lines().any(|l| l == "conversion,mql->sql,rate,0.6507394766780432"), "{csv}");
    assert!(csv.lines().all(|l| l.split(',').count() == 4), "one tidy table");
    let charts = cli.file("charts", "");
    std::fs::remove_file(&charts).unwrap();
    cli.ok(&[&["report", "pipeline", "--format", "json", "--svg", &charts][..], &as_of].concat());
    for chart in ["funnel", "dropouts", "mqls", "velocity", "cohorts"] {
        let svg = std::fs::read_to_string(std::path::Path::new(&charts).join(format!("{chart}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{chart}");
    }
    // The digest of the week to the as-of, against counts taken from the files themselves.
    let digest = cli.ok(&[&["report", "digest", "--format", "json"][..], &as_of].concat());
    let digest: serde_json::Value = serde_json::from_str(&digest).unwrap();
    let (to, from) = (t("2026-07-01T00:00:00Z"), t("2026-06-24T00:00:00Z"));
    let within = |at: &str| (from..to).contains(&t(at));
    let changes = std::fs::read_to_string(path("stage_changes.csv")).unwrap();
    let rows: Vec<Vec<&str>> = changes.lines().skip(1).map(|l| l.split(',').collect()).collect();
    let entries = |stages: &[&str]| rows.iter().filter(|r| stages.contains(&r[3]) && within(r[1])).count() as u64;
    let leads = std::fs::read_to_string(path("leads.csv")).unwrap();
    let created = leads.lines().skip(1).filter(|l| within(l.rsplit(',').next().unwrap())).count() as u64;
    let current = &digest["current"];
    assert_eq!(current["won"].as_u64(), Some(entries(&["won"])), "{current}");
    assert_eq!(current["lost"].as_u64(), Some(entries(&["lost", "disqualified"])), "{current}");
    assert_eq!(current["created"].as_u64(), Some(created), "{current}");
    assert!(current["won"].as_u64().unwrap() > 0 && created > 0, "a week with something in it: {current}");
    let markdown = cli.file("digest.md", "");
    cli.ok(&[&["report", "digest", "--out", &markdown][..], &as_of].concat());
    let markdown = std::fs::read_to_string(&markdown).unwrap();
    assert!(markdown.starts_with("# `sales`: the 7 days to 2026-07-01T00:00:00"), "{markdown}");
    let won_line = format!("| Won | {} | {} |", current["won"], digest["previous"]["won"]);
    assert!(markdown.contains(&won_line), "{markdown}");

    // A cohort: the leads created in 2026 from referrals.
    let referrals = cli.ok(&[
        &["report", "pipeline", "--created-from", "2026-01-01", "--source", "referral", "--format", "json"][..],
        &as_of,
    ]
    .concat());
    let referrals: serde_json::Value = serde_json::from_str(&referrals).unwrap();
    assert_eq!(referrals["sources"].as_array().unwrap().len(), 1);
    assert!(referrals["leads"].as_u64().unwrap() > 0 && referrals["leads"].as_u64().unwrap() < 3000);
    // Touchpoints judged by how leads closed in the pipeline: the workload has no events, so
    // only the fit rules and the outcome counts say anything; every closed lead is there.
    let touch = cli.ok(&["report", "touchpoints", "--pipeline", "--format", "json"]);
    let touch: serde_json::Value = serde_json::from_str(&touch).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&cli.ok(&[&["report", "pipeline", "--format", "json"][..], &as_of].concat())).unwrap();
    let closed: u64 = report["owners"].as_array().unwrap().iter().map(|o| o["won"].as_u64().unwrap()).sum();
    assert_eq!(touch["converted"].as_u64(), Some(closed), "the pipeline's won leads: {touch}");
    let reps = cli.ok(&[&["report", "reps"][..], &as_of].concat());
    assert!(reps.lines().any(|l| l.starts_with("central00@yourco.example") && l.contains("68")), "{reps}");
    let reps_csv = cli.ok(&[&["report", "reps", "--format", "csv"][..], &as_of].concat());
    assert_eq!(reps_csv.lines().count(), 1 + 34, "a header and the 34 owners");
    // The leads were scored at their import, after the history: no MQL has a score from before.
    let model = cli.ok(&[&["report", "model", "--format", "json"][..], &as_of].concat());
    let model: serde_json::Value = serde_json::from_str(&model).unwrap();
    let unscored = model["buckets"].as_array().unwrap().iter().find(|b| b["name"] == "unscored").unwrap();
    let mqls: u64 = model["periods"].as_array().unwrap().iter().map(|m| m["mqls"].as_u64().unwrap()).sum();
    assert_eq!(unscored["leads"].as_u64(), Some(mqls));
    let quarterly = cli.ok(&[&["report", "model", "--period", "quarter", "--format", "json"][..], &as_of].concat());
    let quarterly: serde_json::Value = serde_json::from_str(&quarterly).unwrap();
    let by_quarter: u64 = quarterly["periods"].as_array().unwrap().iter().map(|m| m["mqls"].as_u64().unwrap()).sum();
    assert_eq!(by_quarter, mqls, "the same MQLs, by quarter");
    assert!(quarterly["periods"].as_array().unwrap().len() * 3 >= model["periods"].as_array().unwrap().len());
    let out = cli.run(&["report", "pipeline", "--funnel", "mql,nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no stage `nowhere`"));
}

/// `leadflow report funnel --from 2026-01-01 --by source` and every other split: each accounts
/// for every lead of the cohort and of every step (those that went on plus those it says where
/// they are), and its groups are what the files say.
#[test]
fn the_funnel_splits_a_cohort_and_accounts_for_every_lead() {
    let cli = Cli::new();
    let bench = workspace_root().join("../shared/bench/pipeline/small");
    let path = |name: &str| bench.join(name).to_str().unwrap().to_string();
    cli.ok(&["init"]);
    cli.ok(&["pipeline", "apply", workspace_root().join("bench/pipeline/sales.toml").to_str().unwrap()]);
    cli.ok(&["import", "leads", &path("leads.csv"), "--pipeline", "sales"]);
    cli.ok(&["import", "changes", &path("stage_changes.csv")]);
    let as_of = ["--as-of", "2026-07-01T00:00:00Z"];
    let funnel = |args: &[&str]| -> Value {
        let args = [&["report", "funnel", "--format", "json"][..], &as_of, args].concat();
        serde_json::from_str(&cli.ok(&args)).unwrap()
    };
    // The cohort, counted from the file: leads created from 2026 on, by source and by month.
    let leads = std::fs::read_to_string(path("leads.csv")).unwrap();
    let cohort: Vec<Vec<&str>> = leads
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .filter(|r| t(r[5]) >= t("2026-01-01"))
        .collect();
    let count_by = |key: &dyn Fn(&[&str]) -> String| {
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for row in &cohort {
            *counts.entry(key(row)).or_default() += 1;
        }
        counts
    };
    let groups_of = |report: &Value| -> std::collections::BTreeMap<String, u64> {
        let groups = report["breakdown"]["groups"].as_array().unwrap();
        groups.iter().map(|g| (g["value"].as_str().unwrap_or("").to_string(), g["leads"].as_u64().unwrap())).collect()
    };
    let by_source = funnel(&["--from", "2026-01-01", "--by", "source"]);
    assert_eq!(by_source["leads"].as_u64(), Some(cohort.len() as u64));
    assert_eq!(groups_of(&by_source), count_by(&|r| r[4].to_string()));
    let by_month = funnel(&["--from", "2026-01-01", "--by", "month"]);
    assert_eq!(groups_of(&by_month), count_by(&|r| r[5][..7].to_string()));

    let steps = |conversion: &Value| -> Vec<(u64, u64, u64)> {
        conversion
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let d = &c["dropped"];
                let elsewhere = ["stalled", "skipped", "recycled", "lost", "disqualified", "won", "left"]
                    .iter()
                    .map(|k| d[k].as_u64().unwrap())
                    .sum::<u64>();
                (c["reached"].as_u64().unwrap(), c["converted"].as_u64().unwrap(), elsewhere)
            })
            .collect()
    };
    for by in ["source", "owner", "team", "campaign", "landing_page", "bucket", "grade", "month"] {
        let report = funnel(&["--from", "2026-01-01", "--by", by]);
        let total = steps(&report["conversion"]);
        assert!(total.iter().all(|&(reached, converted, elsewhere)| converted + elsewhere == reached), "{by}");
        let groups = report["breakdown"]["groups"].as_array().unwrap();
        assert_eq!(groups.iter().map(|g| g["leads"].as_u64().unwrap()).sum::<u64>(), cohort.len() as u64, "{by}");
        let mut summed = vec![(0, 0, 0); total.len()];
        for group in groups {
            for (sum, (reached, converted, elsewhere)) in summed.iter_mut().zip(steps(&group["conversion"])) {
                assert_eq!(converted + elsewhere, reached, "{by}: {group}");
                *sum = (sum.0 + reached, sum.1 + converted, sum.2 + elsewhere);
            }
        }
        assert_eq!(summed, total, "{by}: the groups add up to the whole");
    }
    // The workload has lost leads with reasons, and some that qualified later than 2026.
    let whole = funnel(&[]);
    let lost: u64 =
        whole["conversion"].as_array().unwrap().iter().map(|c| c["dropped"]["lost"].as_u64().unwrap()).sum();
    assert!(lost > 0 && whole["conversion"][0]["dropped"]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    let qualified = funnel(&["--from", "2026-01-01", "--cohort", "qualified"]);
    let pipeline: Value = serde_json::from_str(
        &cli.ok(&[&["report", "pipeline", "--qualified-from", "2026-01-01", "--format", "json"][..], &as_of].concat()),
    )
    .unwrap();
    assert_eq!(qualified["leads"], pipeline["leads"]);
    assert_eq!(qualified["conversion"], pipeline["conversion"]);

    let table = cli.ok(&[&["report", "funnel", "--from", "2026-01-01", "--by", "source"][..], &as_of].concat());
    assert!(table.contains("funnel by source"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("organic ")), "{table}");
    let csv = cli.ok(&[&["report", "funnel", "--by", "owner", "--format", "csv"][..], &as_of].concat());
    assert!(csv.lines().any(|l| l.starts_with("funnel_by_owner,")), "{csv}");
    assert!(csv.lines().all(|l| l.split(',').count() == 4), "one tidy table");
    let out = cli.run(&["report", "funnel", "--from", "2026-02-01", "--to", "2026-01-01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from must be before --to"));
}

#[test]
fn the_pipeline_report_gives_the_reference_figures_on_postgres() {
    the_reference_figures_on(Cli::on_postgres());
}

fn the_reference_figures_on(cli: Cli) {
    let bench = workspace_root().join("../shared/bench/pipeline/small");
    assert!(bench.join("leads.csv").exists(), "the pipeline benchmark's workload is expected at {}", bench.display());
    let path = |name: &str| bench.join(name).to_str().unwrap().to_string();
    cli.ok(&["init"]);
    cli.ok(&["pipeline", "apply", workspace_root().join("bench/pipeline/sales.toml").to_str().unwrap()]);
    cli.ok(&["import", "leads", &path("leads.csv"), "--pipeline", "sales", "--no-rescore"]);
    let out = cli.ok(&["import", "changes", &path("stage_changes.csv")]);
    assert!(out.contains("4905 recorded for 1797 leads, 0 already recorded"), "{out}");
    let report = || -> Value {
        serde_json::from_str(&cli.ok(&["report", "pipeline", "--as-of", "2026-07-01T00:00:00Z", "--format", "json"]))
            .unwrap()
    };
    let ours = report();
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(bench.join("reports.json")).unwrap()).unwrap();
    compare(&expected, &ours);

    // The same file again: every row is in the log already, and the figures stay.
    let out = cli.ok(&["import", "changes", &path("stage_changes.csv")]);
    assert!(
        out.contains("0 recorded for 0 leads, 4905 already recorded, 0 rows of other fields passed over, 0 rejected"),
        "{out}"
    );
    assert_eq!(report(), ours);
}

/// Rounded as the reference rounds (Python's `round(x, 6)`: to the nearest, on the exact value).
fn round6(x: &Value) -> Value {
    match x.as_f64() {
        Some(f) => Value::from(format!("{f:.6}").parse::<f64>().unwrap()),
        None => Value::Null,
    }
}

fn by<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item[key].as_str() == Some(value))
        .unwrap_or_else(|| panic!("no {key} `{value}` in {list}"))
}

fn compare(expected: &Value, ours: &Value) {
    for (stage, n) in expected["reached"].as_object().unwrap() {
        assert_eq!(&by(&ours["stages"], "stage", stage)["reached"], n, "reached[{stage}]");
    }
    for (pair, rate) in expected["conversion"].as_object().unwrap() {
        let (from, to) = pair.split_once("->").unwrap();
        let found = ours["conversion"].as_array().unwrap().iter().find(|c| c["from"] == from && c["to"] == to);
        assert_eq!(
            round6(&found.unwrap_or_else(|| panic!("no conversion {pair}"))["rate"]),
            *rate,
            "conversion {pair}"
        );
    }
    for (stage, figures) in expected["time_in_stage"].as_object().unwrap() {
        let ours = by(&ours["stages"], "stage", stage);
        assert_eq!(ours["open"], figures.get("open").cloned().unwrap_or(Value::from(0)), "open visits of {stage}");
        assert_eq!(ours["completed"], figures.get("completed").cloned().unwrap_or(Value::from(0)), "completed {stage}");
        for figure in ["median_days", "p90_days"] {
            let theirs = figures.get(figure).cloned().unwrap_or(Value::Null);
            assert_eq!(round6(&ours[figure]), theirs, "{figure} of {stage}");
        }
    }
    let owners = ours["owners"].as_array().unwrap();
    assert_eq!(owners.len(), expected["owners"].as_object().unwrap().len(), "every owner, no other");
    for (owner, figures) in expected["owners"].as_object().unwrap() {
        let ours = by(&ours["owners"], "owner", owner);
        for figure in ["leads", "won", "lost"] {
            assert_eq!(ours[figure], figures[figure], "{figure} of {owner}");
        }
        for figure in ["win_rate", "median_days_to_won"] {
            assert_eq!(round6(&ours[figure]), figures[figure], "{figure} of {owner}");
        }
    }
    let months = ours["months"].as_array().unwrap();
    let counted: Vec<&Value> = months.iter().filter(|m| m["mqls"] != 0).collect();
    assert_eq!(counted.len(), expected["mql_per_month"].as_object().unwrap().len(), "every month with MQLs, no other");
    for (month, n) in expected["mql_per_month"].as_object().unwrap() {
        assert_eq!(&by(&ours["months"], "month", month)["mqls"], n, "MQLs in {month}");
    }
    for (month, rate) in expected["lead_velocity_rate"].as_object().unwrap() {
        assert_eq!(round6(&by(&ours["months"], "month", month)["velocity_rate"]), *rate, "velocity in {month}");
    }
    assert_eq!(ours["sources"].as_array().unwrap().len(), expected["sources"].as_object().unwrap().len());
    for (source, figures) in expected["sources"].as_object().unwrap() {
        let ours = by(&ours["sources"], "source", source);
        assert_eq!((&ours["leads"], &ours["won"]), (&figures["leads"], &figures["won"]), "{source}");
        assert_eq!(round6(&ours["conversion"]), figures["conversion"], "conversion of {source}");
    }
    let reasons = ours["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), expected["reasons"].as_object().unwrap().len(), "every reason, no other");
    for (key, n) in expected["reasons"].as_object().unwrap() {
        let (stage, reason) = key.split_once(':').unwrap();
        let found = reasons.iter().find(|r| r["stage"] == stage && r["reason"] == reason);
        assert_eq!(&found.unwrap_or_else(|| panic!("no reason {key}"))["count"], n, "{key}");
    }
}
