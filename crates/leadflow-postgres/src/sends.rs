//! The emails nurture sequences send.

use leadflow_core::{LeadId, Timestamp};
use leadflow_store::{
    Engagement, NewSend, SEND_COLUMNS, SendCounts, SendGrouping, SendQuery, SendReads, SendRecord, SendRow, SendStatus,
    SendWrites, SentEmail, StoreError, send_counts_sql,
};
use postgres::Row;
use postgres::types::ToSql;

use crate::sql::Sql;
use crate::{PgStore, PgTx, backend};

fn read_send(r: &Row) -> Result<SendRecord, StoreError> {
    SendRow {
        id: r.get(0),
        enrollment: r.get(1),
        run: r.get(2),
        lead: r.get(3),
        sequence: r.get(4),
        step: r.get(5),
        variant: r.get(6),
        template: r.get(7),
        template_version: r.get(8),
        status: r.get(9),
        due_at: r.get(10),
        to: r.get(11),
        from: r.get(12),
        message_id: r.get(13),
        sent_at: r.get(14),
        error: r.get(15),
        created_at: r.get(16),
    }
    .try_into()
}

fn sends(conn: &mut impl Sql, q: &SendQuery) -> Result<Vec<SendRecord>, StoreError> {
    let mut conds = vec!["TRUE".to_string()];
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    if let Some(id) = q.id {
        args.push(Box::new(id));
        conds.push(format!("id = ${}", args.len()));
    }
    if let Some(enrollment) = q.enrollment {
        args.push(Box::new(enrollment));
        conds.push(format!("enrollment_id = ${}", args.len()));
    }
    if let Some(lead) = q.lead {
        args.push(Box::new(lead.0));
        conds.push(format!("lead_id = ${}", args.len()));
    }
    if let Some(sequence) = &q.sequence {
        args.push(Box::new(sequence.clone()));
        conds.push(format!("sequence = ${}", args.len()));
    }
    args.push(Box::new(i64::try_from(q.limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {SEND_COLUMNS} FROM email_sends WHERE {} ORDER BY id DESC LIMIT ${}",
        conds.join(" AND "),
        args.len()
    );
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
    conn.query(&sql, &params).map_err(backend)?.iter().map(read_send).collect()
}

impl SendReads for PgStore {
    fn sends(&self, query: &SendQuery) -> Result<Vec<SendRecord>, StoreError> {
        sends(&mut self.conn(), query)
    }

    fn send_counts(&self, sequence: Option<&str>, by: SendGrouping) -> Result<Vec<SendCounts>, StoreError> {
        let rows = self.conn().query(&send_counts_sql("$1::TEXT", by), &[&sequence]).map_err(backend)?;
        let n = |r: &Row, i: usize| r.get::<_, i64>(i).max(0) as u64;
        Ok(rows
            .iter()
            .map(|r| SendCounts {
                sequence: r.get(0),
                step: r.get(1),
                variant: r.get(2),
                template: r.get(3),
                scheduled: n(r, 4),
                sent: n(r, 5),
                failed: n(r, 6),
                cancelled: n(r, 7),
                opened: n(r, 8),
                clicked: n(r, 9),
                replied: n(r, 10),
                bounced: n(r, 11),
                unsubscribed: n(r, 12),
                complained: n(r, 13),
                mql_after: n(r, 14),
                won_after: n(r, 15),
            })
            .collect())
    }
}

impl SendWrites for PgTx<'_> {
    fn schedule_send(&mut self, new: &NewSend<'_>, now: Timestamp) -> Result<Option<i64>, StoreError> {
        let row = self
            .tx
            .query_opt(
                "INSERT INTO email_sends
                   (enrollment_id, run, lead_id, sequence, step, variant, template, status, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', $8, $9)
                 ON CONFLICT (enrollment_id, run) DO NOTHING
                 RETURNING id",
                &[
                    &new.enrollment,
                    &i64::from(new.run),
                    &new.lead.0,
                    &new.sequence,
                    &new.step,
                    &new.variant,
                    &new.template,
                    &new.due_at.millis(),
                    &now.millis(),
                ],
            )
            .map_err(backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    fn send_now(&mut self, id: i64) -> Result<Option<SendRecord>, StoreError> {
        let row = self
            .tx
            .query_opt(&format!("SELECT {SEND_COLUMNS} FROM email_sends WHERE id = $1"), &[&id])
            .map_err(backend)?;
        row.as_ref().map(read_send).transpose()
    }

    fn lead_send_times(&mut self, lead: LeadId, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let rows = self
            .tx
            .query(
                "SELECT COALESCE(sent_at, due_at) FROM email_sends
                 WHERE lead_id = $1 AND status IN ('scheduled', 'sent') AND COALESCE(sent_at, due_at) >= $2",
                &[&lead.0, &since.millis()],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| Timestamp::from_millis(r.get(0))).collect())
    }

    fn postpone_send(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.tx
            .execute(
                "UPDATE email_sends SET due_at = $2 WHERE id = $1 AND status = 'scheduled'",
                &[&id, &due_at.millis()],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn mark_sent(&mut self, id: i64, sent: &SentEmail<'_>) -> Result<(), StoreError> {
        self.tx
            .execute(
                "UPDATE email_sends SET status = 'sent', to_address = $2, from_address = $3, message_id = $4,
                   template_version = $5, sent_at = $6
                 WHERE id = $1",
                &[&id, &sent.to, &sent.from, &sent.message_id, &sent.template_version, &sent.at.millis()],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn end_send(&mut self, id: i64, status: SendStatus, why: &str) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute(
                "UPDATE email_sends SET status = $2, error = $3 WHERE id = $1 AND status = 'scheduled'",
                &[&id, &status.as_str(), &why],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn cancel_sends(&mut self, enrollment: i64, why: &str) -> Result<u64, StoreError> {
        self.tx
            .execute(
                "UPDATE email_sends SET status = 'cancelled', error = $2
                 WHERE enrollment_id = $1 AND status = 'scheduled'",
                &[&enrollment, &why],
            )
            .map_err(backend)
    }

    fn mark_engagement(&mut self, id: i64, what: Engagement, at: Timestamp) -> Result<bool, StoreError> {
        let column = what.column();
        let n = self
            .tx
            .execute(
                &format!("UPDATE email_sends SET {column} = $2 WHERE id = $1 AND {column} IS NULL"),
                &[&id, &at.millis()],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }
}
