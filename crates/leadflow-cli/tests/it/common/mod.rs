//! Running the real `leadflow` binary against a fresh database.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub struct Cli {
    pub dir: tempfile::TempDir,
    /// On PostgreSQL: the test server's schema the commands run on (else the file `db()`).
    postgres: Option<leadflow_postgres::testing::Schema>,
}

impl Cli {
    /// On a fresh embedded database.
    pub fn new() -> Cli {
        Cli { dir: tempfile::tempdir().unwrap(), postgres: None }
    }

    /// On a fresh PostgreSQL database (a schema of its own on `LEADFLOW_TEST_PG_URL`).
    pub fn on_postgres() -> Cli {
        Cli { dir: tempfile::tempdir().unwrap(), postgres: Some(leadflow_postgres::testing::Schema::create()) }
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("leadflow.db")
    }

    /// The arguments that name the database.
    pub fn database_args(&self) -> Vec<String> {
        match &self.postgres {
            Some(schema) => vec!["--database-url".into(), schema.url()],
            None => vec!["--db".into(), self.db().to_str().unwrap().into()],
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_leadflow"))
            .args(self.database_args())
            .args(args)
            .env_remove("LEADFLOW_DB")
            .env_remove("LEADFLOW_DATABASE_URL")
            .output()
            .unwrap()
    }

    /// Runs and expects success; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "leadflow {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn file(&self, name: &str, contents: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).unwrap();
        p.to_str().unwrap().to_string()
    }
}

/// `leadflow stats --json`: what the database holds, read the way a user would (without
/// finishing anything another process is doing).
pub fn stats(cli: &Cli) -> serde_json::Value {
    serde_json::from_str(&cli.ok(&["stats", "--json"])).unwrap()
}

/// How many events the database holds.
pub fn events_stored(cli: &Cli) -> u64 {
    stats(cli)["events"].as_u64().unwrap()
}

/// One HTTP/1.1 request over a plain socket; returns the status code and the body.
pub fn http(addr: &str, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// `leadflow serve` as its own process on a free port of 127.0.0.1, stopped (SIGKILL) when dropped.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub addr: String,
}

impl ServeProcess {
    pub fn start(cli: &Cli, envs: &[(&str, &str)]) -> ServeProcess {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadflow"))
            .args(cli.database_args())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .envs(envs.iter().copied())
            .env_remove("LEADFLOW_DB")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let addr = first.trim().rsplit("http://").next().unwrap().to_string();
        ServeProcess { child, addr }
    }

    /// A request with a bearer key; returns the status, the raw head and the body.
    pub fn call(&self, key: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
        call(&self.addr, key, method, path, body)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a key with the role and returns its secret.
pub fn key(cli: &Cli, role: &str) -> String {
    let created = cli.ok(&["keys", "create", "--name", &format!("{role}-key"), "--role", role]);
    created.split_whitespace().find(|w| w.starts_with("lf_")).expect("the secret is printed").to_string()
}

impl ServeProcess {
    /// Another handle on a server started elsewhere (for client threads); it stops nothing.
    pub fn attach(addr: String) -> ServeClient {
        ServeClient { addr }
    }
}

/// A client of a [`ServeProcess`], for other threads.
pub struct ServeClient {
    addr: String,
}

impl ServeClient {
    pub fn call(&self, key: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
        call(&self.addr, key, method, path, body)
    }
}

/// One request with a bearer key over a new connection; returns the status, the head and the body.
pub fn call(addr: &str, key: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
    try_call(addr, key, method, path, body).expect("the server answers")
}

/// [`call`], or `None` when the server does not answer (it is gone).
pub fn try_call(addr: &str, key: &str, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String, String)> {
    use std::io::{Read, Write};
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_string(), body.to_string()))
}

/// Starts `leadflow import events FILE --batch 1000`, waits until at least `events` are
/// committed, and kills it without warning (SIGKILL), as a crash would.
pub fn import_killed_after(cli: &Cli, file: &str, events: i64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadflow"))
        .args(["--db", cli.db().to_str().unwrap(), "import", "events", file, "--batch", "1000"])
        .env_remove("LEADFLOW_DB")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while events_stored(cli) < events as u64 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
