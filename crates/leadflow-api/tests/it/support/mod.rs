//! The real server on 127.0.0.1:0 with a fresh database, for the integration tests.
#![allow(dead_code)] // each test binary uses its own part of this

use leadflow_store::prelude::*;
use std::sync::Arc;

use leadflow_api::ServerConfig;
use leadflow_core::Role;
use leadflow_engine::{Engine, Quiet, SystemClock};
use leadflow_sqlite::SqliteStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct Server {
    pub base: String,
    pub keys: Vec<(Role, String)>,
    pub client: reqwest::Client,
    pub state: leadflow_api::AppState<leadflow_sqlite::SqliteStore>,
    pub dir: std::sync::Arc<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(ServerConfig::default()).await
    }

    /// A server on a fresh database with the example model and one key per role (named
    /// `<role>@yourco.example`). Webhooks are delivered only when a test asks.
    pub async fn start_with(mut config: ServerConfig) -> Server {
        config.webhooks.poll_interval_ms = 0;
        let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
        let mut engine = Engine::new(SqliteStore::open(&dir.path().join("api.db")).unwrap(), Arc::new(SystemClock));
        engine.apply_model(leadflow_core::model::DEFAULT_MODEL_SOURCE, &Quiet).unwrap();
        let mut keys = Vec::new();
        // A sales key is a user's.
        let sales = format!("{}@yourco.example", Role::Sales);
        let user = leadflow_core::team::UserSpec::new(&sales, "Europe/Berlin");
        engine.put_user(&leadflow_core::team::User::build(user).unwrap()).unwrap();
        for role in Role::ALL {
            let (_, secret) = engine.create_api_key(&format!("{role}@yourco.example"), role).unwrap();
            keys.push((role, secret));
        }
        Server::serve(engine, config, dir, keys).await
    }

    /// Another server process on the same database, as after a restart.
    pub async fn restart(mut self, config: ServerConfig) -> Server {
        self.stop().await;
        let engine = Engine::new(SqliteStore::open(&self.dir.path().join("api.db")).unwrap(), Arc::new(SystemClock));
        Server::serve(engine, config, self.dir.clone(), self.keys.clone()).await
    }

    async fn serve(
        engine: Engine<SqliteStore>,
        mut config: ServerConfig,
        dir: std::sync::Arc<tempfile::TempDir>,
        keys: Vec<(Role, String)>,
    ) -> Server {
        config.webhooks.poll_interval_ms = 0;
        let state = leadflow_api::AppState::new(engine, config).unwrap();
        let (listener, addr) = leadflow_api::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(leadflow_api::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Server {
            base: format!("http://{addr}"),
            keys,
            client: {
                leadflow_api::install_tls_provider();
                reqwest::Client::new()
            },
            state,
            dir,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Stops gracefully and waits until the server has.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            served.await.unwrap().unwrap();
        }
    }

    pub fn key(&self, role: Role) -> &str {
        &self.keys.iter().find(|(r, _)| *r == role).unwrap().1
    }

    pub async fn call(
        &self,
        role: Option<Role>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(role) = role {
            req = req.bearer_auth(self.key(role));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(Some(Role::Admin), method, path, body).await
    }

    /// The outcomes in the server's database, read directly.
    pub async fn state_outcomes(&self) -> Vec<(leadflow_core::LeadId, leadflow_core::Outcome)> {
        SqliteStore::open_reader(&self.dir.path().join("api.db")).unwrap().outcomes().unwrap()
    }

    pub async fn events_stored(&self) -> usize {
        let (_, leads) = self.admin(Method::GET, "/v1/leads?limit=500", None).await;
        let mut n = 0;
        for lead in leads["leads"].as_array().unwrap() {
            let (_, view) = self.admin(Method::GET, &format!("/v1/leads/{}", lead["id"]), None).await;
            n += view["timeline"].as_array().unwrap().len();
        }
        n
    }
}
