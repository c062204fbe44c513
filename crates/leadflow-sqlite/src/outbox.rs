//! Webhooks and their deliveries (sent by jobs of the job queue), and anonymous website visitors.

use leadflow_core::{Email, EventKey, ExternalId, Grade, LeadId, Timestamp, Topic, VisitorId};
use leadflow_store::{
    ClaimedDelivery, DELIVERY_MAX_ATTEMPTS, DeliveryClaim, DeliveryRecord, DeliveryStatus, JobStatus, Notification,
    NotificationDetail, ScoreValues, StoreError, WebhookRecord,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::backend;

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

const WEBHOOK_COLUMNS: &str = "w.id, w.url, w.secret, w.topics, w.created_at";

fn read_webhook(r: &Row<'_>, at: usize) -> rusqlite::Result<Result<WebhookRecord, StoreError>> {
    let (id, url, secret, topics, created_at): (i64, String, String, String, i64) =
        (r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, r.get(at + 3)?, r.get(at + 4)?);
    let topics: Result<Vec<Topic>, StoreError> =
        topics.split_whitespace().map(|t| Topic::parse(t).ok_or_else(|| corrupt(format!("topic `{t}`")))).collect();
    Ok(topics.map(|topics| WebhookRecord { id, url, secret, topics, created_at: Timestamp::from_millis(created_at) }))
}

/// A delivery and its job's state (see `OutboxReads`): read from both.
const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.topic, d.lead_id, d.email, d.occurred_at, d.fit, d.engagement,
    d.total, d.bucket, d.grade, d.previous_bucket, j.status, j.attempts, j.due_at, d.last_status,
    j.last_error, j.finished_at, d.external_id, d.detail";
const DELIVERY_COLUMN_COUNT: usize = 20;
const DELIVERIES_AND_JOBS: &str =
    "webhook_deliveries d JOIN jobs j ON j.kind = 'webhook-delivery' AND j.key = CAST(d.id AS TEXT)";

fn read_delivery(r: &Row<'_>) -> rusqlite::Result<Result<DeliveryRecord, StoreError>> {
    let (topic, grade, status): (String, Option<String>, String) = (r.get(2)?, r.get(10)?, r.get(12)?);
    let (email, external_id): (Option<String>, Option<String>) = (r.get(4)?, r.get(18)?);
    let Some(topic) = Topic::parse(&topic) else { return Ok(Err(corrupt(format!("topic `{topic}`")))) };
    let Ok(email) = email.as_deref().map(Email::parse).transpose() else {
        return Ok(Err(corrupt(format!("email `{}`", email.unwrap_or_default()))));
    };
    let Ok(external_id) = external_id.as_deref().map(ExternalId::parse).transpose() else {
        return Ok(Err(corrupt(format!("external id `{}`", external_id.unwrap_or_default()))));
    };
    let score = match grade {
        None => None,
        Some(grade) => {
            let Some(grade) = Grade::parse(&grade) else { return Ok(Err(corrupt(format!("grade `{grade}`")))) };
            Some(ScoreValues { fit: r.get(6)?, engagement: r.get(7)?, total: r.get(8)?, bucket: r.get(9)?, grade })
        }
    };
    let detail = match r.get::<_, Option<String>>(19)?.as_deref().map(NotificationDetail::from_json).transpose() {
        Ok(detail) => detail,
        Err(e) => return Ok(Err(e)),
    };
    let Some(status) = JobStatus::parse(&status).map(DeliveryStatus::of_job) else {
        return Ok(Err(corrupt(format!("job status `{status}`"))));
    };
    let millis = |i: usize| r.get::<_, i64>(i).map(Timestamp::from_millis);
    let finished_at = r.get::<_, Option<i64>>(17)?.map(Timestamp::from_millis);
    Ok(Ok(DeliveryRecord {
        id: r.get(0)?,
        webhook: r.get(1)?,
        notification: Notification {
            topic,
            lead: LeadId(r.get(3)?),
            email,
            external_id,
            at: millis(5)?,
            score,
            previous_bucket: r.get(11)?,
            detail,
        },
        status,
        attempts: r.get(13)?,
        next_attempt_at: millis(14)?,
        last_status: r.get(15)?,
        last_error: r.get(16)?,
        delivered_at: finished_at.filter(|_| status == DeliveryStatus::Delivered),
    }))
}

pub fn webhooks(conn: &Connection) -> Result<Vec<WebhookRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks w WHERE w.deleted_at IS NULL ORDER BY w.id"))
        .map_err(backend)?;
    let rows = stmt.query_map([], |r| read_webhook(r, 0)).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?).collect()
}

pub fn deliveries(conn: &Connection, webhook: i64, limit: usize) -> Result<Vec<DeliveryRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM {DELIVERIES_AND_JOBS} WHERE d.webhook_id = ?1 ORDER BY d.id DESC LIMIT ?2"
        ))
        .map_err(backend)?;
    let rows = stmt.query_map(params![webhook, limit as i64], read_delivery).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?).collect()
}

/// Claims the jobs of what is due, in the caller's (write) transaction, and reads their
/// deliveries with their webhooks.
pub fn claim(conn: &Connection, claim: &DeliveryClaim) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let jobs = crate::jobs::claim(conn, &claim.jobs())?;
    let mut read = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS}, {WEBHOOK_COLUMNS} FROM {DELIVERIES_AND_JOBS}
             JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?1"
        ))
        .map_err(backend)?;
    let mut claimed = Vec::with_capacity(jobs.len());
    for job in jobs {
        // By the delivery's id, the job's key: the join finds its job through `(kind, key)`.
        let found = match job.key.parse::<i64>() {
            Ok(delivery) => read
                .query_row([delivery], |r| {
                    Ok(match (read_delivery(r)?, read_webhook(r, DELIVERY_COLUMN_COUNT)?) {
                        (Ok(d), Ok(w)) => Ok((d, w)),
                        (Err(e), _) | (_, Err(e)) => Err(e),
                    })
                })
                .optional()
                .map_err(backend)?
                .transpose()?,
            Err(_) => None,
        };
        match found {
            Some((delivery, webhook)) => claimed.push(ClaimedDelivery { ticket: job.ticket(), delivery, webhook }),
            // `verify` reports it; the others go on.
            None => give_up_orphan(conn, job.id, claim.now)?,
        }
    }
    Ok(claimed)
}

/// Ends a delivery job whose delivery is gone as failed, rather than failing every claim.
fn give_up_orphan(conn: &Connection, job: i64, now: Timestamp) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE jobs SET status = 'failed', finished_at = ?2, claimed_until = NULL,
             last_error = 'its delivery is gone' WHERE id = ?1",
    )
    .map_err(backend)?
    .execute(params![job, now.millis()])
    .map_err(backend)?;
    Ok(())
}

pub fn count_pending(conn: &Connection) -> Result<u64, StoreError> {
    conn.prepare_cached("SELECT count(*) FROM jobs WHERE kind = 'webhook-delivery' AND status = 'pending'")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(backend)
}

/// Keeps the receiver's answer to an attempt whose job the caller has just finished.
pub fn record_answer(conn: &Connection, delivery: i64, status: Option<u16>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE webhook_deliveries SET last_status = ?2 WHERE id = ?1")
        .map_err(backend)?
        .execute(params![delivery, status])
        .map_err(backend)?;
    Ok(())
}

pub fn create_webhook(
    conn: &Connection,
    url: &str,
    secret: &str,
    topics: &[Topic],
    now: Timestamp,
) -> Result<i64, StoreError> {
    let topics: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    conn.prepare_cached("INSERT INTO webhooks (url, secret, topics, created_at) VALUES (?1, ?2, ?3, ?4)")
        .map_err(backend)?
        .execute(params![url, secret, topics.join(" "), now.millis()])
        .map_err(backend)?;
    Ok(conn.last_insert_rowid())
}

pub fn delete_webhook(conn: &Connection, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("UPDATE webhooks SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL")
        .map_err(backend)?
        .execute(params![id, now.millis()])
        .map_err(backend)?;
    conn.prepare_cached(
        "UPDATE jobs SET status = 'cancelled', finished_at = ?2, claimed_until = NULL
         WHERE kind = 'webhook-delivery' AND pool = 'webhook:' || ?1 AND status = 'pending'",
    )
    .map_err(backend)?
    .execute(params![id, now.millis()])
    .map_err(backend)?;
    Ok(n > 0)
}

/// One delivery row per live webhook subscribed to the topic, each with its job, due when it
/// happened.
pub fn notify(conn: &Connection, n: &Notification) -> Result<(), StoreError> {
    let s = n.score.as_ref();
    let deliveries: Vec<(i64, i64)> = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (webhook_id, topic, lead_id, email, external_id, occurred_at, fit,
                 engagement, total, bucket, grade, previous_bucket, detail)
             SELECT id, ?1, ?2, ?3, ?11, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12 FROM webhooks
             WHERE deleted_at IS NULL AND instr(' ' || topics || ' ', ' ' || ?1 || ' ') > 0
             ORDER BY id
             RETURNING id, webhook_id",
        )
        .map_err(backend)?
        .query_map(
            params![
                n.topic.as_str(),
                n.lead.0,
                n.email.as_ref().map(Email::as_str),
                n.at.millis(),
                s.map(|s| s.fit),
                s.map(|s| s.engagement),
                s.map(|s| s.total),
                s.map(|s| s.bucket.as_str()),
                s.map(|s| s.grade.letter()),
                n.previous_bucket,
                n.external_id.as_ref().map(ExternalId::as_str),
                n.detail.as_ref().map(NotificationDetail::to_json),
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(backend)?
        .collect::<Result<_, _>>()
        .map_err(backend)?;
    let mut queue = conn
        .prepare_cached(
            "INSERT INTO jobs (kind, key, payload, due_at, max_attempts, created_at, lane, pool)
             VALUES ('webhook-delivery', CAST(?1 AS TEXT), '{\"webhook\":' || ?2 || ',\"topic\":\"' || ?3 || '\"}',
                     ?4, ?5, ?4, 'webhook:' || ?2 || ':lead:' || ?6, 'webhook:' || ?2)",
        )
        .map_err(backend)?;
    for (delivery, webhook) in deliveries {
        queue
            .execute(params![delivery, webhook, n.topic.as_str(), n.at.millis(), DELIVERY_MAX_ATTEMPTS, n.lead.0])
            .map_err(backend)?;
    }
    Ok(())
}

pub fn visitor_lead(conn: &Connection, visitor: &VisitorId) -> Result<Option<LeadId>, StoreError> {
    conn.prepare_cached("SELECT lead_id FROM visitors WHERE visitor_id = ?1")
        .and_then(|mut s| s.query_row([visitor.as_str()], |r| r.get(0)).optional())
        .map(|id| id.map(LeadId))
        .map_err(backend)
}

/// An anonymous event as its row holds it (its set-aside properties apart).
pub struct AnonymousRow<'a> {
    pub key: &'a EventKey,
    pub visitor: &'a VisitorId,
    pub ts: Timestamp,
    pub shape: u32,
}

/// Inserts an anonymous event; false when its key is taken among the anonymous ones (the caller
/// checks the leads' events).
pub fn insert_anonymous(
    conn: &Connection,
    row: &AnonymousRow<'_>,
    extra: Option<&str>,
    received_at: Timestamp,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO visitor_events (key, visitor_id, ts, shape_id, received_at, extra)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (key) DO NOTHING",
        )
        .map_err(backend)?
        .execute(params![
            row.key.as_str(),
            row.visitor.as_str(),
            row.ts.millis(),
            row.shape,
            received_at.millis(),
            extra
        ])
        .map_err(backend)?;
    Ok(n > 0)
}

/// An anonymous event as [`identify`] hands it over: key, time, shape id, and the properties
/// set aside (JSON).
pub type Gathered = (EventKey, Timestamp, u32, Option<String>);

/// Links the visitor to the lead and removes its anonymous events.
pub fn identify(
    conn: &Connection,
    visitor: &VisitorId,
    lead: LeadId,
    now: Timestamp,
) -> Result<Vec<Gathered>, StoreError> {
    conn.prepare_cached(
        "INSERT INTO visitors (visitor_id, lead_id, identified_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (visitor_id) DO UPDATE SET lead_id = excluded.lead_id, identified_at = excluded.identified_at",
    )
    .map_err(backend)?
    .execute(params![visitor.as_str(), lead.0, now.millis()])
    .map_err(backend)?;
    let mut stmt = conn
        .prepare_cached("SELECT key, ts, shape_id, extra FROM visitor_events WHERE visitor_id = ?1 ORDER BY ts, key")
        .map_err(backend)?;
    let rows = stmt
        .query_map([visitor.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, Timestamp::from_millis(r.get(1)?), r.get::<_, u32>(2)?, r.get(3)?))
        })
        .map_err(backend)?;
    let mut events = Vec::new();
    for row in rows {
        let (key, ts, shape, extra) = row.map_err(backend)?;
        events.push((EventKey::parse(&key).map_err(corrupt)?, ts, shape, extra));
    }
    conn.prepare_cached("DELETE FROM visitor_events WHERE visitor_id = ?1")
        .map_err(backend)?
        .execute([visitor.as_str()])
        .map_err(backend)?;
    Ok(events)
}

/// Grants up to `wanted` of what is left of the lead's `limit` for the day, and counts it.
pub fn take_public_quota(
    conn: &Connection,
    lead: LeadId,
    day: i64,
    wanted: u32,
    limit: u32,
) -> Result<u32, StoreError> {
    let used: u32 = conn
        .prepare_cached("SELECT used FROM public_quota WHERE lead_id = ?1 AND day = ?2")
        .and_then(|mut s| s.query_row(params![lead.0, day], |r| r.get(0)).optional())
        .map_err(backend)?
        .unwrap_or(0);
    let granted = wanted.min(limit.saturating_sub(used));
    if granted > 0 {
        conn.prepare_cached(
            "INSERT INTO public_quota (lead_id, day, used) VALUES (?1, ?2, ?3)
             ON CONFLICT (lead_id, day) DO UPDATE SET used = used + excluded.used",
        )
        .map_err(backend)?
        .execute(params![lead.0, day, granted])
        .map_err(backend)?;
    }
    Ok(granted)
}

/// Deletes the anonymous events received before the instant, and the day counts that ended
/// before it; returns how many events went.
pub fn expire_anonymous(conn: &Connection, received_before: Timestamp) -> Result<u64, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM visitor_events WHERE received_at < ?1")
        .map_err(backend)?
        .execute([received_before.millis()])
        .map_err(backend)?;
    conn.prepare_cached("DELETE FROM public_quota WHERE day < ?1")
        .map_err(backend)?
        .execute([received_before.day_index()])
        .map_err(backend)?;
    Ok(n as u64)
}

/// Erasing a lead erases what ties visitors to it and the deliveries that name it, with their
/// jobs.
pub fn erase_lead(conn: &Connection, lead: LeadId) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM jobs WHERE kind = 'webhook-delivery'
             AND key IN (SELECT CAST(id AS TEXT) FROM webhook_deliveries WHERE lead_id = ?1)",
        "DELETE FROM visitors WHERE lead_id = ?1",
        "DELETE FROM webhook_deliveries WHERE lead_id = ?1",
        "DELETE FROM public_quota WHERE lead_id = ?1",
    ] {
        conn.prepare_cached(sql).map_err(backend)?.execute([lead.0]).map_err(backend)?;
    }
    Ok(())
}
