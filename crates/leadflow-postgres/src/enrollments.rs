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
        enrolled_by: r.get(6),
        enrolled_at: r.get(7),
        exited_at: r.get(8),
        exit_reason: r.get(9),
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

    fn enrollments_now(&mut self, lead: LeadId, sequence: &str) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let query = EnrollmentQuery {
            lead: Some(lead),
            sequence: Some(sequence.to_string()),
            active: false,
            limit: usize::MAX,
        };
        enrollments(&mut self.tx, &query)
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
