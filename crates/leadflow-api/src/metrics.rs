//! Prometheus metrics, served at `/metrics` in the text exposition format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A request's method as a label: the methods HTTP defines, and `other` for anything a client
/// makes up, so that nobody can grow the set of series without bound.
pub fn method_label(method: &axum::http::Method) -> String {
    use axum::http::Method;
    let known = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if known.contains(method) { method.to_string() } else { "other".to_string() }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/v1/leads/{lead}`, or `unmatched`), never the raw path: bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RouteLabels, Histogram>,
    pub events: Family<OutcomeLabels, Counter>,
    pub ingest_group_size: Histogram,
    pub rescore_seconds: Histogram,
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    pub webhook_pending: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("leadflow");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let request_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_1, 2.0, 18))
        });
        registry.register("http_request_duration_seconds", "Time to answer a request", request_seconds.clone());
        let events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "events_ingested",
            "Events received, by outcome (accepted, duplicate, rejected)",
            events.clone(),
        );
        let ingest_group_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "ingest_group_size",
            "Single events committed together in one transaction",
            ingest_group_size.clone(),
        );
        let rescore_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 16));
        registry.register("rescore_duration_seconds", "Time to rescore after a model change", rescore_seconds.clone());
        let webhook_deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retry, failed)",
            webhook_deliveries.clone(),
        );
        let webhook_pending = Gauge::default();
        registry.register(
            "webhook_outbox_pending",
            "Webhook deliveries waiting in the job queue",
            webhook_pending.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            events,
            ingest_group_size,
            rescore_seconds,
            webhook_deliveries,
            webhook_pending,
        }
    }

    pub fn count_events(&self, outcome: &'static str, n: u64) {
        self.events.get_or_create(&OutcomeLabels { outcome }).inc_by(n);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
