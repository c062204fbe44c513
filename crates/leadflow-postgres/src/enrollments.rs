//! Leads in nurture sequences.

use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{
    ENROLLMENT_COLUMNS, EnrollmentQuery, EnrollmentReads, EnrollmentRecord, EnrollmentRow, EnrollmentWrites,
    NewEnrollment, StoreError,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

fn read_enrollment(r: &Row) -> EnrollmentRecord {
    EnrollmentRow {
        id: r.get(0),
        lead: r.get(1),
        sequence: r.get(2),
        version: r.get(3),
        step: r.get(4),
        due_at: r.get(5),
        runs: r.get(6),
        enrolled_by: r.get(7),
        enrolled_at: r.get(8),
        exited_at: r.get(9),
        exit_reason: r.get(10),
    }
    .into()
}

fn enrollments(conn: &mut impl Sql, q: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, StoreError> {
    let mut conds = vec!["TRUE".to_string()];
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    if let Some(lead) = q.lead {
        args.push(Box::new(lead.0));
        conds.push(format!("lead_id = ${}", args.len()));
    }
    if let Some(sequence) = &q.sequence {
        args.push(Box::new(sequence.clone()));
        conds.push(format!("sequence = ${}", args.len()));
    }
    if q.active {
        conds.push("exited_at IS NULL".into());
    }
    args.push(Box::new(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE {} ORDER BY id DESC LIMIT ${}",
        conds.join(" AND "),
        args.len()
    );
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    Ok(conn.query(&sql, &params).map_err(backend)?.iter().map(read_enrollment).collect())
}

impl EnrollmentReads for PgStore {
    fn enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, StoreError> {
        enrollments(&mut self.conn(), query)
    }

    fn due_enrollments(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let (after_due, after_id) = after.map_or((i64::MIN, i64::MIN), |(due, id)| (due.millis(), id));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {ENROLLMENT_COLUMNS} FROM enrollments
                     WHERE exited_at IS NULL AND due_at <= $1 AND (due_at, id) > ($2, $3)
                     ORDER BY due_at, id LIMIT $4"
                ),
                &[&now.millis(), &after_due, &after_id, &limit],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(read_enrollment).collect())
    }
}

impl EnrollmentWrites for PgTx<'_> {
    fn enroll(&mut self, new: &NewEnrollment<'_>, now: Timestamp) -> Result<Option<i64>, StoreError> {
        let row = self
            .tx
            .query_opt(
                "INSERT INTO enrollments (lead_id, sequence, version, step, due_at, enrolled_by, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (lead_id, sequence) WHERE exited_at IS NULL DO NOTHING
                 RETURNING id",
                &[
                    &new.lead.0,
                    &new.sequence,
                    &new.version.0,
                    &new.step,
                    &new.due_at.millis(),
                    &new.enrolled_by,
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn enrollments_now(&mut self, lead: LeadId, sequence: Option<&str>) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let query = EnrollmentQuery {
            lead: Some(lead),
            sequence: sequence.map(str::to_string),
            active: false,
            limit: usize::MAX,
        };
        enrollments(&mut self.tx, &query)
    }

    fn advance_enrollment(&mut self, id: i64, runs: u32, step: &str, due_at: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "UPDATE enrollments SET step = $3, due_at = $4, runs = runs + 1
                 WHERE id = $1 AND runs = $2 AND exited_at IS NULL",
                &[&id, &i64::from(runs), &step, &due_at.millis()],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn exit_enrollment(&mut self, id: i64, reason: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "UPDATE enrollments SET exited_at = $2, exit_reason = $3, step = NULL, due_at = NULL
                 WHERE id = $1 AND exited_at IS NULL",
                &[&id, &now.millis(), &reason],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }
}
