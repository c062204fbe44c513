//! A CLI import beside a running `leadflow serve` on one database, both real processes: the
//! server's writes wait for the import's write lock (bounded) and answer 503 with Retry-After
//! when they cannot, never 500; and the server sees what the other process committed at once,
//! a crashed import's events included.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::{Cli, ServeProcess, import_killed_after, key, stats};

fn events_csv(prefix: &str, rows: usize, leads: usize) -> String {
    let mut csv = String::from("event_id,email,type,url,ts\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "{prefix}{i},lead{}@bulk.example,page_view,/p{},2026-10-{:02}T10:00:00Z\n",
            i % leads,
            i % 7,
            1 + i % 28
        ));
    }
    csv
}

fn timeline_len(server: &ServeProcess, admin: &str, email: &str) -> usize {
    let (status, _, body) = server.call(admin, "GET", &format!("/v1/leads/{email}?timeline=1000"), None);
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    view["timeline"].as_array().unwrap().len()
}

#[test]
fn an_import_beside_a_running_server() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let (admin, marketing) = (key(&cli, "admin"), key(&cli, "marketing"));
    let server = ServeProcess::start(&cli, &[("LEADFLOW_SERVER__RATE_LIMIT__PER_SECOND", "0")]);
    let events = cli.file("events.csv", &events_csv("b", 200_000, 2_000));

    // Single events posted while the import runs, from two clients.
    let done = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..2)
        .map(|c| {
            let (done, answers, addr, marketing) =
                (done.clone(), answers.clone(), server.addr.clone(), marketing.clone());
            std::thread::spawn(move || {
                let server = ServeProcess::attach(addr);
                let mut i = 0;
                while !done.load(Ordering::Relaxed) || i < 5 {
                    let body =
                        format!(r#"{{"id": "live-{c}-{i}", "email": "live{c}@acme.example", "type": "page_view"}}"#);
                    let (status, head, body) = server.call(&marketing, "POST", "/v1/events", Some(&body));
                    answers.lock().unwrap().push((status, head, body));
                    i += 1;
                }
            })
        })
        .collect();
    let import = cli.run(&["import", "events", &events, "--batch", "20000"]);
    done.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let answers = answers.lock().unwrap();
    assert!(!answers.is_empty());
    for (status, head, body) in answers.iter() {
        match status {
            200 => {}
            503 => {
                assert!(body.contains("\"busy\"") || body.contains("\"timeout\""), "{body}");
                assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(answers.iter().any(|(s, _, _)| *s == 200), "the server kept writing during the import");
    // What the import committed, the server shows at once: 100 events for each lead.
    assert_eq!(timeline_len(&server, &admin, "lead7@bulk.example"), 100);
}

#[test]
fn a_crashed_imports_events_are_seen_by_a_running_server() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    let (admin, marketing) = (key(&cli, "admin"), key(&cli, "marketing"));
    let server = ServeProcess::start(&cli, &[]);
    let events = cli.file("events.csv", &events_csv("k", 60_000, 50));
    import_killed_after(&cli, &events, 5_000);
    // Whole batches of 1,000 landed, and the file names its 50 leads in turn: lead0 has a 50th.
    let committed = stats(&cli)["events"].as_u64().unwrap() as usize;
    assert_eq!(committed % 1000, 0, "{committed}");
    let lead0 = committed / 50;
    assert!(lead0 > 0);
    assert!(stats(&cli)["deferred_events"].as_u64().unwrap() > 0, "the import was cut before finishing");

    // A read sees every committed event, before anything finished the import.
    assert_eq!(timeline_len(&server, &admin, "lead0@bulk.example"), lead0);
    // A write scores from all of them too: the stored score is the one a recomputation gives.
    let (status, _, body) = server.call(
        &marketing,
        "POST",
        "/v1/events",
        Some(r#"{"id": "after-crash", "email": "lead0@bulk.example", "type": "demo_requested"}"#),
    );
    assert_eq!(status, 200, "{body}");
    let answered: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (_, _, body) = server.call(&admin, "GET", "/v1/leads/lead0@bulk.example", None);
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(timeline_len(&server, &admin, "lead0@bulk.example"), lead0 + 1);
    let (stored, explained) =
        (answered["score"]["total"].as_f64().unwrap(), view["explanation"]["card"]["total"].as_f64().unwrap());
    assert!((stored - explained).abs() < 0.01, "stored {stored}, recomputed {explained}");
    assert_eq!(stats(&cli)["deferred_events"], 0, "the write finished the import");
    assert_eq!(cli.ok(&["verify"]).trim(), "the database is consistent");
}
