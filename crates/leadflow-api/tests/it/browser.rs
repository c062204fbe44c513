//! The tracking snippet in a real browser (Chromium driven by Playwright, see tests/browser/).
//! Needs `/usr/bin/chromium` (or LEADFLOW_CHROMIUM) and `npm ci` in tests/browser: `.ci/run`
//! installs both.

use std::path::Path;

use crate::support::Server;
use leadflow_core::Role;

/// Runs one of the scripts in tests/browser against a fresh server; returns what it printed.
async fn run_script(script: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "run `npm ci` in {} (and install Chromium): .ci/run does both",
        dir.display()
    );
    let s = Server::start().await;
    let out = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .arg(&s.base)
        .arg(s.key(Role::Admin))
        .output()
        .await
        .expect("node runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_in_chromium_is_tracked_then_joins_their_lead() {
    let out = run_script("tracking.mjs").await;
    assert!(out.contains("pricing_page"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docs_page_works_offline_in_chromium() {
    let out = run_script("docs.mjs").await;
    assert!(out.contains("\"status\":\"200"), "{out}");
}
