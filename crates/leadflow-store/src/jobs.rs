//! The job queue: everything that must happen later, or on whichever server gets to it first.
//!
//! A job has a kind (what to do), a key (which one: the idempotency key, unique per kind for as
//! long as the job is kept, done or not), a due time, a payload the store keeps as given, and
//! attempts. A claim takes due jobs for a lease; the claimer finishes each in the unit of work
//! that does its work ([`JobWrites::finish_job`]), so what the job writes and the job's end land
//! together or not at all. A claimer that dies leaves its jobs to be claimed again when the lease
//! runs out: at least once, and a job whose work is all in the database is done exactly once,
//! because the late finisher of a job claimed again is told it no longer holds it.
//!
//! Two optional names order and pace jobs that share something: the jobs of one *lane* run one
//! at a time in the order they were queued (one lead's webhook deliveries to one receiver), and
//! those of one *pool* at most a claim's `per_pool` at a time, counting every claimer's (one
//! receiver's deliveries, whichever lead they are of).

use leadflow_core::Timestamp;

use crate::StoreError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for its due time, claimed, or waiting for a retry.
    Pending,
    Done,
    /// Given up: its last attempt failed, or every lease ran out without an answer.
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [JobStatus::Pending, JobStatus::Done, JobStatus::Failed, JobStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|j| j.as_str() == s)
    }
}

/// A job to queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// Unique per kind: queueing a job whose kind and key a kept job has does nothing.
    pub key: &'a str,
    pub due_at: Timestamp,
    /// What the job's handler reads, as given (JSON by convention).
    pub payload: &'a str,
    /// Attempts before it is given up, the first included (at least 1).
    pub max_attempts: u32,
    /// Jobs of one lane are claimed one at a time, in the order queued: a job waits while an
    /// earlier one of its lane is pending (claimed, due later, or waiting for a retry).
    pub lane: Option<&'a str>,
    /// Jobs of one pool are claimed at most [`JobClaim::per_pool`] at a time.
    pub pool: Option<&'a str>,
}

impl<'a> NewJob<'a> {
    /// A job in no lane and no pool.
    pub fn new(kind: &'a str, key: &'a str, due_at: Timestamp, payload: &'a str, max_attempts: u32) -> NewJob<'a> {
        NewJob { kind, key, due_at, payload, max_attempts, lane: None, pool: None }
    }
}

/// What queueing a job came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    New(i64),
    /// A job of that kind and key is kept already (pending or finished): nothing changed.
    Existing(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::New(id) | Enqueued::Existing(id) => id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub status: JobStatus,
    pub due_at: Timestamp,
    /// Attempts started (claims taken), the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    /// While a claim holds it: until when.
    pub claimed_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub lane: Option<String>,
    pub pool: Option<String>,
}

impl JobRecord {
    /// The claim this record holds, to finish the job with: valid while no later claim took it.
    pub fn ticket(&self) -> JobTicket {
        JobTicket { id: self.id, attempt: self.attempts }
    }
}

/// A claimed job's identity and which attempt the claim is: a job claimed again after a lease
/// ran out has a later attempt, so the first claimer can no longer finish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobTicket {
    pub id: i64,
    pub attempt: u32,
}

/// A worker's claim on due jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobClaim<'a> {
    pub now: Timestamp,
    /// Until when the jobs claimed are the claimer's alone.
    pub lease_until: Timestamp,
    /// Only jobs of these kinds.
    pub kinds: &'a [&'a str],
    pub limit: usize,
    /// The most jobs of one pool claimed at once, this claim's and every running lease counted
    /// (`None`: pools are not limited). Jobs in no pool are never held back by it.
    pub per_pool: Option<usize>,
}

/// How a job's attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    Done,
    /// Try again at `at`.
    Retry {
        error: String,
        at: Timestamp,
    },
    Failed {
        error: String,
    },
}

impl JobOutcome {
    /// What the outcome leaves in the job's row: its status, the due time of a retry, the error.
    pub fn row(&self) -> (JobStatus, Option<Timestamp>, Option<&str>) {
        match self {
            JobOutcome::Done => (JobStatus::Done, None, None),
            JobOutcome::Retry { error, at } => (JobStatus::Pending, Some(*at), Some(error)),
            JobOutcome::Failed { error } => (JobStatus::Failed, None, Some(error)),
        }
    }
}

/// Which jobs a listing shows, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub kind: Option<String>,
    pub status: Option<JobStatus>,
    pub limit: usize,
}

/// How many jobs of a kind are in a status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub status: JobStatus,
    pub count: u64,
}

/// Claims and listings, each in a transaction of its own.
pub trait JobReads {
    /// Claims up to `claim.limit` pending jobs of the kinds asked for, due by `claim.now` and not
    /// held by a running lease, soonest due first: each goes to one claimer however many claim
    /// at once, with one more attempt counted; a job waits for the earlier pending jobs of its
    /// lane, and for room in its pool. A job whose every attempt ran out its lease is given up
    /// (failed) rather than claimed once more.
    fn claim_jobs(&mut self, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError>;
    fn jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>, StoreError>;
    /// Jobs per kind and status, by kind then status.
    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError>;
}

/// Queueing and finishing jobs, in a unit of work.
pub trait JobWrites {
    /// Queues a job unless one of its kind and key is kept already.
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Timestamp) -> Result<Enqueued, StoreError>;
    /// Ends the claimed attempt `ticket` as `outcome` (a retry makes it pending again, due then),
    /// in this unit of work. False, and nothing changed, when the claim no longer holds it: the
    /// lease ran out and another claim took it, it was cancelled, or this attempt was ended
    /// already. Whoever gets false must not commit the job's work. A retry of a job whose every
    /// attempt is spent ends it as failed.
    fn finish_job(&mut self, ticket: JobTicket, outcome: &JobOutcome, now: Timestamp) -> Result<bool, StoreError>;
    /// Cancels the pending job of this kind and key, if any (a claim running it cannot finish it
    /// then). False when there was none pending.
    fn cancel_job(&mut self, kind: &str, key: &str, now: Timestamp) -> Result<bool, StoreError>;
    /// Deletes up to `limit` of the jobs finished (done, failed, cancelled) before the instant,
    /// the oldest first, with what belongs to them (a webhook delivery); returns how many. Their
    /// keys may be queued again after.
    fn prune_jobs(&mut self, finished_before: Timestamp, limit: usize) -> Result<u64, StoreError>;
}

/// What a claim takes of the free jobs a backend read, each as (due time, id, pool): the `limit`
/// soonest due, those of a pool no more than the `room` it has. A backend reads, for each kind
/// claimed, the soonest free jobs in no pool and the soonest `room` of each pool; the soonest of
/// those reads together are then the soonest of all, whatever kinds share a pool.
pub fn soonest_within_pools(
    mut read: Vec<(i64, i64, Option<String>)>,
    room: impl Fn(&str) -> usize,
    limit: usize,
) -> Vec<i64> {
    read.sort_unstable();
    read.dedup_by_key(|(_, id, _)| *id);
    let mut taken: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut chosen = Vec::with_capacity(limit.min(read.len()));
    for (_, id, pool) in read {
        if chosen.len() == limit {
            break;
        }
        if let Some(pool) = pool {
            let left = room(&pool);
            let n = taken.entry(pool).or_default();
            if *n >= left {
                continue;
            }
            *n += 1;
        }
        chosen.push(id);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_takes_the_soonest_within_each_pools_room() {
        let read = vec![
            (3, 30, Some("p".to_string())),
            (1, 10, Some("p".to_string())),
            (2, 20, None),
            (1, 11, Some("q".to_string())),
            (2, 21, Some("p".to_string())),
            (1, 10, Some("p".to_string())),
        ];
        let room = |pool: &str| if pool == "p" { 2 } else { 0 };
        assert_eq!(soonest_within_pools(read.clone(), room, 10), [10, 20, 21], "p's two soonest, q none, any free");
        assert_eq!(soonest_within_pools(read.clone(), room, 2), [10, 20], "the limit's soonest");
        assert_eq!(soonest_within_pools(read, |_| 5, 10), [10, 11, 20, 21, 30], "each once");
    }
}
