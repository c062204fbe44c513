//! The job queue. A claim locks the rows it takes and skips those another claim has locked
//! (`FOR UPDATE SKIP LOCKED`): servers claiming at once each get other jobs, and none waits. A
//! claim that limits pools counts the leases each pool holds, which row locks alone could not
//! keep exact: those claimers take turns (a transaction-scoped advisory lock); a claim is a few
//! milliseconds.

use std::collections::HashMap;

use leadflow_core::Timestamp;
use leadflow_store::{
    Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobReads, JobRecord, JobStatus, JobTicket, JobWrites, NewJob,
    StoreError, soonest_within_pools,
};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

const JOB_COLUMNS: &str = "id, kind, key, payload, status, due_at, attempts, max_attempts, claimed_until, last_error, created_at, finished_at, lane, pool";

/// The advisory lock claims that limit pools take turns on ("lf" "cl").
const POOL_CLAIM_LOCK: i64 = 0x6c66_636c;

fn read_job(r: &Row) -> Result<JobRecord, StoreError> {
    let status: &str = r.get(4);
    let status = JobStatus::parse(status).ok_or_else(|| StoreError::Corrupt(format!("job status `{status}`")))?;
    let count = |i: usize| u32::try_from(r.get::<_, i64>(i)).map_err(|_| StoreError::Corrupt("job attempts".into()));
    Ok(JobRecord {
        id: r.get(0),
        kind: r.get(1),
        key: r.get(2),
        payload: r.get(3),
        status,
        due_at: Timestamp::from_millis(r.get(5)),
        attempts: count(6)?,
        max_attempts: count(7)?,
        claimed_until: r.get::<_, Option<i64>>(8).map(Timestamp::from_millis),
        last_error: r.get(9),
        created_at: Timestamp::from_millis(r.get(10)),
        finished_at: r.get::<_, Option<i64>>(11).map(Timestamp::from_millis),
        lane: r.get(12),
        pool: r.get(13),
    })
}

fn attempt(n: u32) -> i64 {
    i64::from(n)
}

/// What makes a job of kind $2 free to claim at $1: pending, due, not held by a running lease,
/// with attempts left, and the earliest pending job of its lane.
const FREE: &str = "j.kind = $2 AND j.status = 'pending' AND j.due_at <= $1 AND coalesce(j.claimed_until, 0) <= $1
    AND j.attempts < j.max_attempts
    AND (j.lane IS NULL OR NOT EXISTS (SELECT 1 FROM jobs e
                                       WHERE e.lane = j.lane AND e.status = 'pending' AND e.id < j.id))";

/// Claims what is due in the caller's transaction (see `JobReads::claim_jobs`), as SQLite's
/// store does: the soonest due free jobs of each kind, those in no pool from their index, and of
/// each pool (found by skipping through the pooled jobs' index) at most the room its share leaves.
/// Every row read is locked, skipping those another claim holds; a claim that limits pools takes
/// its turn first, so that the leases it counts are every other claim's. The update checks again
/// that the job is free.
pub(crate) fn claim(tx: &mut impl Sql, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
    let now = claim.now.millis();
    if claim.per_pool.is_some() {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&POOL_CLAIM_LOCK]).map_err(backend)?;
    }
    tx.execute(
        "UPDATE jobs SET status = 'failed', finished_at = $1, claimed_until = NULL,
             last_error = 'every attempt ran out of its lease without finishing'
         WHERE id IN (SELECT id FROM jobs
                      WHERE status = 'pending' AND claimed_until <= $1 AND attempts >= max_attempts
                        AND kind = ANY($2)
                      FOR UPDATE SKIP LOCKED)",
        &[&now, &claim.kinds],
    )
    .map_err(backend)?;
    let held: HashMap<String, usize> = match claim.per_pool {
        None => HashMap::new(),
        Some(_) => tx
            .query(
                "SELECT pool, count(*) FROM jobs
                 WHERE status = 'pending' AND claimed_until > $1 AND pool IS NOT NULL GROUP BY pool",
                &[&now],
            )
            .map_err(backend)?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as usize))
            .collect(),
    };
    let limit = claim.limit;
    let room =
        |pool: &str| claim.per_pool.map_or(limit, |share| share.saturating_sub(held.get(pool).copied().unwrap_or(0)));
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let mut read: Vec<(i64, i64, Option<String>)> = Vec::new();
    let kinds: std::collections::BTreeSet<&str> = claim.kinds.iter().copied().collect();
    for kind in kinds {
        let unpooled = tx
            .query(
                &format!(
                    "SELECT j.due_at, j.id FROM jobs j WHERE {FREE} AND j.pool IS NULL
                     ORDER BY j.due_at, j.id LIMIT $3 FOR UPDATE SKIP LOCKED"
                ),
                &[&now, &kind, &count(limit)],
            )
            .map_err(backend)?;
        read.extend(unpooled.iter().map(|r| (r.get(0), r.get(1), None)));
        let pools: Vec<String> = tx
            .query(
                "WITH RECURSIVE pools (pool) AS (
                     SELECT (SELECT min(pool) FROM jobs WHERE kind = $1 AND status = 'pending' AND pool IS NOT NULL)
                     UNION ALL
                     SELECT (SELECT min(j.pool) FROM jobs j
                             WHERE j.kind = $1 AND j.status = 'pending' AND j.pool > pools.pool)
                     FROM pools WHERE pools.pool IS NOT NULL
                 )
                 SELECT pool FROM pools WHERE pool IS NOT NULL",
                &[&kind],
            )
            .map_err(backend)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for pool in &pools {
            let left = room(pool).min(limit);
            if left == 0 {
                continue;
            }
            let rows = tx
                .query(
                    &format!(
                        "SELECT j.due_at, j.id FROM jobs j WHERE {FREE} AND j.pool = $4
                         ORDER BY j.due_at, j.id LIMIT $3 FOR UPDATE SKIP LOCKED"
                    ),
                    &[&now, &kind, &count(left), pool],
                )
                .map_err(backend)?;
            read.extend(rows.iter().map(|r| (r.get(0), r.get(1), Some(pool.clone()))));
        }
    }
    let ids = soonest_within_pools(read, room, limit);
    let rows = tx
        .query(
            &format!(
                "UPDATE jobs j SET attempts = attempts + 1, claimed_until = $3
                 WHERE j.id = ANY($4) AND j.status = 'pending' AND coalesce(j.claimed_until, 0) <= $1
                   AND j.kind = ANY($2)
                 RETURNING {JOB_COLUMNS}"
            ),
            &[&now, &claim.kinds, &claim.lease_until.millis(), &ids],
        )
        .map_err(backend)?;
    let mut claimed = rows.iter().map(read_job).collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|j| (j.due_at, j.id));
    Ok(claimed)
}

/// Ends the claimed attempt ($1 the job, $2 the attempt) as status $3 (a retry: pending, due at
/// $4), with error $5, at $6; a retry of a job with no attempt left ends it as failed, as
/// nothing would claim it again. Returns the job's id when the claim still held it.
pub(crate) const FINISH: &str = "UPDATE jobs SET
        status = CASE WHEN $3::TEXT = 'pending' AND attempts >= max_attempts THEN 'failed' ELSE $3 END,
        due_at = coalesce($4, due_at), last_error = $5,
        finished_at = CASE WHEN $3::TEXT = 'pending' AND attempts < max_attempts THEN NULL ELSE $6::BIGINT END,
        claimed_until = NULL
    WHERE id = $1 AND attempts = $2 AND status = 'pending' AND claimed_until IS NOT NULL
    RETURNING id";

impl JobReads for PgStore {
    fn claim_jobs(&mut self, job_claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
        let mut tx = self.own_transaction()?;
        let claimed = claim(&mut tx, job_claim)?;
        tx.conn.commit().map_err(backend)?;
        Ok(claimed)
    }

    fn jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs
                     WHERE ($1::TEXT IS NULL OR kind = $1) AND ($2::TEXT IS NULL OR status = $2)
                     ORDER BY id DESC LIMIT $3"
                ),
                &[&query.kind, &query.status.map(JobStatus::as_str), &i64::try_from(query.limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_job).collect()
    }

    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        let rows =
            self.conn().query("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status", &[]).map_err(backend)?;
        let mut counts = rows
            .iter()
            .map(|r| {
                let status: &str = r.get(1);
                let status =
                    JobStatus::parse(status).ok_or_else(|| StoreError::Corrupt(format!("job status `{status}`")))?;
                Ok(JobCount { kind: r.get(0), status, count: r.get::<_, i64>(2) as u64 })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        counts.sort_by_key(|c| (c.kind.clone(), JobStatus::ALL.iter().position(|s| *s == c.status)));
        Ok(counts)
    }
}

impl JobWrites for PgTx<'_> {
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Timestamp) -> Result<Enqueued, StoreError> {
        let inserted = self
            .tx
            .query_opt(
                "INSERT INTO jobs (kind, key, payload, due_at, max_attempts, created_at, lane, pool)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (kind, key) DO NOTHING RETURNING id",
                &[
                    &job.kind,
                    &job.key,
                    &job.payload,
                    &job.due_at.millis(),
                    &attempt(job.max_attempts.max(1)),
                    &now.millis(),
                    &job.lane,
                    &job.pool,
                ],
            )
            .map_err(backend)?;
        if let Some(row) = inserted {
            return Ok(Enqueued::New(row.get(0)));
        }
        let row = self
            .tx
            .query_one("SELECT id FROM jobs WHERE kind = $1 AND key = $2", &[&job.kind, &job.key])
            .map_err(backend)?;
        Ok(Enqueued::Existing(row.get(0)))
    }

    fn finish_job(&mut self, ticket: JobTicket, outcome: &JobOutcome, now: Timestamp) -> Result<bool, StoreError> {
        let (status, due_at, error) = outcome.row();
        let (status, due_at) = (status.as_str(), due_at.map(Timestamp::millis));
        let changed = self
            .tx
            .execute(FINISH, &[&ticket.id, &attempt(ticket.attempt), &status, &due_at, &error, &now.millis()])
            .map_err(backend)?;
        Ok(changed == 1)
    }

    fn cancel_job(&mut self, kind: &str, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .tx
            .execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = $3, claimed_until = NULL
                 WHERE kind = $1 AND key = $2 AND status = 'pending'",
                &[&kind, &key, &now.millis()],
            )
            .map_err(backend)?;
        Ok(changed == 1)
    }

    fn prune_jobs(&mut self, finished_before: Timestamp, limit: usize) -> Result<u64, StoreError> {
        // The oldest finished first; a finished delivery goes with its job, in one statement.
        let row = self
            .tx
            .query_one(
                "WITH oldest AS (
                     DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status <> 'pending' AND finished_at < $1
                                                   ORDER BY finished_at, id LIMIT $2)
                     RETURNING kind, key
                 ),
                 deliveries AS (
                     DELETE FROM webhook_deliveries WHERE id IN (
                         SELECT key::BIGINT FROM oldest WHERE kind = 'webhook-delivery')
                 )
                 SELECT count(*) FROM oldest",
                &[&finished_before.millis(), &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
