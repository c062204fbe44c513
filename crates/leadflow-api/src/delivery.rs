//! The delivery worker: sends what the outbox holds, each receiver at its own pace.
//!
//! The outbox hands out, per lead and webhook, only the oldest pending delivery, so everything a
//! round takes may go at once without reordering one lead's news. A receiver gets at most
//! `webhooks.concurrency` deliveries at a time, and each is recorded as soon as it is answered:
//! one that is slow (or never answers, until the timeout) holds back only its own deliveries. The
//! server starts a round on every tick without waiting for the last one, and a round leaves alone
//! what an earlier round still has in flight.
//!
//! A round reads what is due and takes its share under one lock, and an answered delivery is
//! recorded and let go under the same lock: otherwise a round could read a delivery as due just
//! before another round records it sent, take it once it is no longer in flight, and send it twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadflow_core::Timestamp;
use leadflow_store::{AttemptOutcome, DeliveryRecord, WebhookRecord};
use std::collections::{HashMap, HashSet};

use crate::config::WebhookConfig;
use crate::metrics::OutcomeLabels;
use crate::webhooks::{DELIVERY_HEADER, SIGNATURE_HEADER, TOPIC_HEADER, signature};
use crate::{ApiError, AppState};
use leadflow_store::Backend;

/// What one round of deliveries did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

/// The deliveries being sent now, shared by the rounds of one server.
#[derive(Default)]
pub struct InFlight {
    sending: Arc<Mutex<Sending>>,
    /// Held while a round reads and takes what is due, and while an answer is recorded.
    claims: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Sending {
    deliveries: HashSet<i64>,
    per_webhook: HashMap<i64, usize>,
}

/// A delivery taken by a round; dropping it (answered, or the round cancelled) frees its place.
struct Taken {
    in_flight: Arc<Mutex<Sending>>,
    delivery: i64,
    webhook: i64,
}

impl Drop for Taken {
    fn drop(&mut self) {
        let mut f = self.in_flight.lock().expect("in-flight set poisoned");
        f.deliveries.remove(&self.delivery);
        if let Some(n) = f.per_webhook.get_mut(&self.webhook) {
            *n -= 1;
            if *n == 0 {
                f.per_webhook.remove(&self.webhook);
            }
        }
    }
}

/// Of the due deliveries, those this round may send: not in flight already, and within each
/// receiver's limit.
fn take(
    in_flight: &Arc<Mutex<Sending>>,
    due: Vec<(DeliveryRecord, WebhookRecord)>,
    per_webhook: usize,
) -> Vec<(DeliveryRecord, WebhookRecord, Taken)> {
    let mut f = in_flight.lock().expect("in-flight set poisoned");
    let mut taken = Vec::new();
    for (delivery, hook) in due {
        let busy = f.per_webhook.get(&hook.id).copied().unwrap_or(0);
        if busy >= per_webhook || f.deliveries.contains(&delivery.id) {
            continue;
        }
        f.deliveries.insert(delivery.id);
        *f.per_webhook.entry(hook.id).or_default() += 1;
        let slot = Taken { in_flight: in_flight.clone(), delivery: delivery.id, webhook: hook.id };
        taken.push((delivery, hook, slot));
    }
    taken
}

/// Sends every delivery due now (up to a few hundred) that no earlier round is sending, records
/// each outcome as it comes, and says how many went which way. The server runs it on a timer;
/// tests call it directly.
pub async fn deliver_due<S: Backend>(state: &AppState<S>, client: &reqwest::Client) -> Result<DeliveryRound, ApiError> {
    let config = state.config.webhooks.clone();
    let taken = {
        let _claiming = state.in_flight.claims.lock().await;
        let due = state.read(|engine| Ok(engine.due_deliveries(500)?)).await?;
        take(&state.in_flight.sending, due, config.concurrency.max(1))
    };
    let sends = taken.into_iter().map(|(delivery, hook, slot)| {
        let config = &config;
        async move {
            let result = attempt(client, config, &delivery, &hook).await;
            let outcome = outcome_of(config, &delivery, result, state.now());
            let label = match outcome {
                AttemptOutcome::Delivered { .. } => "delivered",
                AttemptOutcome::Retry { .. } => "retry",
                AttemptOutcome::Failed { .. } => "failed",
            };
            state.metrics.webhook_deliveries.get_or_create(&OutcomeLabels { outcome: label }).inc();
            let id = delivery.id;
            let _recording = state.in_flight.claims.lock().await;
            let recorded = state.write(move |engine| Ok(engine.record_attempt(id, &outcome)?)).await;
            drop(slot);
            recorded.map(|()| label)
        }
    });
    let mut round = DeliveryRound::default();
    for result in futures_util::future::join_all(sends).await {
        match result? {
            "delivered" => round.delivered += 1,
            "retry" => round.retried += 1,
            _ => round.failed += 1,
        }
    }
    Ok(round)
}

/// What an attempt's result means for its delivery: done, retried after a backoff, or given up.
fn outcome_of(
    config: &WebhookConfig,
    delivery: &DeliveryRecord,
    result: Result<u16, (Option<u16>, String)>,
    now: Timestamp,
) -> AttemptOutcome {
    match result {
        Ok(status) => AttemptOutcome::Delivered { status },
        Err((status, error)) if delivery.attempts + 1 >= config.max_attempts => {
            AttemptOutcome::Failed { status, error }
        }
        Err((status, error)) => AttemptOutcome::Retry {
            status,
            error,
            next_attempt_at: Timestamp::from_millis(
                now.millis() + backoff(config, delivery.attempts).as_millis() as i64,
            ),
        },
    }
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
