//! Webhooks and their deliveries, each sent by a job of the job queue.

use leadflow_core::{Email, ExternalId, Grade, LeadId, Timestamp, Topic};
use leadflow_store::{
    AttemptOutcome, ClaimedDelivery, DELIVERY_MAX_ATTEMPTS, DeliveryClaim, DeliveryRecord, DeliveryStatus, JobStatus,
    JobTicket, Notification, NotificationDetail, OutboxReads, OutboxWrites, ScoreValues, StoreError, WebhookRecord,
};
use postgres::Row;

use crate::sql::Sql;

use crate::jobs::FINISH;
use crate::{PgStore, PgTx, backend, corrupt};

const WEBHOOK_COLUMNS: &str = "w.id, w.url, w.secret, w.topics, w.created_at";

fn read_webhook(r: &Row, at: usize) -> Result<WebhookRecord, StoreError> {
    let topics: String = r.get(at + 3);
    let topics = topics
        .split_whitespace()
        .map(|t| Topic::parse(t).ok_or_else(|| corrupt(format!("topic `{t}`"))))
        .collect::<Result<_, _>>()?;
    Ok(WebhookRecord {
        id: r.get(at),
        url: r.get(at + 1),
        secret: r.get(at + 2),
        topics,
        created_at: Timestamp::from_millis(r.get(at + 4)),
    })
}

/// A delivery and its job's state (see `OutboxReads`): read from both.
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.topic, d.lead_id, d.email, d.occurred_at, d.fit, d.engagement,
    d.total, d.bucket, d.grade, d.previous_bucket, j.status, j.attempts, j.due_at, d.last_status,
    j.last_error, j.finished_at, d.external_id, d.detail";
const DELIVERY_COLUMN_COUNT: usize = 20;
const DELIVERIES_AND_JOBS: &str =
    "webhook_deliveries d JOIN jobs j ON j.kind = 'webhook-delivery' AND j.key = d.id::TEXT";

fn read_delivery(r: &Row) -> Result<DeliveryRecord, StoreError> {
    let (topic, grade, status): (String, Option<String>, String) = (r.get(2), r.get(10), r.get(12));
    let topic = Topic::parse(&topic).ok_or_else(|| corrupt(format!("topic `{topic}`")))?;
    let score = match grade {
        None => None,
        Some(grade) => {
            let grade = Grade::parse(&grade).ok_or_else(|| corrupt(format!("grade `{grade}`")))?;
            Some(ScoreValues { fit: r.get(6), engagement: r.get(7), total: r.get(8), bucket: r.get(9), grade })
        }
    };
    let detail = r.get::<_, Option<String>>(19).as_deref().map(NotificationDetail::from_json).transpose()?;
    let status = JobStatus::parse(&status)
        .map(DeliveryStatus::of_job)
        .ok_or_else(|| corrupt(format!("job status `{status}`")))?;
    let email = r.get::<_, Option<String>>(4).as_deref().map(Email::parse).transpose().map_err(corrupt)?;
    let external_id = r.get::<_, Option<String>>(18).as_deref().map(ExternalId::parse).transpose().map_err(corrupt)?;
    let number = |i: usize, what: &str| -> Result<u32, StoreError> {
        u32::try_from(r.get::<_, i64>(i)).map_err(|_| corrupt(what))
    };
    let finished_at = r.get::<_, Option<i64>>(17).map(Timestamp::from_millis);
    Ok(DeliveryRecord {
        id: r.get(0),
        webhook: r.get(1),
        notification: Notification {
            topic,
            lead: LeadId(r.get(3)),
            email,
            external_id,
            at: Timestamp::from_millis(r.get(5)),
            score,
            previous_bucket: r.get(11),
            detail,
        },
        status,
        attempts: number(13, "attempts")?,
        next_attempt_at: Timestamp::from_millis(r.get(14)),
        last_status: r
            .get::<_, Option<i64>>(15)
            .map(|s| u16::try_from(s).map_err(|_| corrupt("status")))
            .transpose()?,
        last_error: r.get(16),
        delivered_at: finished_at.filter(|_| status == DeliveryStatus::Delivered),
    })
}

impl OutboxReads for PgStore {
    fn webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let rows = self
            .conn()
            .query(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.deleted_at IS NULL ORDER BY w.id"), &[])
            .map_err(backend)?;
        rows.iter().map(|r| read_webhook(r, 0)).collect()
    }

    fn deliveries(&self, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError> {
        let rows = self
            .conn()
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS} FROM {DELIVERIES_AND_JOBS} WHERE d.webhook_id = $1
                     ORDER BY d.id DESC LIMIT $2"
                ),
                &[&webhook, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_delivery).collect()
    }

    fn claim_deliveries(&mut self, claim: &DeliveryClaim) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut tx = self.own_transaction()?;
        let jobs = crate::jobs::claim(&mut tx, &claim.jobs())?;
        // By the deliveries' ids, their jobs' keys: the join finds each job through `(kind, key)`.
        let deliveries: Vec<i64> = jobs.iter().filter_map(|j| j.key.parse().ok()).collect();
        let rows = tx
            .query(
                &format!(
                    "SELECT {DELIVERY_COLUMNS}, {WEBHOOK_COLUMNS}, j.id FROM {DELIVERIES_AND_JOBS}
                     JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ANY($1)"
                ),
                &[&deliveries],
            )
            .map_err(backend)?;
        let mut read = rows
            .iter()
            .map(|r| {
                let job: i64 = r.get(DELIVERY_COLUMN_COUNT + 5);
                Ok((job, (read_delivery(r)?, read_webhook(r, DELIVERY_COLUMN_COUNT)?)))
            })
            .collect::<Result<std::collections::HashMap<_, _>, StoreError>>()?;
        let mut claimed = Vec::with_capacity(jobs.len());
        let mut orphans = Vec::new();
        for job in &jobs {
            match read.remove(&job.id) {
                Some((delivery, webhook)) => claimed.push(ClaimedDelivery { ticket: job.ticket(), delivery, webhook }),
                None => orphans.push(job.id),
            }
        }
        // A delivery job whose delivery is gone ends as failed rather than failing every claim
        // (`verify` reports it).
        if !orphans.is_empty() {
            tx.execute(
                "UPDATE jobs SET status = 'failed', finished_at = $2, claimed_until = NULL,
                     last_error = 'its delivery is gone' WHERE id = ANY($1)",
                &[&orphans, &claim.now.millis()],
            )
            .map_err(backend)?;
        }
        tx.conn.commit().map_err(backend)?;
        Ok(claimed)
    }

    fn count_pending_deliveries(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_one("SELECT count(*) FROM jobs WHERE kind = 'webhook-delivery' AND status = 'pending'", &[])
            .map_err(backend)?
            .get(0);
        Ok(n as u64)
    }

    /// One statement (its own transaction): the job finished, and the answer kept if it was.
    fn record_attempt(
        &mut self,
        ticket: JobTicket,
        delivery: i64,
        outcome: &AttemptOutcome,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let ended = outcome.job_outcome();
        let (status, due_at, error) = ended.row();
        let (status, due_at) = (status.as_str(), due_at.map(Timestamp::millis));
        let finished: i64 = self
            .conn()
            .query_one(
                &format!(
                    "WITH finished AS ({FINISH}),
                     answered AS (
                         UPDATE webhook_deliveries SET last_status = $8
                         WHERE id = $7 AND EXISTS (SELECT 1 FROM finished)
                     )
                     SELECT count(*) FROM finished"
                ),
                &[
                    &ticket.id,
                    &i64::from(ticket.attempt),
                    &status,
                    &due_at,
                    &error,
                    &now.millis(),
                    &delivery,
                    &outcome.http_status().map(i64::from),
                ],
            )
            .map_err(backend)?
            .get(0);
        Ok(finished == 1)
    }
}

impl OutboxWrites for PgTx<'_> {
    fn create_webhook(&mut self, url: &str, secret: &str, topics: &[Topic], now: Timestamp) -> Result<i64, StoreError> {
        let topics: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
        let row = self
            .tx
            .query_one(
                "INSERT INTO webhooks (url, secret, topics, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&url, &secret, &topics.join(" "), &now.millis()],
            )
            .map_err(backend)?;
        Ok(row.get(0))
    }

    fn delete_webhook(&mut self, id: i64, now: Timestamp) -> Result<bool, StoreError> {
        let n = self
            .tx
            .execute("UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL", &[&id, &now.millis()])
            .map_err(backend)?;
        self.tx
            .execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = $2, claimed_until = NULL
                 WHERE kind = 'webhook-delivery' AND pool = 'webhook:' || $1::BIGINT AND status = 'pending'",
                &[&id, &now.millis()],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn notify(&mut self, notification: &Notification) -> Result<(), StoreError> {
        notify_all(&mut self.tx, &[notification])
    }
}

/// Queues a delivery of each notification to every live webhook subscribed to its topic, each
/// with its job, in one statement (a rescore's batch announces thousands of leads), in the
/// caller's transaction: in the notifications' order, so that one lead's deliveries (and their
/// jobs' lane) stay in the order they happened.
pub(crate) fn notify_all(conn: &mut impl Sql, notifications: &[&Notification]) -> Result<(), StoreError> {
    if notifications.is_empty() {
        return Ok(());
    }
    let topics: Vec<&str> = notifications.iter().map(|n| n.topic.as_str()).collect();
    let leads: Vec<i64> = notifications.iter().map(|n| n.lead.0).collect();
    let emails: Vec<Option<&str>> = notifications.iter().map(|n| n.email.as_ref().map(Email::as_str)).collect();
    let external: Vec<Option<&str>> =
        notifications.iter().map(|n| n.external_id.as_ref().map(ExternalId::as_str)).collect();
    let at: Vec<i64> = notifications.iter().map(|n| n.at.millis()).collect();
    let value = |f: fn(&ScoreValues) -> f64| -> Vec<Option<f64>> {
        notifications.iter().map(|n| n.score.as_ref().map(f)).collect()
    };
    let (fit, engagement, total) = (value(|s| s.fit), value(|s| s.engagement), value(|s| s.total));
    let buckets: Vec<Option<&str>> =
        notifications.iter().map(|n| n.score.as_ref().map(|s| s.bucket.as_str())).collect();
    let grades: Vec<Option<&str>> = notifications.iter().map(|n| n.score.as_ref().map(|s| s.grade.letter())).collect();
    let previous: Vec<Option<&str>> = notifications.iter().map(|n| n.previous_bucket.as_deref()).collect();
    let details: Vec<Option<String>> =
        notifications.iter().map(|n| n.detail.as_ref().map(NotificationDetail::to_json)).collect();
    conn.execute(
        "WITH delivery AS (
         INSERT INTO webhook_deliveries (webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement,
             total, bucket, grade, previous_bucket, detail)
         SELECT w.id, n.topic, n.lead_id, n.email, n.external_id, n.at, n.fit, n.engagement, n.total, n.bucket,
                n.grade, n.previous_bucket, n.detail
         FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::DOUBLE PRECISION[],
                     $7::DOUBLE PRECISION[], $8::DOUBLE PRECISION[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
                     $12::TEXT[])
              WITH ORDINALITY AS n (topic, lead_id, email, external_id, at, fit, engagement, total, bucket, grade,
                                    previous_bucket, detail, i)
         JOIN webhooks w ON w.deleted_at IS NULL AND n.topic = ANY (string_to_array(w.topics, ' '))
         ORDER BY n.i, w.id
         RETURNING id, webhook_id, topic, lead_id, occurred_at)
         INSERT INTO jobs (kind, key, payload, due_at, max_attempts, created_at, lane, pool)
         SELECT 'webhook-delivery', id::TEXT, '{\"webhook\":' || webhook_id || ',\"topic\":\"' || topic || '\"}',
                occurred_at, $13, occurred_at, 'webhook:' || webhook_id || ':lead:' || lead_id, 'webhook:' || webhook_id
         FROM delivery ORDER BY id",
        &[
            &topics,
            &leads,
            &emails,
            &external,
            &at,
            &fit,
            &engagement,
            &total,
            &buckets,
            &grades,
            &previous,
            &details,
            &i64::from(DELIVERY_MAX_ATTEMPTS),
        ],
    )
    .map_err(backend)?;
    Ok(())
}
