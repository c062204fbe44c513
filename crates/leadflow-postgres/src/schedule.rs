//! Scheduled jobs' turns. A job's row is only written under a lock of the job's own, taken
//! without waiting (`pg_try_advisory_xact_lock`) and held until the transaction ends: a server
//! that finds it held is told no at once, so a long job never holds up the writers of the other
//! servers, and the row is never met half-written.

use leadflow_core::Timestamp;
use leadflow_store::{ScheduleWrites, StoreError};

use crate::sql::Sql;
use crate::{PgTx, backend};

/// The advisory locks' first key for schedules ("lf" "sc"); the second is the job name's hash.
/// Two names with one hash share a lock: one of them then waits for the next tick.
const SCHEDULE_LOCKS: i32 = 0x6c66_7363;

impl ScheduleWrites for PgTx<'_> {
    fn take_turn(&mut self, job: &str, now: Timestamp, next: Timestamp) -> Result<bool, StoreError> {
        let locked: bool = self
            .tx
            .query_one("SELECT pg_try_advisory_xact_lock($1, hashtext($2))", &[&SCHEDULE_LOCKS, &job])
            .map_err(backend)?
            .get(0);
        if !locked {
            return Ok(false);
        }
        let taken = self
            .tx
            .execute(
                "INSERT INTO schedule (job, next_run_at) VALUES ($1, $3)
                 ON CONFLICT (job) DO UPDATE SET next_run_at = excluded.next_run_at WHERE schedule.next_run_at <= $2",
                &[&job, &now.millis(), &next.millis()],
            )
            .map_err(backend)?;
        Ok(taken == 1)
    }
}
