//! The delivery worker: sends the webhook deliveries the job queue holds, each receiver at its
//! own pace.
//!
//! A round claims the delivery jobs that are due (`Engine::claim_deliveries`): each goes to one
//! round of one server, however many servers share the database, and is that round's until its
//! lease ends; one lead's deliveries to one webhook share a lane of the queue, where only the
//! earliest is claimable, so everything a round takes may go at once without reordering one
//! lead's news. A receiver is a pool of the queue: it gets at most `webhooks.concurrency`
//! deliveries at a time from all servers together, and each is recorded (its job finished) as
//! soon as it is answered: one that is slow (or never answers, until the timeout) holds back only
//! its own deliveries. The server starts a round on every tick without waiting for the last one.
//! A server that dies while sending leaves its claims to expire and another to send them again:
//! at least once, as receivers are told; the answer its first sender gets later is dropped, and
//! a claim past the last attempt is given up unsent.

use std::time::Duration;

use leadflow_core::Timestamp;
use leadflow_store::{AttemptOutcome, Backend, DELIVERY_MAX_ATTEMPTS, DeliveryRecord, WebhookRecord};

use crate::config::WebhookConfig;
use crate::metrics::OutcomeLabels;
use crate::webhooks::{DELIVERY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, signature};
use crate::{ApiError, AppState};

/// What one round of deliveries did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
    /// Answered after the claim's lease ran out (another sender had it by then): not recorded.
    pub lost: usize,
}

/// How long a claim lasts beyond the receiver's timeout: time to record the answer (a few
/// milliseconds, given plenty).
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// Claims the deliveries due now (up to a few hundred), sends them, records each outcome as it
/// comes, and says how many went which way. The server runs it on a timer; tests call it directly.
pub async fn deliver_due<S: Backend>(state: &AppState<S>, client: &reqwest::Client) -> Result<DeliveryRound, ApiError> {
    let config = state.config.webhooks.clone();
    let lease = Duration::from_secs(config.timeout_secs.max(1)) + LEASE_MARGIN;
    let per_webhook = config.concurrency.max(1);
    let claimed = state.write(move |engine| Ok(engine.claim_deliveries(500, per_webhook, lease)?)).await?;
    let sends = claimed.into_iter().map(|claimed| {
        let config = &config;
        async move {
            // A claim past the last attempt (its sender died during it) is not sent again.
            let outcome = if claimed.delivery.attempts > most_attempts(config) {
                AttemptOutcome::Failed { status: None, error: "its last attempt ran out of its lease".into() }
            } else {
                let result = attempt(client, config, &claimed.delivery, &claimed.webhook).await;
                outcome_of(config, &claimed.delivery, result, state.now())
            };
            let label = match outcome {
                AttemptOutcome::Delivered { .. } => "delivered",
                AttemptOutcome::Retry { .. } => "retry",
                AttemptOutcome::Failed { .. } => "failed",
            };
            state.metrics.webhook_deliveries.get_or_create(&OutcomeLabels { outcome: label }).inc();
            let (ticket, id) = (claimed.ticket, claimed.delivery.id);
            let recorded = state.write(move |engine| Ok(engine.record_attempt(ticket, id, &outcome)?)).await?;
            Ok::<_, ApiError>(if recorded { label } else { "lost" })
        }
    });
    let mut round = DeliveryRound::default();
    for result in futures_util::future::join_all(sends).await {
        match result? {
            "delivered" => round.delivered += 1,
            "retry" => round.retried += 1,
            "lost" => round.lost += 1,
            _ => round.failed += 1,
        }
    }
    Ok(round)
}

/// What an attempt's result means for its delivery: done, retried after a backoff, or given up
/// (its claim is its `delivery.attempts`-th attempt; `webhooks.max_attempts` allows at most
/// [`DELIVERY_MAX_ATTEMPTS`]).
fn outcome_of(
    config: &WebhookConfig,
    delivery: &DeliveryRecord,
    result: Result<u16, (Option<u16>, String)>,
    now: Timestamp,
) -> AttemptOutcome {
    match result {
        Ok(status) => AttemptOutcome::Delivered { status },
        Err((status, error)) if delivery.attempts >= most_attempts(config) => AttemptOutcome::Failed { status, error },
        Err((status, error)) => AttemptOutcome::Retry {
            status,
            error,
            next_attempt_at: Timestamp::from_millis(
                now.millis() + backoff(config, delivery.attempts.saturating_sub(1)).as_millis() as i64,
            ),
        },
    }
}

/// The attempts a delivery gets: `webhooks.max_attempts`, [`DELIVERY_MAX_ATTEMPTS`] at most.
fn most_attempts(config: &WebhookConfig) -> u32 {
    config.max_attempts.clamp(1, DELIVERY_MAX_ATTEMPTS)
}

/// The wait after a failed attempt: doubling from the initial backoff, capped.
fn backoff(config: &WebhookConfig, attempts_before: u32) -> Duration {
    let factor = 2u64.saturating_pow(attempts_before.min(32));
    Duration::from_secs(config.initial_backoff_secs.saturating_mul(factor).min(config.max_backoff_secs))
}

/// One POST; the receiver's status, or why it failed.
async fn attempt(
    client: &reqwest::Client,
    config: &WebhookConfig,
    delivery: &DeliveryRecord,
    hook: &WebhookRecord,
) -> Result<u16, (Option<u16>, String)> {
    let body =
        serde_json::to_vec(&leadflow_contract::Payload::from(delivery)).expect("contract types always serialize");
    let response = client
        .post(&hook.url)
        .timeout(Duration::from_secs(config.timeout_secs.max(1)))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(&hook.secret, &body))
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .header(TOPIC_HEADER, delivery.notification.topic.as_str())
        .body(body)
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => Ok(r.status().as_u16()),
        Ok(r) => Err((Some(r.status().as_u16()), format!("the receiver answered {}", r.status()))),
        Err(e) => Err((None, error_chain(&e))),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = WebhookConfig { initial_backoff_secs: 10, max_backoff_secs: 60, ..WebhookConfig::default() };
        let waits: Vec<u64> = (0..5).map(|a| backoff(&config, a).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
        assert_eq!(backoff(&config, 1000).as_secs(), 60);
    }
}
