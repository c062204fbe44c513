//! The emails nurture sequences send.

use leadflow_store::{
    Engagement, NewSend, SEND_COLUMNS, SendCounts, SendGrouping, SendQuery, SendReads, SendRecord, SendRow, SendStatus,
    SendWrites, SentEmail, send_counts_sql,
};

use super::*;

fn read_send(r: &rusqlite::Row<'_>) -> rusqlite::Result<SendRow> {
    Ok(SendRow {
        id: r.get(0)?,
        enrollment: r.get(1)?,
        run: r.get(2)?,
        lead: r.get(3)?,
        sequence: r.get(4)?,
        step: r.get(5)?,
        variant: r.get(6)?,
        template: r.get(7)?,
        template_version: r.get(8)?,
        status: r.get(9)?,
        due_at: r.get(10)?,
        to: r.get(11)?,
        from: r.get(12)?,
        message_id: r.get(13)?,
        sent_at: r.get(14)?,
        error: r.get(15)?,
        created_at: r.get(16)?,
    })
}

fn sends(conn: &Connection, q: &SendQuery) -> Result<Vec<SendRecord>, StoreError> {
    let mut conds = vec!["1 = 1".to_string()];
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(id) = q.id {
        args.push(id.into());
        conds.push(format!("id = ?{}", args.len()));
    }
    if let Some(enrollment) = q.enrollment {
        args.push(enrollment.into());
        conds.push(format!("enrollment_id = ?{}", args.len()));
    }
    if let Some(lead) = q.lead {
        args.push(lead.0.into());
        conds.push(format!("lead_id = ?{}", args.len()));
    }
    if let Some(sequence) = &q.sequence {
        args.push(sequence.clone().into());
        conds.push(format!("sequence = ?{}", args.len()));
    }
    args.push(i64::try_from(q.limit).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT {SEND_COLUMNS} FROM email_sends WHERE {} ORDER BY id DESC LIMIT ?{}",
        conds.join(" AND "),
        args.len()
    );
    let mut stmt = conn.prepare(&sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(args), read_send).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?.try_into()).collect()
}

impl SendReads for SqliteStore {
    fn sends(&self, query: &SendQuery) -> Result<Vec<SendRecord>, StoreError> {
        sends(&self.conn, query)
    }

    fn send_counts(&self, sequence: Option<&str>, by: SendGrouping) -> Result<Vec<SendCounts>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&send_counts_sql("?1", by)).map_err(backend)?;
        let n = |r: &rusqlite::Row<'_>, i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
        let rows = stmt
            .query_map(params![sequence], |r| {
                Ok(SendCounts {
                    sequence: r.get(0)?,
                    step: r.get(1)?,
                    variant: r.get(2)?,
                    template: r.get(3)?,
                    scheduled: n(r, 4)?,
                    sent: n(r, 5)?,
                    failed: n(r, 6)?,
                    cancelled: n(r, 7)?,
                    opened: n(r, 8)?,
                    clicked: n(r, 9)?,
                    replied: n(r, 10)?,
                    bounced: n(r, 11)?,
                    unsubscribed: n(r, 12)?,
                    complained: n(r, 13)?,
                    mql_after: n(r, 14)?,
                    won_after: n(r, 15)?,
                })
            })
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend)).collect()
    }
}

impl SendWrites for SqliteTx<'_> {
    fn schedule_send(&mut self, new: &NewSend<'_>, now: Timestamp) -> Result<Option<i64>, StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO email_sends
                   (enrollment_id, run, lead_id, sequence, step, variant, template, status, due_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'scheduled', ?8, ?9)
                 ON CONFLICT (enrollment_id, run) DO NOTHING
                 RETURNING id",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        new.enrollment,
                        new.run,
                        new.lead.0,
                        new.sequence,
                        new.step,
                        new.variant,
                        new.template,
                        new.due_at.millis(),
                        now.millis()
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(backend)
    }

    fn send_now(&mut self, id: i64) -> Result<Option<SendRecord>, StoreError> {
        let row = self
            .tx
            .prepare_cached(&format!("SELECT {SEND_COLUMNS} FROM email_sends WHERE id = ?1"))
            .and_then(|mut stmt| stmt.query_row(params![id], read_send).optional())
            .map_err(backend)?;
        row.map(SendRecord::try_from).transpose()
    }

    fn lead_send_times(&mut self, lead: LeadId, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT COALESCE(sent_at, due_at) FROM email_sends
                 WHERE lead_id = ?1 AND status IN ('scheduled', 'sent') AND COALESCE(sent_at, due_at) >= ?2",
            )
            .map_err(backend)?;
        let rows = stmt.query_map(params![lead.0, since.millis()], |r| r.get::<_, i64>(0)).map_err(backend)?;
        rows.map(|r| r.map(Timestamp::from_millis).map_err(backend)).collect()
    }

    fn postpone_send(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("UPDATE email_sends SET due_at = ?2 WHERE id = ?1 AND status = 'scheduled'")
            .and_then(|mut stmt| stmt.execute(params![id, due_at.millis()]))
            .map_err(backend)?;
        Ok(())
    }

    fn mark_sent(&mut self, id: i64, sent: &SentEmail<'_>) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "UPDATE email_sends SET status = 'sent', to_address = ?2, from_address = ?3, message_id = ?4,
                   template_version = ?5, sent_at = ?6
                 WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![id, sent.to, sent.from, sent.message_id, sent.template_version, sent.at.millis()])
            })
            .map_err(backend)?;
        Ok(())
    }

    fn end_send(&mut self, id: i64, status: SendStatus, why: &str) -> Result<bool, StoreError> {
        let n = self
            .tx
            .prepare_cached("UPDATE email_sends SET status = ?2, error = ?3 WHERE id = ?1 AND status = 'scheduled'")
            .and_then(|mut stmt| stmt.execute(params![id, status.as_str(), why]))
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn cancel_sends(&mut self, enrollment: i64, why: &str) -> Result<u64, StoreError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE email_sends SET status = 'cancelled', error = ?2
                 WHERE enrollment_id = ?1 AND status = 'scheduled'",
            )
            .and_then(|mut stmt| stmt.execute(params![enrollment, why]))
            .map_err(backend)?;
        Ok(n as u64)
    }

    fn mark_engagement(&mut self, id: i64, what: Engagement, at: Timestamp) -> Result<bool, StoreError> {
        let column = what.column();
        let n = self
            .tx
            .prepare_cached(&format!("UPDATE email_sends SET {column} = ?2 WHERE id = ?1 AND {column} IS NULL"))
            .and_then(|mut stmt| stmt.execute(params![id, at.millis()]))
            .map_err(backend)?;
        Ok(n > 0)
    }
}
