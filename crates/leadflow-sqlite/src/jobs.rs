//! The job queue. One writer at a time, so a claim's select and update never overlap another's.

use leadflow_store::{Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobRecord, JobStatus, JobTicket, NewJob};
use rusqlite::Row;

use super::*;

const JOB_COLUMNS: &str = "id, kind, key, payload, status, due_at, attempts, max_attempts, claimed_until, last_error, created_at, finished_at, lane, pool";

fn read_job(r: &Row<'_>) -> rusqlite::Result<Result<JobRecord, StoreError>> {
    let status: String = r.get(4)?;
    let Some(status) = JobStatus::parse(&status) else {
        return Ok(Err(StoreError::Corrupt(format!("job status `{status}`"))));
    };
    let millis = |i: usize| r.get::<_, Option<i64>>(i).map(|t| t.map(Timestamp::from_millis));
    Ok(Ok(JobRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        payload: r.get(3)?,
        status,
        due_at: Timestamp::from_millis(r.get(5)?),
        attempts: r.get(6)?,
        max_attempts: r.get(7)?,
        claimed_until: millis(8)?,
        last_error: r.get(9)?,
        created_at: Timestamp::from_millis(r.get(10)?),
        finished_at: millis(11)?,
        lane: r.get(12)?,
        pool: r.get(13)?,
    }))
}

fn kinds_json(kinds: &[&str]) -> String {
    serde_json::to_string(kinds).expect("strings serialize")
}

/// The jobs a claim may take, soonest due first: pending, due by ?1, not held by a running lease,
/// with attempts left, of the kinds asked for (?2, a JSON array); the earliest pending job of
/// its lane; and within its pool's share (?3, NULL for none) once the leases its pool holds are
/// counted. PostgreSQL's store runs the same query.
const CLAIMABLE: &str = "
    WITH candidates AS (
        SELECT j.id, j.due_at, j.pool,
               row_number() OVER (PARTITION BY j.pool ORDER BY j.due_at, j.id) AS place
        FROM jobs j
        WHERE j.status = 'pending' AND j.due_at <= ?1 AND coalesce(j.claimed_until, 0) <= ?1
          AND j.attempts < j.max_attempts AND j.kind IN (SELECT value FROM json_each(?2))
          AND (j.lane IS NULL OR NOT EXISTS (SELECT 1 FROM jobs e
                                             WHERE e.lane = j.lane AND e.status = 'pending' AND e.id < j.id))
    ),
    held AS (
        SELECT pool, count(*) AS claims FROM jobs
        WHERE status = 'pending' AND pool IS NOT NULL AND claimed_until > ?1 GROUP BY pool
    )
    SELECT c.id FROM candidates c LEFT JOIN held h ON h.pool = c.pool
    WHERE ?3 IS NULL OR c.pool IS NULL OR c.place + coalesce(h.claims, 0) <= ?3
    ORDER BY c.due_at, c.id LIMIT ?4";

/// Claims what is due in the caller's (write) transaction: SQLite has one writer at a time, so
/// no two claims overlap.
pub(crate) fn claim(conn: &rusqlite::Connection, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
    let (now, kinds) = (claim.now.millis(), kinds_json(claim.kinds));
    conn.prepare_cached(
        "UPDATE jobs SET status = 'failed', finished_at = ?1, claimed_until = NULL,
             last_error = 'every attempt ran out of its lease without finishing'
         WHERE status = 'pending' AND attempts >= max_attempts AND claimed_until <= ?1
           AND kind IN (SELECT value FROM json_each(?2))",
    )
    .map_err(backend)?
    .execute(params![now, kinds])
    .map_err(backend)?;
    let per_pool = claim.per_pool.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut claimed = conn
        .prepare_cached(&format!(
            "UPDATE jobs SET attempts = attempts + 1, claimed_until = ?5 WHERE id IN ({CLAIMABLE})
             RETURNING {JOB_COLUMNS}"
        ))
        .map_err(backend)?
        .query_map(
            params![now, kinds, per_pool, i64::try_from(claim.limit).unwrap_or(i64::MAX), claim.lease_until.millis()],
            read_job,
        )
        .map_err(backend)?
        .map(|r| r.map_err(backend)?)
        .collect::<Result<Vec<_>, _>>()?;
    claimed.sort_by_key(|j| (j.due_at, j.id));
    Ok(claimed)
}

impl JobReads for SqliteStore {
    fn claim_jobs(&mut self, job_claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
        let claimed = claim(&tx, job_claim)?;
        tx.commit().map_err(backend)?;
        Ok(claimed)
    }

    fn jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR status = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![
                    query.kind,
                    query.status.map(JobStatus::as_str),
                    i64::try_from(query.limit).unwrap_or(i64::MAX)
                ],
                read_job,
            )
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)?).collect()
    }

    fn job_counts(&self) -> Result<Vec<JobCount>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, status, count(*) FROM jobs GROUP BY kind, status ORDER BY kind, status")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
            .map_err(backend)?;
        let mut counts = rows
            .map(|r| {
                let (kind, status, count) = r.map_err(backend)?;
                let status =
                    JobStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("job status `{status}`")))?;
                Ok(JobCount { kind, status, count: count as u64 })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        counts.sort_by_key(|c| (c.kind.clone(), JobStatus::ALL.iter().position(|s| *s == c.status)));
        Ok(counts)
    }
}

impl JobWrites for SqliteTx<'_> {
    fn enqueue_job(&mut self, job: &NewJob<'_>, now: Timestamp) -> Result<Enqueued, StoreError> {
        let inserted: Option<i64> = self
            .tx
            .prepare_cached(
                "INSERT INTO jobs (kind, key, payload, due_at, max_attempts, created_at, lane, pool)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (kind, key) DO NOTHING RETURNING id",
            )
            .map_err(backend)?
            .query_row(
                params![
                    job.kind,
                    job.key,
                    job.payload,
                    job.due_at.millis(),
                    job.max_attempts.max(1),
                    now.millis(),
                    job.lane,
                    job.pool
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        if let Some(id) = inserted {
            return Ok(Enqueued::New(id));
        }
        let id = self
            .tx
            .prepare_cached("SELECT id FROM jobs WHERE kind = ?1 AND key = ?2")
            .map_err(backend)?
            .query_row(params![job.kind, job.key], |r| r.get(0))
            .map_err(backend)?;
        Ok(Enqueued::Existing(id))
    }

    fn finish_job(&mut self, ticket: JobTicket, outcome: &JobOutcome, now: Timestamp) -> Result<bool, StoreError> {
        let (status, due_at, error) = outcome.row();
        let (finished_at, due_at) =
            ((status != JobStatus::Pending).then_some(now.millis()), due_at.map(Timestamp::millis));
        let status = status.as_str();
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE jobs SET status = ?3, due_at = coalesce(?4, due_at), last_error = ?5, finished_at = ?6,
                     claimed_until = NULL
                 WHERE id = ?1 AND attempts = ?2 AND status = 'pending' AND claimed_until IS NOT NULL",
            )
            .map_err(backend)?
            .execute(params![ticket.id, ticket.attempt, status, due_at, error, finished_at])
            .map_err(backend)?;
        Ok(changed == 1)
    }

    fn cancel_job(&mut self, kind: &str, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE jobs SET status = 'cancelled', finished_at = ?3, claimed_until = NULL
                 WHERE kind = ?1 AND key = ?2 AND status = 'pending'",
            )
            .map_err(backend)?
            .execute(params![kind, key, now.millis()])
            .map_err(backend)?;
        Ok(changed == 1)
    }

    fn prune_jobs(&mut self, finished_before: Timestamp) -> Result<u64, StoreError> {
        // A finished delivery goes with its job.
        self.tx
            .prepare_cached(
                "DELETE FROM webhook_deliveries WHERE id IN (
                     SELECT CAST(key AS INTEGER) FROM jobs
                     WHERE kind = 'webhook-delivery' AND status <> 'pending' AND finished_at < ?1)",
            )
            .map_err(backend)?
            .execute([finished_before.millis()])
            .map_err(backend)?;
        let n = self
            .tx
            .prepare_cached("DELETE FROM jobs WHERE status <> 'pending' AND finished_at < ?1")
            .map_err(backend)?
            .execute([finished_before.millis()])
            .map_err(backend)?;
        Ok(n as u64)
    }
}
