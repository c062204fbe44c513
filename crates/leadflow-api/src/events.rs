//! Events: `POST /v1/events` (one, scored before the answer) and `/v1/events/batch`.

use axum::Json;
use axum::extract::State;
use leadflow_contract::{BatchAnswer, BatchRequest, BatchResult, ErrorBody, EventOutcome, EventRequest, ItemOutcome};
use leadflow_core::{Action, LeadRef};
use leadflow_engine::BatchItem;
use serde_json::Value;

use crate::{ApiError, AppState, Body, Caller, ErrorCode, NAME_BY_ONE_KEY};
use leadflow_store::Backend;

/// Record one event
///
/// Idempotent by `id`. The score reflects the event by the time the answer returns; the event is
/// durable (fsynced) by then. Concurrent requests are committed together.
///
/// Roles: admin, marketing, ingest (told nothing about the lead).
#[utoipa::path(
    post, path = "/v1/events", tag = "Events", operation_id = "postV1Events",
    request_body = EventRequest,
    responses(
        (status = 200, description = "Accepted (with the lead's new score) or a duplicate", body = EventOutcome),
        (status = 400, description = "Error: `invalid_event`"),
        (status = 404, description = "Error: `lead_not_found`"),
        (status = 409, description = "Error: `event_id_taken`, `keys_disagree`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn ingest_one<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(event): Body<EventRequest>,
) -> Result<Json<EventOutcome>, ApiError> {
    caller.require(Action::IngestEvents)?;
    let reads = caller.may_read_leads();
    if let Some(refused) = refusal(&state, reads, &event).await? {
        return Err(refused);
    }
    let now = state.now();
    let input = event.parse(now).map_err(|m| ApiError::new(ErrorCode::InvalidEvent, m))?;
    let (item, scored) = state.track(input).await?;
    state.metrics.count_events(item_status(&item), 1);
    let outcome = match item {
        BatchItem::Accepted { lead, created_lead, .. } => EventOutcome::accepted(lead, created_lead, scored.as_ref()),
        BatchItem::Duplicate { lead, .. } => EventOutcome::duplicate(lead),
        BatchItem::Rejected { reason, .. } => return Err(ApiError::from(reason)),
    };
    Ok(Json(if reads { outcome } else { outcome.without_lead() }))
}

/// Why an event is refused before it is parsed, if it is. A caller that may not read leads
/// names a lead by one key, its email or its external id (answers about a `lead_id` or an
/// `identity`, which create no lead, or about two keys that disagree, would tell it which leads
/// exist). An event naming its lead by several keys must name one lead: no key may name another
/// lead than the strongest (lead_id, identity, external_id, then email), nor differ from that
/// lead's own.
pub(crate) async fn refusal<S: Backend>(
    state: &AppState<S>,
    reads: bool,
    event: &EventRequest,
) -> Result<Option<ApiError>, ApiError> {
    let keys = event.keys();
    if !reads && (event.lead_id.is_some() || event.identity.is_some() || keys.len() > 1) {
        return Ok(Some(ApiError::forbidden(NAME_BY_ONE_KEY)));
    }
    let Some((strongest, weaker)) = keys.split_first().filter(|(_, weaker)| !weaker.is_empty()) else {
        return Ok(None);
    };
    let (strongest, weaker) = (strongest.clone(), weaker.to_vec());
    state
        .read(move |engine| {
            let named = engine.store().lead(&strongest)?;
            for key in weaker {
                let other = engine.store().lead(&key)?;
                // A key of no lead that is not the named lead's own; one the lead has beside its
                // own names it too.
                let differs = other.is_none()
                    && match (&named, &key) {
                        (Some(l), LeadRef::Email(e)) => l.profile.email.as_ref().is_some_and(|own| own != e),
                        (Some(l), LeadRef::External(x)) => l.profile.external_id.as_ref().is_some_and(|own| own != x),
                        _ => false,
                    };
                let elsewhere = other.is_some_and(|o| named.as_ref().is_none_or(|n| n.id != o.id));
                if differs || elsewhere {
                    let message = format!("{} and {} name different leads", key_text(&strongest), key_text(&key));
                    return Ok(Some(ApiError::new(ErrorCode::KeysDisagree, message)));
                }
            }
            Ok(None)
        })
        .await
}

/// `lead_id 7`, `email ana@acme.example`, `external_id 00Q5g`: a key as the request gave it.
fn key_text(key: &LeadRef) -> String {
    match key {
        LeadRef::Id(id) => format!("lead_id {id}"),
        LeadRef::Email(e) => format!("email {e}"),
        LeadRef::External(x) => format!("external_id {x}"),
        LeadRef::System(system, x) => format!("identity {system}:{x}"),
        LeadRef::Phone(phone) => format!("identity phone:{phone}"),
    }
}

fn item_status(item: &BatchItem) -> &'static str {
    match item {
        BatchItem::Accepted { .. } => "accepted",
        BatchItem::Duplicate { .. } => "duplicate",
        BatchItem::Rejected { .. } => "rejected",
    }
}

/// Record a batch of events
///
/// Up to `max_batch` (10,000) events in one transaction. Bad events are rejected with a reason,
/// each in its result; the others are recorded and scored before the answer.
///
/// Roles: admin, marketing, ingest.
#[utoipa::path(
    post, path = "/v1/events/batch", tag = "Events", operation_id = "postV1EventsBatch",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "What became of each event, in order", body = BatchAnswer),
        (status = 400, description = "Error: `batch_too_large`"),
        (status = 503, description = "Error: `no_active_model`"),
    ),
)]
pub(crate) async fn ingest_batch<S: Backend>(
    State(state): State<AppState<S>>,
    caller: Caller,
    Body(batch): Body<BatchRequest>,
) -> Result<Json<BatchAnswer>, ApiError> {
    caller.require(Action::IngestEvents)?;
    let max = state.config.max_batch;
    if batch.events.len() > max {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!("{} events in one batch; at most {max}", batch.events.len()),
        ));
    }
    // Parsing and answering happen outside the writer's lock; only recording holds it.
    let now = state.now();
    let reads = caller.may_read_leads();
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(batch.events.len());
    let mut inputs = Vec::new();
    let mut positions = Vec::new();
    for (i, item) in batch.events.into_iter().enumerate() {
        let id = item.get("id").cloned().unwrap_or(Value::Null);
        let rejected = |code: ErrorCode, message: String| {
            let error = ErrorBody { code: code.as_str(), message };
            Some(BatchResult { index: i, id: id.clone(), outcome: ItemOutcome::Rejected { error } })
        };
        let event = match serde_json::from_value::<EventRequest>(item) {
            Ok(event) => event,
            Err(e) => {
                results.push(rejected(ErrorCode::InvalidRequest, format!("events[{i}]: {e}")));
                continue;
            }
        };
        if let Some(refused) = refusal(&state, reads, &event).await? {
            results.push(rejected(refused.code, refused.message));
            continue;
        }
        match event.parse(now) {
            Ok(input) => {
                inputs.push(input);
                positions.push(i);
                results.push(None);
            }
            Err(message) => results.push(rejected(ErrorCode::InvalidEvent, message)),
        }
    }
    let outcome = state.write(move |engine| Ok(engine.track_batch(inputs)?)).await?;
    for (item, i) in outcome.items.into_iter().zip(positions) {
        // What the lead is (its id, whether it is new) is told only to callers that may read it.
        let (id, outcome) = match item {
            BatchItem::Accepted { key, lead, created_lead } => {
                let lead_id = reads.then_some(lead.0);
                (key, ItemOutcome::Accepted { lead_id, created_lead: reads.then_some(created_lead) })
            }
            BatchItem::Duplicate { key, lead } => (key, ItemOutcome::Duplicate { lead_id: reads.then_some(lead.0) }),
            BatchItem::Rejected { key, reason } => {
                let e = ApiError::from(reason);
                (key, ItemOutcome::Rejected { error: ErrorBody { code: e.code.as_str(), message: e.message } })
            }
        };
        results[i] = Some(BatchResult { index: i, id: Value::String(id.as_str().to_string()), outcome });
    }
    let results: Vec<BatchResult> = results.into_iter().map(|r| r.expect("every event has a result")).collect();
    let answer = BatchAnswer::of(results);
    for (outcome, n) in [("accepted", answer.accepted), ("duplicate", answer.duplicates), ("rejected", answer.rejected)]
    {
        state.metrics.count_events(outcome, n as u64);
    }
    Ok(Json(answer))
}
