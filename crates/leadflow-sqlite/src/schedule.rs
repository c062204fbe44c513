//! Scheduled jobs' turns. One writer at a time: the transaction that reads a turn due is the one
//! that moves it on.

use super::*;

impl ScheduleWrites for SqliteTx<'_> {
    fn take_turn(&mut self, job: &str, now: Timestamp, next: Timestamp) -> Result<bool, StoreError> {
        let taken = self
            .tx
            .prepare_cached(
                "INSERT INTO schedule (job, next_run_at) VALUES (?1, ?3)
                 ON CONFLICT (job) DO UPDATE SET next_run_at = excluded.next_run_at WHERE schedule.next_run_at <= ?2",
            )
            .map_err(backend)?
            .execute(params![job, now.millis(), next.millis()])
            .map_err(backend)?;
        Ok(taken == 1)
    }
}
