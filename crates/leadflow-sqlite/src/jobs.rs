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

/// What makes a job of kind ?2 free to claim at ?1: pending, due, not held by a running lease,
/// with attempts left, and the earliest pending job of its lane.
const FREE: &str = "j.kind = ?2 AND j.status = 'pending' AND j.due_at <= ?1 AND coalesce(j.claimed_until, 0) <= ?1
    AND j.attempts < j.max_attempts
    AND (j.lane IS NULL OR NOT EXISTS (SELECT 1 FROM jobs e
                                       WHERE e.lane = j.lane AND e.status = 'pending' AND e.id < j.id))";

/// Claims what is due in the caller's (write) transaction: SQLite has one writer at a time, so
/// no two claims overlap. The soonest due free jobs of each kind: those in no pool straight from
/// their index, and of each pool (found by skipping through the pooled jobs' index, one probe a
/// pool) at most the room its share leaves once its running leases are counted. A claim costs
/// what it takes and the pools it looks at, never the backlog behind them.
pub(crate) fn claim(conn: &rusqlite::Connection, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
    let now = claim.now.millis();
    conn.prepare_cached(
        // From the claimed jobs' index, never from every job of the kinds (finished ones kept).
        "UPDATE jobs SET status = 'failed', finished_at = ?1, claimed_until = NULL,
             last_error = 'every attempt ran out of its lease without finishing'
         WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_held
                      WHERE status = 'pending' AND claimed_until <= ?1 AND attempts >= max_attempts
                        AND kind IN (SELECT value FROM json_each(?2)))",
    )
    .map_err(backend)?
    .execute(params![now, kinds_json(claim.kinds)])
    .map_err(backend)?;
    let held: HashMap<String, usize> = match claim.per_pool {
        None => HashMap::new(),
        Some(_) => conn
            .prepare_cached(
                "SELECT pool, count(*) FROM jobs
                 WHERE status = 'pending' AND claimed_until > ?1 AND pool IS NOT NULL GROUP BY pool",
            )
            .map_err(backend)?
            .query_map([now], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?,
    };
    let limit = claim.limit;
    let room =
        |pool: &str| claim.per_pool.map_or(limit, |share| share.saturating_sub(held.get(pool).copied().unwrap_or(0)));
    let mut chosen: Vec<(i64, i64, Option<String>)> = Vec::new();
    let mut pick = |sql: &str, kind: &str, pool: Option<&str>, room: usize| -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
        let room = i64::try_from(room).unwrap_or(i64::MAX);
        let row = |r: &Row<'_>| Ok((r.get(0)?, r.get(1)?));
        let rows = match pool {
            None => stmt.query_map(params![now, kind, room], row),
            Some(pool) => stmt.query_map(params![now, kind, room, pool], row),
        }
        .map_err(backend)?;
        for row in rows {
            let (due_at, id) = row.map_err(backend)?;
            chosen.push((due_at, id, pool.map(str::to_string)));
        }
        Ok(())
    };
    let kinds: std::collections::BTreeSet<&str> = claim.kinds.iter().copied().collect();
    for kind in kinds {
        pick(
            &format!(
                "SELECT j.due_at, j.id FROM jobs j WHERE {FREE} AND j.pool IS NULL ORDER BY j.due_at, j.id LIMIT ?3"
            ),
            kind,
            None,
            limit,
        )?;
        let pools: Vec<String> = conn
            .prepare_cached(
                "WITH RECURSIVE pools (pool) AS (
                     SELECT (SELECT min(pool) FROM jobs WHERE kind = ?1 AND status = 'pending' AND pool IS NOT NULL)
                     UNION ALL
                     SELECT (SELECT min(j.pool) FROM jobs j
                             WHERE j.kind = ?1 AND j.status = 'pending' AND j.pool > pools.pool)
                     FROM pools WHERE pools.pool IS NOT NULL
                 )
                 SELECT pool FROM pools WHERE pool IS NOT NULL",
            )
            .map_err(backend)?
            .query_map([kind], |r| r.get(0))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        for pool in &pools {
            let room = room(pool).min(limit);
            if room > 0 {
                pick(
                    &format!(
                        "SELECT j.due_at, j.id FROM jobs j WHERE {FREE} AND j.pool = ?4 ORDER BY j.due_at, j.id LIMIT ?3"
                    ),
                    kind,
                    Some(pool),
                    room,
                )?;
            }
        }
    }
    let chosen = leadflow_store::soonest_within_pools(chosen, room, limit);
    let mut take = conn
        .prepare_cached(&format!(
            "UPDATE jobs SET attempts = attempts + 1, claimed_until = ?2 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
        ))
        .map_err(backend)?;
    chosen
        .iter()
        .map(|&id| take.query_row(params![id, claim.lease_until.millis()], read_job).map_err(backend)?)
        .collect()
}

/// Ends the claimed attempt `ticket` as `outcome` in the caller's transaction (see
/// `JobWrites::finish_job`).
pub(crate) fn finish(
    conn: &rusqlite::Connection,
    ticket: JobTicket,
    outcome: &JobOutcome,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let (status, due_at, error) = outcome.row();
    let (status, due_at) = (status.as_str(), due_at.map(Timestamp::millis));
    // A retry of a job with no attempt left ends it as failed: nothing would claim it again.
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET
                 status = CASE WHEN ?3 = 'pending' AND attempts >= max_attempts THEN 'failed' ELSE ?3 END,
                 due_at = coalesce(?4, due_at), last_error = ?5,
                 finished_at = CASE WHEN ?3 = 'pending' AND attempts < max_attempts THEN NULL ELSE ?6 END,
                 claimed_until = NULL
             WHERE id = ?1 AND attempts = ?2 AND status = 'pending' AND claimed_until IS NOT NULL",
        )
        .map_err(backend)?
        .execute(params![ticket.id, ticket.attempt, status, due_at, error, now.millis()])
        .map_err(backend)?;
    Ok(changed == 1)
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
        finish(&self.tx, ticket, outcome, now)
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

    fn prune_jobs(&mut self, finished_before: Timestamp, limit: usize) -> Result<u64, StoreError> {
        // The oldest finished first; a finished delivery goes with its job.
        const OLDEST: &str = "SELECT id FROM jobs WHERE status <> 'pending' AND finished_at < ?1
                              ORDER BY finished_at, id LIMIT ?2";
        let args = params![finished_before.millis(), i64::try_from(limit).unwrap_or(i64::MAX)];
        self.tx
            .prepare_cached(&format!(
                "DELETE FROM webhook_deliveries WHERE id IN (
                     SELECT CAST(key AS INTEGER) FROM jobs WHERE kind = 'webhook-delivery' AND id IN ({OLDEST}))"
            ))
            .map_err(backend)?
            .execute(args)
            .map_err(backend)?;
        let n = self
            .tx
            .prepare_cached(&format!("DELETE FROM jobs WHERE id IN ({OLDEST})"))
            .map_err(backend)?
            .execute(args)
            .map_err(backend)?;
        Ok(n as u64)
    }
}
