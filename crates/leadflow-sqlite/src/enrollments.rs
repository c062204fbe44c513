//! Leads in nurture sequences.

use leadflow_store::{
    ENROLLMENT_COLUMNS, EnrollmentQuery, EnrollmentReads, EnrollmentRecord, EnrollmentRow, EnrollmentWrites,
    NewEnrollment,
};

use super::*;

fn read_enrollment(r: &rusqlite::Row<'_>) -> rusqlite::Result<EnrollmentRow> {
    Ok(EnrollmentRow {
        id: r.get(0)?,
        lead: r.get(1)?,
        sequence: r.get(2)?,
        version: r.get(3)?,
        step: r.get(4)?,
        due_at: r.get(5)?,
        runs: r.get(6)?,
        enrolled_by: r.get(7)?,
        enrolled_at: r.get(8)?,
        exited_at: r.get(9)?,
        exit_reason: r.get(10)?,
    })
}

fn enrollments(conn: &Connection, q: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, StoreError> {
    let mut conds = vec!["1 = 1".to_string()];
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(lead) = q.lead {
        args.push(lead.0.into());
        conds.push(format!("lead_id = ?{}", args.len()));
    }
    if let Some(sequence) = &q.sequence {
        args.push(sequence.clone().into());
        conds.push(format!("sequence = ?{}", args.len()));
    }
    if q.active {
        conds.push("exited_at IS NULL".into());
    }
    args.push(i64::try_from(q.limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE {} ORDER BY id DESC LIMIT ?{}",
        conds.join(" AND "),
        args.len()
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(args), read_enrollment).map_err(backend)?;
    rows.map(|r| Ok(r.map_err(backend)?.into())).collect()
}

impl EnrollmentReads for SqliteStore {
    fn enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>, StoreError> {
        enrollments(&self.conn, query)
    }

    fn due_enrollments(
        &self,
        now: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: usize,
    ) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let (after_due, after_id) = after.map_or((i64::MIN, i64::MIN), |(due, id)| (due.millis(), id));
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ENROLLMENT_COLUMNS} FROM enrollments
                 WHERE exited_at IS NULL AND due_at <= ?1 AND (due_at, id) > (?2, ?3)
                 ORDER BY due_at, id LIMIT ?4"
            ))
            .map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows =
            stmt.query_map(params![now.millis(), after_due, after_id, limit], read_enrollment).map_err(backend)?;
        rows.map(|r| Ok(r.map_err(backend)?.into())).collect()
    }
}

impl EnrollmentWrites for SqliteTx<'_> {
    fn enroll(&mut self, new: &NewEnrollment<'_>, now: Timestamp) -> Result<Option<i64>, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO enrollments (lead_id, sequence, version, step, due_at, enrolled_by, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (lead_id, sequence) WHERE exited_at IS NULL DO NOTHING
                 RETURNING id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        new.lead.0,
                        new.sequence,
                        new.version.0,
                        new.step,
                        new.due_at.millis(),
                        new.enrolled_by,
                        now.millis()
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(backend)
    }

    fn enrollments_now(&mut self, lead: LeadId, sequence: Option<&str>) -> Result<Vec<EnrollmentRecord>, StoreError> {
        let query = EnrollmentQuery {
            lead: Some(lead),
            sequence: sequence.map(str::to_string),
            active: false,
            limit: usize::MAX,
        };
        enrollments(&self.tx, &query)
    }

    fn advance_enrollment(&mut self, id: i64, runs: u32, step: &str, due_at: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE enrollments SET step = ?3, due_at = ?4, runs = runs + 1
                 WHERE id = ?1 AND runs = ?2 AND exited_at IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![id, runs, step, due_at.millis()]))
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn exit_enrollment(&mut self, id: i64, reason: &str, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE enrollments SET exited_at = ?2, exit_reason = ?3, step = NULL, due_at = NULL
                 WHERE id = ?1 AND exited_at IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![id, now.millis(), reason]))
            .map_err(backend)?;
        Ok(n > 0)
    }
}
