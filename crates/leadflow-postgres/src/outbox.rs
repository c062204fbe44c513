//! Webhooks and the outbox of their deliveries.

use leadflow_core::{Email, ExternalId, Grade, LeadId, Timestamp, Topic};
use leadflow_store::{
    AttemptOutcome, DeliveryClaim, DeliveryRecord, DeliveryStatus, Notification, NotificationDetail, OutboxReads,
    OutboxWrites, ScoreValues, StoreError, WebhookRecord,
};
use postgres::Row;

use crate::sql::Sql;

use crate::{PgStore, PgTx, backend, corrupt};

/// The advisory lock delivery claims take turns on ("lf" "cl").
const CLAIM_LOCK: i64 = 0x6c66_636c;

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

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.topic, d.lead_id, d.email, d.occurred_at, d.fit, d.engagement,
    d.total, d.bucket, d.grade, d.previous_bucket, d.status, d.attempts, d.next_attempt_at, d.last_status,
    d.last_error, d.delivered_at, d.external_id, d.detail";
const DELIVERY_COLUMN_COUNT: usize = 20;

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
    let status = DeliveryStatus::parse(&status).ok_or_else(|| corrupt(format!("status `{status}`")))?;
    let email = r.get::<_, Option<String>>(4).as_deref().map(Email::parse).transpose().map_err(corrupt)?;
    let external_id = r.get::<_, Option<String>>(18).as_deref().map(ExternalId::parse).transpose().map_err(corrupt)?;
    let number = |i: usize, what: &str| -> Result<u32, StoreError> {
        u32::try_from(r.get::<_, i64>(i)).map_err(|_| corrupt(what))
    };
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
        delivered_at: r.get::<_, Option<i64>>(17).map(Timestamp::from_millis),
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
                &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2"),
                &[&webhook, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(backend)?;
        rows.iter().map(read_delivery).collect()
    }

    /// Claimers take turns (a transaction-scoped advisory lock): the query that picks what is
    /// claimable counts the claims each webhook holds, which row locks alone could not keep
    /// exact. A claim is a few milliseconds; senders claim every second or so.
    fn claim_deliveries(&mut self, claim: &DeliveryClaim) -> Result<Vec<(DeliveryRecord, WebhookRecord)>, StoreError> {
        let mut tx = self.own_transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CLAIM_LOCK]).map_err(backend)?;
        let rows = tx
            .query(
                &format!(
                    "WITH candidates AS (
                         SELECT d.id, d.webhook_id, d.next_attempt_at,
                                row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS place
                         FROM webhook_deliveries d
                         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND coalesce(d.claimed_until, 0) <= $1
                           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e
                                           WHERE e.lead_id = d.lead_id AND e.webhook_id = d.webhook_id
                                             AND e.status = 'pending' AND e.id < d.id)
                     ),
                     held AS (
                         SELECT webhook_id, count(*) AS claims FROM webhook_deliveries
                         WHERE status = 'pending' AND claimed_until > $1 GROUP BY webhook_id
                     ),
                     chosen AS (
                         SELECT c.id FROM candidates c LEFT JOIN held h ON h.webhook_id = c.webhook_id
                         WHERE c.place + coalesce(h.claims, 0) <= $2
                         ORDER BY c.next_attempt_at, c.id LIMIT $3
                     ),
                     claimed AS (
                         UPDATE webhook_deliveries d SET claimed_until = $4 FROM chosen WHERE d.id = chosen.id
                         RETURNING d.*
                     )
                     SELECT {DELIVERY_COLUMNS}, {WEBHOOK_COLUMNS} FROM claimed d JOIN webhooks w ON w.id = d.webhook_id
                     ORDER BY d.next_attempt_at, d.id"
                ),
                &[
                    &claim.now.millis(),
                    &i64::try_from(claim.per_webhook).unwrap_or(i64::MAX),
                    &i64::try_from(claim.limit).unwrap_or(i64::MAX),
                    &claim.lease_until.millis(),
                ],
            )
            .map_err(backend)?;
        let claimed = rows.iter().map(|r| Ok((read_delivery(r)?, read_webhook(r, DELIVERY_COLUMN_COUNT)?))).collect();
        tx.conn.commit().map_err(backend)?;
        claimed
    }

    fn count_pending_deliveries(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_one("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'", &[])
            .map_err(backend)?
            .get(0);
        Ok(n as u64)
    }

    fn record_attempt(&mut self, id: i64, outcome: &AttemptOutcome, at: Timestamp) -> Result<(), StoreError> {
        let (status, http, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status } => ("delivered", Some(*status), None, None, Some(at.millis())),
            AttemptOutcome::Retry { status, error, next_attempt_at } => {
                ("pending", *status, Some(error.as_str()), Some(next_attempt_at.millis()), None)
            }
            AttemptOutcome::Failed { status, error } => ("failed", *status, Some(error.as_str()), None, None),
        };
        let http = http.map(i64::from);
        self.conn()
            .execute(
                "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
                     next_attempt_at = coalesce($5, next_attempt_at), delivered_at = $6, claimed_until = NULL
                 WHERE id = $1 AND status = 'pending'",
                &[&id, &status, &http, &error, &next, &delivered],
            )
            .map_err(backend)?;
        Ok(())
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
                "UPDATE webhook_deliveries SET status = 'cancelled' WHERE webhook_id = $1 AND status = 'pending'",
                &[&id],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn notify(&mut self, notification: &Notification) -> Result<(), StoreError> {
        notify_all(&mut self.tx, &[notification])
    }
}

/// One delivery row per live webhook subscribed to the topic, in the caller's transaction.
/// Queues a delivery of each notification to every live webhook subscribed to its topic, in one
/// statement (a rescore's batch announces thousands of leads): in the notifications' order, so
/// that one lead's deliveries stay in the order they happened.
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
        "INSERT INTO webhook_deliveries (webhook_id, topic, lead_id, email, external_id, occurred_at, fit, engagement,
             total, bucket, grade, previous_bucket, detail, status, next_attempt_at)
         SELECT w.id, n.topic, n.lead_id, n.email, n.external_id, n.at, n.fit, n.engagement, n.total, n.bucket,
                n.grade, n.previous_bucket, n.detail, 'pending', n.at
         FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::DOUBLE PRECISION[],
                     $7::DOUBLE PRECISION[], $8::DOUBLE PRECISION[], $9::TEXT[], $10::TEXT[], $11::TEXT[],
                     $12::TEXT[])
              WITH ORDINALITY AS n (topic, lead_id, email, external_id, at, fit, engagement, total, bucket, grade,
                                    previous_bucket, detail, i)
         JOIN webhooks w ON w.deleted_at IS NULL AND n.topic = ANY (string_to_array(w.topics, ' '))
         ORDER BY n.i, w.id",
        &[&topics, &leads, &emails, &external, &at, &fit, &engagement, &total, &buckets, &grades, &previous, &details],
    )
    .map_err(backend)?;
    Ok(())
}
