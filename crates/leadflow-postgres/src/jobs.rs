//! The job queue. A claim locks the rows it takes and skips those another claim has locked
//! (`FOR UPDATE SKIP LOCKED`): servers claiming at once each get other jobs, and none waits. A
//! claim that limits pools counts the leases each pool holds, which row locks alone could not
//! keep exact: those claimers take turns (a transaction-scoped advisory lock); a claim is a few
//! milliseconds.

use leadflow_core::Timestamp;
use leadflow_store::{
    Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobReads, JobRecord, JobStatus, JobTicket, JobWrites, NewJob,
    StoreError,
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

/// Claims what is due in the caller's transaction (see `JobReads::claim_jobs`); the same
/// choice as SQLite's `CLAIMABLE`. The claim's update checks again that the job is free, so
/// that a claim that waited for another's row takes nothing that one took.
pub(crate) fn claim(tx: &mut impl Sql, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
    let (now, kinds, limit) = (claim.now.millis(), claim.kinds, i64::try_from(claim.limit).unwrap_or(i64::MAX));
    tx.execute(
        "UPDATE jobs SET status = 'failed', finished_at = $1, claimed_until = NULL,
             last_error = 'every attempt ran out of its lease without finishing'
         WHERE id IN (SELECT id FROM jobs
                      WHERE status = 'pending' AND attempts >= max_attempts AND claimed_until <= $1
                        AND kind = ANY($2)
                      FOR UPDATE SKIP LOCKED)",
        &[&now, &kinds],
    )
    .map_err(backend)?;
    const FREE: &str = "status = 'pending' AND due_at <= $1 AND coalesce(claimed_until, 0) <= $1
        AND attempts < max_attempts";
    const FIRST_OF_LANE: &str = "(j.lane IS NULL OR NOT EXISTS (SELECT 1 FROM jobs e
        WHERE e.lane = j.lane AND e.status = 'pending' AND e.id < j.id))";
    let rows = match claim.per_pool {
        None => tx.query(
            &format!(
                "UPDATE jobs SET attempts = attempts + 1, claimed_until = $3
                 WHERE id IN (SELECT j.id FROM jobs j WHERE {FREE} AND j.kind = ANY($2) AND {FIRST_OF_LANE}
                              ORDER BY j.due_at, j.id LIMIT $4
                              FOR UPDATE SKIP LOCKED)
                   AND {FREE}
                 RETURNING {JOB_COLUMNS}"
            ),
            &[&now, &kinds, &claim.lease_until.millis(), &limit],
        ),
        Some(per_pool) => {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&POOL_CLAIM_LOCK]).map_err(backend)?;
            tx.query(
                &format!(
                    "WITH candidates AS (
                         SELECT j.id, j.due_at, j.pool,
                                row_number() OVER (PARTITION BY j.pool ORDER BY j.due_at, j.id) AS place
                         FROM jobs j WHERE {FREE} AND j.kind = ANY($2) AND {FIRST_OF_LANE}
                     ),
                     held AS (
                         SELECT pool, count(*) AS claims FROM jobs
                         WHERE status = 'pending' AND pool IS NOT NULL AND claimed_until > $1 GROUP BY pool
                     ),
                     chosen AS (
                         SELECT c.id FROM candidates c LEFT JOIN held h ON h.pool = c.pool
                         WHERE c.pool IS NULL OR c.place + coalesce(h.claims, 0) <= $5
                         ORDER BY c.due_at, c.id LIMIT $4
                     )
                     UPDATE jobs SET attempts = attempts + 1, claimed_until = $3
                     WHERE id IN (SELECT id FROM chosen) AND {FREE}
                     RETURNING {JOB_COLUMNS}"
                ),
                &[&now, &kinds, &claim.lease_until.millis(), &limit, &i64::try_from(per_pool).unwrap_or(i64::MAX)],
            )
        }
    }
    .map_err(backend)?;
    let mut claimed = rows.iter().map(read_job).collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|j| (j.due_at, j.id));
    Ok(claimed)
}

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
        let (finished_at, due_at) =
            ((status != JobStatus::Pending).then_some(now.millis()), due_at.map(Timestamp::millis));
        let status = status.as_str();
        let changed = self
            .tx
            .execute(
                "UPDATE jobs SET status = $3, due_at = coalesce($4, due_at), last_error = $5, finished_at = $6,
                     claimed_until = NULL
                 WHERE id = $1 AND attempts = $2 AND status = 'pending' AND claimed_until IS NOT NULL",
                &[&ticket.id, &attempt(ticket.attempt), &status, &due_at, &error, &finished_at],
            )
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

    fn prune_jobs(&mut self, finished_before: Timestamp) -> Result<u64, StoreError> {
        // A finished delivery goes with its job.
        self.tx
            .execute(
                "DELETE FROM webhook_deliveries WHERE id IN (
                     SELECT key::BIGINT FROM jobs
                     WHERE kind = 'webhook-delivery' AND status <> 'pending' AND finished_at < $1)",
                &[&finished_before.millis()],
            )
            .map_err(backend)?;
        self.tx
            .execute("DELETE FROM jobs WHERE status <> 'pending' AND finished_at < $1", &[&finished_before.millis()])
            .map_err(backend)
    }
}
