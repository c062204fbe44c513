//! Follow-up tasks.

use leadflow_core::task::TaskState;
use leadflow_core::team::UserName;
use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{
    NewTask, Reminded, StoreError, TASK_COLUMNS, TaskCounts, TaskQuery, TaskReads, TaskRecord, TaskRow, TaskWrites,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

fn read_task(r: &Row) -> Result<TaskRecord, StoreError> {
    TaskRow {
        id: r.get(0),
        lead: r.get(1),
        kind: r.get(2),
        title: r.get(3),
        owner: r.get(4),
        priority: r.get(5),
        status: r.get(6),
        due_at: r.get(7),
        snoozed_until: r.get(8),
        outcome: r.get(9),
        closed_at: r.get(10),
        created_by: r.get(11),
        created_at: r.get(12),
        due_notified_at: r.get(13),
        overdue_notified_at: r.get(14),
        remind_at: r.get(15),
    }
    .into_record()
}

fn task(conn: &mut impl Sql, id: i64) -> Result<Option<TaskRecord>, StoreError> {
    let row = conn.query_opt(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"), &[&id]).map_err(backend)?;
    row.as_ref().map(read_task).transpose()
}

impl TaskReads for PgStore {
    fn task_counts(&self, from: Timestamp, now: Timestamp) -> Result<Vec<TaskCounts>, StoreError> {
        let rows = self
            .conn()
            .query(
                "SELECT owner,
                        count(*) FILTER (WHERE status IN ('open', 'snoozed')),
                        count(*) FILTER (WHERE status IN ('open', 'snoozed')
                            AND (CASE WHEN status = 'snoozed' THEN snoozed_until ELSE due_at END) < $2),
                        count(*) FILTER (WHERE status = 'done' AND closed_at >= $1 AND closed_at < $2),
                        count(*) FILTER (WHERE status = 'done' AND closed_at >= $1 AND closed_at < $2 AND closed_at > due_at)
                 FROM tasks GROUP BY owner ORDER BY owner IS NULL, owner",
                &[&from.millis(), &now.millis()],
            )
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| TaskCounts {
                owner: r.get(0),
                pending: r.get::<_, i64>(1) as u64,
                overdue: r.get::<_, i64>(2) as u64,
                done: r.get::<_, i64>(3) as u64,
                done_late: r.get::<_, i64>(4) as u64,
            })
            .collect())
    }

    fn tasks(&self, q: &TaskQuery) -> Result<Vec<TaskRecord>, StoreError> {
        // A snoozed task is due at its snooze's end.
        let due = "CASE WHEN status = 'snoozed' THEN snoozed_until ELSE due_at END";
        let mut conds = vec!["TRUE".to_string()];
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        if let Some(owner) = &q.owner {
            args.push(Box::new(owner.as_str().to_string()));
            conds.push(format!("owner = ${}", args.len()));
        }
        if let Some(lead) = q.lead {
            args.push(Box::new(lead.0));
            conds.push(format!("lead_id = ${}", args.len()));
        }
        if q.pending {
            conds.push("status IN ('open', 'snoozed')".into());
        }
        if let Some(before) = q.due_before {
            args.push(Box::new(before.millis()));
            conds.push(format!("{due} < ${}", args.len()));
        }
        args.push(Box::new(i64::try_from(q.limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE {} ORDER BY {due}, id LIMIT ${}",
            conds.join(" AND "),
            args.len()
        );
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.conn().query(&sql, &params).map_err(backend)?;
        rows.iter().map(read_task).collect()
    }

    fn task(&self, id: i64) -> Result<Option<TaskRecord>, StoreError> {
        task(&mut self.conn(), id)
    }

    fn leads_without_next_step(&self, open: &[(String, String)], limit: usize) -> Result<Vec<LeadId>, StoreError> {
        let (pipelines, stages): (Vec<&str>, Vec<&str>) = open.iter().map(|(p, s)| (p.as_str(), s.as_str())).unzip();
        let rows = self
            .conn()
            .query(
                "SELECT l.id FROM leads l
                 JOIN unnest($1::TEXT[], $2::TEXT[]) AS o (pipeline, stage)
                     ON l.pipeline = o.pipeline AND l.pipeline_stage = o.stage
                 WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.lead_id = l.id AND t.status IN ('open', 'snoozed'))
                 ORDER BY l.id LIMIT $3",
                &[&pipelines, &stages, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| LeadId(r.get(0))).collect())
    }

    fn tasks_to_remind(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let (after_at, after_id) = after.map_or((i64::MIN, i64::MIN), |(at, id)| (at.millis(), id));
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM tasks
                     WHERE remind_at IS NOT NULL AND remind_at <= $1 AND (remind_at, id) > ($2, $3)
                     ORDER BY remind_at, id LIMIT $4"
                ),
                &[&now.millis(), &after_at, &after_id, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_task).collect()
    }
}

impl TaskWrites for PgTx<'_> {
    fn add_task(&mut self, t: &NewTask<'_>, now: Timestamp) -> Result<i64, StoreError> {
        let row = self
            .tx
            .query_one(
                "INSERT INTO tasks (lead_id, kind, title, owner, priority, status, due_at, created_by, created_at,
                     updated_at, remind_at)
                 VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8, $6) RETURNING id",
                &[
                    &t.lead.0,
                    &t.kind.as_str(),
                    &t.title.as_str(),
                    &t.owner.map(|o| o.as_str()),
                    &t.priority.as_str(),
                    &t.due_at.millis(),
                    &t.created_by,
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn task_now(&mut self, id: i64) -> Result<Option<TaskRecord>, StoreError> {
        task(&mut self.tx, id)
    }

    fn set_task_state(&mut self, id: i64, s: &TaskState, now: Timestamp) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        self.tx
            .execute(
                "UPDATE tasks SET status = $2, due_at = $3, snoozed_until = $4, outcome = $5, closed_at = $6,
                     updated_at = $7,
                     due_notified_at = CASE WHEN $2 = 'snoozed' THEN NULL ELSE due_notified_at END,
                     overdue_notified_at = CASE WHEN $2 = 'snoozed' THEN NULL ELSE overdue_notified_at END,
                     remind_at = CASE $2 WHEN 'snoozed' THEN $4 WHEN 'open' THEN remind_at END
                 WHERE id = $1",
                &[
                    &id,
                    &s.status.as_str(),
                    &s.due_at.millis(),
                    &millis(s.snoozed_until),
                    &s.outcome,
                    &millis(s.closed_at),
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn cancel_pending_tasks(&mut self, lead: LeadId, why: &str, now: Timestamp) -> Result<u64, StoreError> {
        self.tx
            .execute(
                "UPDATE tasks SET status = 'cancelled', snoozed_until = NULL, outcome = $2, closed_at = $3,
                     updated_at = $3, remind_at = NULL
                 WHERE lead_id = $1 AND status IN ('open', 'snoozed')",
                &[&lead.0, &why, &now.millis()],
            )
            .map_err(backend)
    }

    fn hand_over_tasks(
        &mut self,
        lead: LeadId,
        from: Option<&str>,
        to: &UserName,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.tx
            .execute(
                "UPDATE tasks SET owner = $3, updated_at = $4
                 WHERE lead_id = $1 AND status IN ('open', 'snoozed') AND (owner IS NULL OR owner = $2)",
                &[&lead.0, &from, &to.as_str(), &now.millis()],
            )
            .map_err(backend)
    }

    fn set_task_reminded(&mut self, id: i64, reminded: &Reminded) -> Result<(), StoreError> {
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        self.tx
            .execute(
                "UPDATE tasks SET due_notified_at = $2, overdue_notified_at = $3, remind_at = $4 WHERE id = $1",
                &[&id, &millis(reminded.due), &millis(reminded.overdue), &millis(reminded.next)],
            )
            .map_err(backend)?;
        Ok(())
    }
}
