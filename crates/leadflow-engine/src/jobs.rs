//! What the job queue runs, and when.
//!
//! Scheduled work is a chain of jobs, one per time slot: the job of slot `k` of a kind run every
//! `every` is keyed `k` and due at `k × every`, and whoever finishes it queues slot `k + 1` (or
//! the first slot after now, when the servers were down a while) in the same unit of work. Keys
//! are unique per kind, so servers that start at once, or whose chains meet, queue each slot
//! once: the chains merge instead of doubling.
//!
//! A job whose work is all in the database (a sweep) does it in the unit of work that finishes
//! the job, so it is done exactly once however many times it is claimed. A rescore writes in
//! batches of its own and is finished after: if its claimer dies half way, the next claim scores
//! again what the first had not (scoring is idempotent, and a rescore never undoes a newer
//! score; see `Rescans::write_scores`).

use std::sync::Arc;
use std::time::Duration;

use leadflow_core::Timestamp;
use leadflow_store::prelude::*;
use leadflow_store::{Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobRecord, NewJob};

use crate::{Digest, DigestRequest, Engine, EngineError, NurtureSettings, Quiet, RescoreOptions};

/// The kinds of job the engine runs. Webhook deliveries are jobs too
/// ([`leadflow_store::DELIVERY_JOB`]), sent by the server's delivery worker (HTTP is the
/// API's), which claims them with [`Engine::claim_deliveries`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Rescores every lead as of now: decay and inactivity move without anybody asking.
    Rescore,
    /// Deletes anonymous website events nobody identified within the retention.
    ExpireAnonymous,
    /// Deletes finished jobs past their keeping.
    PruneJobs,
    /// Routes the MQLs waiting for a pipeline and ends the cycles past their length.
    PipelineSweep,
    /// Hands each active pipeline's digest of the week to the digest sink, on Mondays.
    Digest,
    /// Enrolls leads by the sequences' rules and runs the enrollments' due steps.
    Nurture,
    /// Sends one planned email (queued by the nurture job, keyed by the send).
    EmailSend,
}

impl JobKind {
    pub const ALL: [JobKind; 7] = [
        JobKind::Rescore,
        JobKind::ExpireAnonymous,
        JobKind::PruneJobs,
        JobKind::PipelineSweep,
        JobKind::Digest,
        JobKind::Nurture,
        JobKind::EmailSend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Rescore => "rescore",
            JobKind::ExpireAnonymous => "expire-anonymous",
            JobKind::PruneJobs => "prune-jobs",
            JobKind::PipelineSweep => "pipeline-sweep",
            JobKind::Digest => "digest",
            JobKind::Nurture => "nurture",
            JobKind::EmailSend => crate::EMAIL_SEND_JOB,
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How long a claim of it lasts: longer than the job takes, or another server would run it
    /// again beside the first. A rescore of a million leads takes a minute here.
    fn lease(self) -> Duration {
        match self {
            JobKind::Rescore => Duration::from_secs(30 * 60),
            JobKind::ExpireAnonymous
            | JobKind::PruneJobs
            | JobKind::PipelineSweep
            | JobKind::Digest
            | JobKind::Nurture
            | JobKind::EmailSend => Duration::from_secs(5 * 60),
        }
    }

    /// Where its slots start, from the Unix epoch (a Thursday): a digest's on Mondays at 08:00
    /// UTC, the rest at multiples of their period.
    fn offset(self) -> Duration {
        match self {
            JobKind::Digest => DIGEST_OFFSET,
            _ => Duration::ZERO,
        }
    }

    fn max_attempts(self) -> u32 {
        match self {
            // A mail server down for a while: doubling from 10 s, the eighth try is 21 min on.
            JobKind::EmailSend => 8,
            _ => 5,
        }
    }
}

/// Where the weekly digest goes: the engine computes it, an adapter delivers it (the server
/// writes files).
pub trait DigestSink: Send + Sync {
    /// Delivers one pipeline's digest; an error is retried, as any job's.
    fn deliver(&self, digest: &Digest) -> Result<(), String>;
}

/// When each scheduled job runs; `None` turns it off.
#[derive(Clone)]
pub struct JobSettings {
    pub rescore_every: Option<Duration>,
    /// Anonymous website events older than this many days go, once an hour.
    pub anonymous_retention_days: Option<u32>,
    /// Finished jobs are kept this many days (to look at), then pruned once a day.
    pub keep_finished_days: u32,
    /// How often the pipeline sweep runs (see `sweep.rs`).
    pub pipeline_sweep_every: Option<Duration>,
    /// Where the digest of each week goes, on Monday at 08:00 UTC (the week before it).
    pub digest: Option<Arc<dyn DigestSink>>,
    /// Nurture sequences run, and their emails go, with these settings (mail configured).
    pub nurture: Option<NurtureSettings>,
}

impl std::fmt::Debug for JobSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSettings")
            .field("schedules", &self.schedules())
            .field("keep_finished_days", &self.keep_finished_days)
            .field("nurture", &self.nurture)
            .finish()
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            rescore_every: Some(Duration::from_secs(3_600)),
            anonymous_retention_days: Some(30),
            keep_finished_days: 7,
            pipeline_sweep_every: Some(MINUTE),
            digest: None,
            nurture: None,
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);
const WEEK: Duration = Duration::from_secs(7 * 86_400);
/// Monday 08:00 from Thursday 00:00.
const DIGEST_OFFSET: Duration = Duration::from_secs(4 * 86_400 + 8 * 3_600);

impl JobSettings {
    /// The scheduled kinds these settings turn on, each with how often it runs.
    pub fn schedules(&self) -> Vec<(JobKind, Duration)> {
        let mut on = Vec::new();
        if let Some(every) = self.rescore_every.filter(|d| !d.is_zero()) {
            on.push((JobKind::Rescore, every));
        }
        if self.anonymous_retention_days.is_some_and(|d| d > 0) {
            on.push((JobKind::ExpireAnonymous, HOUR));
        }
        on.push((JobKind::PruneJobs, DAY));
        if let Some(every) = self.pipeline_sweep_every.filter(|d| !d.is_zero()) {
            on.push((JobKind::PipelineSweep, every));
        }
        if self.digest.is_some() {
            on.push((JobKind::Digest, WEEK));
        }
        if let Some(every) = self.nurture.as_ref().map(|n| n.every).filter(|d| !d.is_zero()) {
            on.push((JobKind::Nurture, every));
        }
        on
    }

    fn every(&self, kind: JobKind) -> Option<Duration> {
        self.schedules().into_iter().find(|(k, _)| *k == kind).map(|(_, every)| every)
    }
}

/// What one round of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobRound {
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
    /// Finished by another claim after this one's lease ran out: this one's result was dropped.
    pub lost: usize,
}

/// How long after its `attempt`-th failure a job is tried again: doubling from 10 seconds, an
/// hour at most.
pub fn retry_delay(attempt: u32) -> Duration {
    let seconds = 10u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    Duration::from_secs(seconds.min(3_600))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The slot of a scheduled job of `kind` that is due at or before `t`.
fn slot_at(kind: JobKind, t: Timestamp, every: Duration) -> i64 {
    let offset = i64::try_from(kind.offset().as_millis()).unwrap_or(0);
    (t.millis() - offset).div_euclid(millis(every))
}

/// When a slot is due.
fn slot_start(kind: JobKind, slot: i64, every: Duration) -> Timestamp {
    let offset = i64::try_from(kind.offset().as_millis()).unwrap_or(0);
    Timestamp::from_millis(slot.saturating_mul(millis(every)).saturating_add(offset))
}

fn queue_slot<T: Transaction>(
    tx: &mut T,
    kind: JobKind,
    every: Duration,
    slot: i64,
    now: Timestamp,
) -> Result<Enqueued, EngineError> {
    let due_at = slot_start(kind, slot, every);
    let key = slot.to_string();
    let job = NewJob::new(kind.as_str(), &key, due_at, "{}", kind.max_attempts());
    Ok(tx.enqueue_job(&job, now)?)
}

/// Queues the slot after `job`'s in its schedule (or the first after now, when the servers were
/// down a while), if its kind is scheduled.
fn queue_next<T: Transaction>(
    tx: &mut T,
    kind: JobKind,
    job: &JobRecord,
    settings: &JobSettings,
    now: Timestamp,
) -> Result<(), EngineError> {
    if let (Some(every), Ok(slot)) = (settings.every(kind), job.key.parse::<i64>()) {
        queue_slot(tx, kind, every, (slot + 1).max(slot_at(kind, now, every) + 1), now)?;
    }
    Ok(())
}

impl<S: Store> Engine<S> {
    /// Queues the current slot's job of every scheduled kind `settings` turn on (a no-op for
    /// those queued already, by this server or another): what a server does as it starts.
    pub fn schedule_jobs(&mut self, settings: &JobSettings) -> Result<(), EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        for (kind, every) in settings.schedules() {
            queue_slot(&mut tx, kind, every, slot_at(kind, now, every), now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Claims the jobs due now (of the kinds `settings` turn on, up to `limit`) and runs them one
    /// after another: what the server's worker does on each tick, and what tests call directly.
    pub fn run_due_jobs(&mut self, settings: &JobSettings, limit: usize) -> Result<JobRound, EngineError> {
        let mut round = JobRound::default();
        // Emails are queued by the nurture job, not on a schedule of their own.
        let sends = settings.nurture.as_ref().map(|_| (JobKind::EmailSend, Duration::ZERO));
        for (kind, _) in settings.schedules().into_iter().chain(sends) {
            let now = self.now();
            let lease_until = now.plus_millis(millis(kind.lease()));
            let claim = JobClaim { now, lease_until, kinds: &[kind.as_str()], limit, per_pool: None };
            for job in self.store.claim_jobs(&claim)? {
                self.run_job(kind, &job, settings, &mut round)?;
            }
        }
        Ok(round)
    }

    fn run_job(
        &mut self,
        kind: JobKind,
        job: &JobRecord,
        settings: &JobSettings,
        round: &mut JobRound,
    ) -> Result<(), EngineError> {
        let ran = match kind {
            // Its batches commit on their own; the job ends in a unit of work after them.
            JobKind::Rescore => self.scheduled_rescore().and_then(|()| self.finish(kind, job, settings, |_, _| Ok(()))),
            JobKind::ExpireAnonymous => {
                let days = settings.anonymous_retention_days.unwrap_or(0);
                self.finish(kind, job, settings, |tx, now| Ok(tx.expire_anonymous(now.minus_days(days)).map(drop)?))
            }
            // Pages of a unit of work each (the first after an upgrade may find a long past);
            // the job ends after them.
            JobKind::PruneJobs => self
                .prune_finished_jobs(settings.keep_finished_days)
                .and_then(|()| self.finish(kind, job, settings, |_, _| Ok(()))),
            // Each lead moves in a unit of work of its own; the job ends after them.
            JobKind::PipelineSweep => {
                self.sweep_pipelines().and_then(|_| self.finish(kind, job, settings, |_, _| Ok(())))
            }
            // Delivered before the job ends: a digest handed over twice (a claim lost after
            // delivering) is the same digest again, as of its slot.
            JobKind::Digest => {
                self.deliver_digests(job, settings).and_then(|()| self.finish(kind, job, settings, |_, _| Ok(())))
            }
            // Each enrollment moves in a unit of work of its own; the job ends after them.
            JobKind::Nurture => match &settings.nurture {
                Some(nurture) => {
                    self.run_nurture(nurture).and_then(|_| self.finish(kind, job, settings, |_, _| Ok(())))
                }
                None => self.finish(kind, job, settings, |_, _| Ok(())),
            },
            // Claimed only with nurture settings.
            JobKind::EmailSend => match &settings.nurture {
                Some(nurture) => self.send_email(job, nurture),
                None => Ok(false),
            },
        };
        match ran {
            Ok(true) => round.done += 1,
            Ok(false) => round.lost += 1,
            Err(e) => {
                let error = e.to_string();
                let (outcome, tally) = if job.attempts >= job.max_attempts {
                    (JobOutcome::Failed { error }, &mut round.failed)
                } else {
                    let at = self.now().plus_millis(millis(retry_delay(job.attempts)));
                    (JobOutcome::Retry { error, at }, &mut round.retried)
                };
                let now = self.now();
                let mut tx = self.store.begin()?;
                if tx.finish_job(job.ticket(), &outcome, now)? {
                    // A scheduled job given up still has a next slot: the chain goes on.
                    if matches!(outcome, JobOutcome::Failed { .. }) {
                        queue_next(&mut tx, kind, job, settings, now)?;
                    }
                    tx.commit()?;
                    *tally += 1;
                } else {
                    round.lost += 1;
                }
            }
        }
        Ok(())
    }

    /// Does `work` and ends `job` as done in one unit of work, queueing the next slot of its
    /// schedule with it: false, with nothing committed, when another claim holds the job now.
    fn finish(
        &mut self,
        kind: JobKind,
        job: &JobRecord,
        settings: &JobSettings,
        work: impl FnOnce(&mut S::Tx<'_>, Timestamp) -> Result<(), EngineError>,
    ) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        work(&mut tx, now)?;
        if !tx.finish_job(job.ticket(), &JobOutcome::Done, now)? {
            return Ok(false);
        }
        queue_next(&mut tx, kind, job, settings, now)?;
        tx.commit()?;
        Ok(true)
    }

    /// Deletes the jobs finished more than `days` ago, a page per unit of work, so that a long
    /// past never holds the write lock for long.
    fn prune_finished_jobs(&mut self, days: u32) -> Result<(), EngineError> {
        const PAGE: usize = 5_000;
        let before = self.now().minus_days(days);
        loop {
            let mut tx = self.store.begin()?;
            let pruned = tx.prune_jobs(before, PAGE)?;
            tx.commit()?;
            if pruned < PAGE as u64 {
                return Ok(());
            }
        }
    }

    /// Each active pipeline's digest of the week up to the job's slot, to the sink.
    fn deliver_digests(&mut self, job: &JobRecord, settings: &JobSettings) -> Result<(), EngineError> {
        let Some(sink) = &settings.digest else { return Ok(()) };
        let as_of = job.due_at;
        let pipelines: Vec<String> = self.active_pipelines()?.all().iter().map(|p| p.name().to_string()).collect();
        for pipeline in pipelines {
            let request = DigestRequest { pipeline: Some(pipeline), as_of: Some(as_of), days: 7 };
            let digest = self.digest(&request, &Quiet)?;
            sink.deliver(&digest).map_err(EngineError::DigestUndelivered)?;
        }
        Ok(())
    }

    /// Every lead as of the clock, when a model is active.
    fn scheduled_rescore(&mut self) -> Result<(), EngineError> {
        if self.store.active_version()?.is_none() {
            return Ok(());
        }
        let options = RescoreOptions { all: true, ..RescoreOptions::needed_now(self.now()) };
        self.rescore(options, &Quiet).map(drop)
    }

    /// The jobs the query asks for, newest first.
    pub fn jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>, EngineError> {
        Ok(self.store.jobs(query)?)
    }

    pub fn job_counts(&self) -> Result<Vec<JobCount>, EngineError> {
        Ok(self.store.job_counts()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_to_an_hour() {
        let delays: Vec<u64> = (1..=12).map(|a| retry_delay(a).as_secs()).collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
        assert_eq!(retry_delay(0).as_secs(), 10);
        assert_eq!(retry_delay(u32::MAX).as_secs(), 3600);
    }

    #[test]
    fn a_slot_is_due_at_its_start() {
        let hour = Duration::from_secs(3600);
        let t = Timestamp::from_millis(10 * 3_600_000 + 5);
        assert_eq!(slot_at(JobKind::Rescore, t, hour), 10);
        assert_eq!(slot_at(JobKind::Rescore, Timestamp::from_millis(10 * 3_600_000), hour), 10);
        assert_eq!(slot_at(JobKind::Rescore, Timestamp::from_millis(-1), hour), -1);
    }

    #[test]
    fn digests_are_due_on_mondays_at_eight() {
        let monday = Timestamp::parse("2026-12-07T08:00:00Z").unwrap();
        let slot = slot_at(JobKind::Digest, monday, WEEK);
        assert_eq!(slot_start(JobKind::Digest, slot, WEEK), monday);
        let sunday = Timestamp::parse("2026-12-06T23:00:00Z").unwrap();
        assert_eq!(slot_at(JobKind::Digest, sunday, WEEK), slot - 1);
        assert_eq!(slot_start(JobKind::Digest, slot + 1, WEEK), Timestamp::parse("2026-12-14T08:00:00Z").unwrap());
    }
}
