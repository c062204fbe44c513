//! A real SMTP server for tests (feature `testing`): aiosmtpd, run by `tests/smtp_sink.py`,
//! keeping every message it accepts with its envelope; and a DKIM key pair to sign with.
//!
//! `scripts/test` installs aiosmtpd and dkimpy into `target/mail-sink` (PyPI, pinned in
//! `tests/requirements.txt`); the sink finds that python, or `LEADFLOW_MAIL_PYTHON`, and fails
//! (never skips) without one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An RSA key (PKCS#1 PEM) for tests only; `tests/dkim-test-key.pub` is its public half.
pub const DKIM_TEST_KEY: &str = include_str!("../tests/dkim-test-key.pem");

/// A running aiosmtpd and the directory it writes what it accepts to; stopped when dropped.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("LEADFLOW_MAIL_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/mail-sink/bin/python");
    assert!(
        venv.exists(),
        "the mail tests need aiosmtpd and dkimpy: run scripts/test (it installs them into target/mail-sink), \
         or set LEADFLOW_MAIL_PYTHON to a python that has them"
    );
    venv
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl SmtpSink {
    /// Starts one on a free port of 127.0.0.1.
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(python())
            .arg(script("smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");
        SmtpSink { child, dir, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message taken so far, as (raw message, envelope sender), in order.
    pub fn messages(&self) -> Vec<(String, String)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let envelope = std::fs::read_to_string(p.with_extension("json")).unwrap();
                let envelope: serde_json::Value = serde_json::from_str(&envelope).unwrap();
                (std::fs::read_to_string(&p).unwrap(), envelope["mail_from"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Whether the message's DKIM signature verifies against [`DKIM_TEST_KEY`]'s public half.
    pub fn dkim_verifies(&self, message: &str) -> bool {
        let file = self.dir.path().join("dkim-check.txt");
        std::fs::write(&file, message).unwrap();
        let status = Command::new(python())
            .arg(script("verify_dkim.py"))
            .arg(&file)
            .arg(script("dkim-test-key.pub"))
            .stdout(Stdio::null())
            .status()
            .unwrap();
        status.success()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as it would read with its quoted-printable parts decoded (soft line breaks
/// joined, `=XX` as the byte): what links and text in it are once a mail client shows it.
pub fn unfolded(message: &str) -> String {
    let joined = message.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()).filter(|_| bytes[i] == b'=') {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
