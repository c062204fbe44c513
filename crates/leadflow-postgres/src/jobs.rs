//! The job queue. A claim locks the rows it takes and skips those another claim has locked
//! (`FOR UPDATE SKIP LOCKED`): servers claiming at once each get other jobs, and none waits.

use leadflow_core::Timestamp;
use leadflow_store::{
    Enqueued, JobClaim, JobCount, JobOutcome, JobQuery, JobReads, JobRecord, JobStatus, JobTicket, JobWrites, NewJob,
    StoreError,
};
use postgres::Row;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

const JOB_COLUMNS: &str = "id, kind, key, payload, status, due_at, attempts, max_attempts, claimed_until, last_error, created_at, finished_at";

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
    })
}

fn attempt(n: u32) -> i64 {
    i64::from(n)
}

impl JobReads for PgStore {
    fn claim_jobs(&mut self, claim: &JobClaim<'_>) -> Result<Vec<JobRecord>, StoreError> {
        let mut tx = self.own_transaction()?;
        let (now, kinds) = (claim.now.millis(), claim.kinds);
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
        let rows = tx
            .query(
                &format!(
                    "UPDATE jobs SET attempts = attempts + 1, claimed_until = $3
                     WHERE id IN (SELECT id FROM jobs
                                  WHERE status = 'pending' AND due_at <= $1 AND coalesce(claimed_until, 0) <= $1
                                    AND attempts < max_attempts AND kind = ANY($2)
                                  ORDER BY due_at, id LIMIT $4
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING {JOB_COLUMNS}"
                ),
                &[&now, &kinds, &claim.lease_until.millis(), &i64::try_from(claim.limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        let mut claimed = rows.iter().map(read_job).collect::<Result<Vec<_>, _>>()?;
        tx.conn.commit().map_err(backend)?;
        claimed.sort_by_key(|j| (j.due_at, j.id));
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
                "INSERT INTO jobs (kind, key, payload, due_at, max_attempts, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, key) DO NOTHING RETURNING id",
                &[
                    &job.kind,
                    &job.key,
                    &job.payload,
                    &job.due_at.millis(),
                    &attempt(job.max_attempts.max(1)),
                    &now.millis(),
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
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
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
        self.tx
            .execute("DELETE FROM jobs WHERE status <> 'pending' AND finished_at < $1", &[&finished_before.millis()])
            .map_err(backend)
    }
}
