//! What every request shares: writing engines (`server.writers`), a pool of reading engines, and
//! the ingest queue that commits concurrent single events together.
//!
//! SQLite lets one connection write while others read (WAL), so reads never wait behind a
//! write's fsync; it has one writer, whose mutex serializes writes as SQLite would. PostgreSQL
//! may have several: each takes a group from the queue while the others commit theirs, and units
//! of work that score the same lead queue in the database (`Transaction::hold_for_scoring`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};

use leadflow_core::Timestamp;
use leadflow_engine::{
    BatchItem, Clock, Engine, EventInput, IdentitySecret, JobRound, JobSettings, NurtureSettings, Scored,
};
use leadflow_store::Backend;

use crate::client_addr::Network;
use crate::config::{RateLimitConfig, ServerConfig};
use crate::error::{ApiError, ErrorCode};
use crate::limits::RateLimiter;
use crate::metrics::Metrics;

/// One single-event request waiting for its group's commit.
struct Pending {
    input: EventInput,
    reply: oneshot::Sender<Result<(BatchItem, Option<Scored>), ApiError>>,
}

pub struct AppState<S: Backend> {
    writers: Arc<Vec<Mutex<Engine<S>>>>,
    next_writer: Arc<AtomicUsize>,
    readers: Arc<Vec<Mutex<Engine<S>>>>,
    next_reader: Arc<AtomicUsize>,
    /// The job worker's own connection: a scheduled rescore takes a minute, and holds no writer
    /// of the requests' meanwhile.
    jobs: Arc<Mutex<Engine<S>>>,
    ingest: mpsc::Sender<Pending>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) limiter: Arc<RateLimiter>,
    pub(crate) tracking_limiter: Arc<RateLimiter>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) trusted_proxies: Arc<Vec<Network>>,
    /// Signs and checks identity tokens; `None` when `tracking.identity_secret` is empty.
    pub(crate) identity: Option<IdentitySecret>,
    /// How sequences run and send; `None` while `mail.smtp_host` is empty.
    pub(crate) nurture: Option<NurtureSettings>,
    clock: Arc<dyn Clock>,
}

/// Why a server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] leadflow_store::StoreError),
    #[error("configuration: {0}")]
    Config(String),
}

// Not derived: that would ask `S: Clone`, and only the handles are cloned.
impl<S: Backend> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            writers: self.writers.clone(),
            next_writer: self.next_writer.clone(),
            readers: self.readers.clone(),
            next_reader: self.next_reader.clone(),
            jobs: self.jobs.clone(),
            ingest: self.ingest.clone(),
            config: self.config.clone(),
            limiter: self.limiter.clone(),
            tracking_limiter: self.tracking_limiter.clone(),
            metrics: self.metrics.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            identity: self.identity.clone(),
            nurture: self.nurture.clone(),
            clock: self.clock.clone(),
        }
    }
}

impl<S: Backend> AppState<S> {
    /// Serves `engine`'s database: `engine` and `config.writers - 1` more connections write,
    /// `config.readers` more read.
    pub fn new(engine: Engine<S>, config: ServerConfig) -> Result<AppState<S>, StartError> {
        if config.writers > 1 && !S::CONCURRENT_WRITERS {
            return Err(StartError::Config(format!(
                "server.writers = {}: {} writes one transaction at a time, so more writers would only wait \
                 on each other; use 1 (or PostgreSQL, which takes several)",
                config.writers,
                engine.store().url().backend()
            )));
        }
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|p| Network::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StartError::Config(format!("server.trusted_proxies: {e}")))?;
        let identity = match config.tracking.identity_secret.as_str() {
            "" => None,
            secret => Some(
                IdentitySecret::new(secret)
                    .map_err(|e| StartError::Config(format!("server.tracking.identity_secret: {e}")))?,
            ),
        };
        let nurture = config.mail.nurture().map_err(StartError::Config)?;
        let (url, clock) = (engine.store().url(), engine.clock());
        let statement_timeout =
            (config.statement_timeout_ms > 0).then(|| std::time::Duration::from_millis(config.statement_timeout_ms));
        let tuned = |mut engine: Engine<S>, writes: bool| -> Result<Mutex<Engine<S>>, StartError> {
            if writes {
                engine.store_mut().set_write_wait(std::time::Duration::from_millis(config.write_wait_ms))?;
            }
            engine.store_mut().set_statement_timeout(statement_timeout)?;
            Ok(Mutex::new(engine))
        };
        let mut writers = vec![tuned(engine, true)?];
        for _ in 1..config.writers.max(1) {
            writers.push(tuned(Engine::new(S::open(&url)?, clock.clone()), true)?);
        }
        let mut readers = Vec::with_capacity(config.readers.max(1));
        for _ in 0..config.readers.max(1) {
            readers.push(tuned(Engine::new(S::open_reader(&url)?, clock.clone()), false)?);
        }
        let jobs = Arc::new(tuned(Engine::new(S::open(&url)?, clock.clone()), true)?);
        let writers = Arc::new(writers);
        let (ingest, queue) = mpsc::channel(config.ingest_queue.max(1));
        let queue = Arc::new(Mutex::new(queue));
        let group_max = config.ingest_group_max.max(1);
        let metrics = Arc::new(Metrics::new());
        for writer in 0..writers.len() {
            let (writers, queue, metrics) = (writers.clone(), queue.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("leadflow-ingest-{writer}"))
                .spawn(move || commit_groups(&writers[writer], &queue, group_max, &metrics))
                .expect("spawning an ingest thread");
        }
        Ok(AppState {
            writers,
            next_writer: Arc::new(AtomicUsize::new(0)),
            readers: Arc::new(readers),
            next_reader: Arc::new(AtomicUsize::new(0)),
            jobs,
            ingest,
            limiter: Arc::new(RateLimiter::new(config.rate_limit)),
            tracking_limiter: Arc::new(RateLimiter::new(RateLimitConfig {
                per_second: config.tracking.per_ip_per_second,
                burst: config.tracking.per_ip_per_second.saturating_mul(2),
            })),
            config: Arc::new(config),
            metrics,
            trusted_proxies: Arc::new(trusted_proxies),
            identity,
            nurture,
            clock,
        })
    }

    /// When the scheduled jobs run, as configured.
    pub fn job_settings(&self) -> JobSettings {
        let (jobs, tracking) = (&self.config.jobs, &self.config.tracking);
        JobSettings {
            rescore_every: (jobs.rescore_every_minutes > 0)
                .then(|| std::time::Duration::from_secs(jobs.rescore_every_minutes.saturating_mul(60))),
            anonymous_retention_days: (tracking.anonymous_retention_days > 0)
                .then_some(tracking.anonymous_retention_days),
            keep_finished_days: jobs.keep_finished_days,
            pipeline_sweep_every: (jobs.pipeline_sweep_every_seconds > 0)
                .then(|| std::time::Duration::from_secs(jobs.pipeline_sweep_every_seconds)),
            digest: jobs.digest_dir.clone().map(|dir| Arc::new(crate::digest_files::DigestFiles::new(dir)) as _),
            nurture: self.nurture.clone(),
        }
    }

    /// Queues the current slot of every scheduled job (once, however many servers start).
    pub async fn schedule_jobs(&self) -> Result<(), ApiError> {
        let settings = self.job_settings();
        self.with_jobs_engine(move |engine| Ok(engine.schedule_jobs(&settings)?)).await
    }

    /// Runs the jobs due now: what the background worker does on each tick.
    pub async fn run_due_jobs(&self) -> Result<JobRound, ApiError> {
        let settings = self.job_settings();
        self.with_jobs_engine(move |engine| Ok(engine.run_due_jobs(&settings, 100)?)).await
    }

    async fn with_jobs_engine<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<S>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let jobs = self.jobs.clone();
        blocking(move || f(&mut lock(&jobs))).await
    }

    /// Sends the webhook deliveries due now: what the background worker does on each tick.
    pub async fn deliver_due(&self, client: &reqwest::Client) -> Result<crate::delivery::DeliveryRound, ApiError> {
        crate::delivery::deliver_due(self, client).await
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs `f` with the writing engine on a blocking thread.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<S>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (writers, start) = (self.writers.clone(), self.next_writer.fetch_add(1, Ordering::Relaxed));
        blocking(move || f(&mut any_free(&writers, start))).await
    }

    /// Runs `f` with a reading engine on a blocking thread: it sees the last committed state.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine<S>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let (readers, start) = (self.readers.clone(), self.next_reader.fetch_add(1, Ordering::Relaxed));
        blocking(move || f(&mut any_free(&readers, start))).await
    }

    /// Records one event, committed together with the other single events that arrive while
    /// the previous group commits: one fsync for many requests.
    pub(crate) async fn track(&self, input: EventInput) -> Result<(BatchItem, Option<Scored>), ApiError> {
        let (reply, answer) = oneshot::channel();
        self.ingest.send(Pending { input, reply }).await.map_err(|_| shutting_down())?;
        answer.await.map_err(|_| shutting_down())?
    }
}

/// The first engine of `pool` not in use, looking from `start` (callers take turns), or else
/// the one at `start` once it is free.
fn any_free<S: Backend>(pool: &[Mutex<Engine<S>>], start: usize) -> MutexGuard<'_, Engine<S>> {
    let n = pool.len();
    let free = (0..n).find_map(|i| pool[(start + i) % n].try_lock().ok());
    free.unwrap_or_else(|| lock(&pool[start % n]))
}

fn lock<S: Backend>(engine: &Mutex<Engine<S>>) -> MutexGuard<'_, Engine<S>> {
    // A panic mid-request leaves no half-written state behind: transactions roll back on drop.
    engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "a request's task failed");
        ApiError::internal()
    })?
}

fn shutting_down() -> ApiError {
    ApiError::new(ErrorCode::ShuttingDown, "the server is shutting down")
}

/// An ingest thread: takes whatever single events are queued (up to `group_max`), records them
/// in one transaction with its writer, answers each request, and goes again. With several
/// writers, one thread takes a group while the others commit theirs.
fn commit_groups<S: Backend>(
    writer: &Mutex<Engine<S>>,
    queue: &Mutex<mpsc::Receiver<Pending>>,
    group_max: usize,
    metrics: &Metrics,
) {
    let mut group = Vec::with_capacity(group_max);
    loop {
        {
            let mut queue = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some(first) = queue.blocking_recv() else { return };
            group.push(first);
            while group.len() < group_max {
                match queue.try_recv() {
                    Ok(p) => group.push(p),
                    Err(_) => break,
                }
            }
        }
        let (inputs, replies): (Vec<_>, Vec<_>) = group.drain(..).map(|p| (p.input, p.reply)).unzip();
        metrics.ingest_group_size.observe(inputs.len() as f64);
        let outcome = lock(writer).track_batch(inputs);
        match outcome {
            Ok(outcome) => {
                for (item, reply) in outcome.items.into_iter().zip(replies) {
                    let scored = match &item {
                        BatchItem::Accepted { lead, .. } => outcome.scores.get(lead).cloned(),
                        _ => None,
                    };
                    let _ = reply.send(Ok((item, scored)));
                }
            }
            Err(e) => {
                let error = ApiError::from(e);
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
