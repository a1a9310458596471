//! `GET /metrics`: Prometheus (OpenMetrics text) counters of requests, clicks and conversions,
//! and the click buffer's depth.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use backend::tracking::ClickRecorder;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    clicks: Counter,
    conversions: Family<OutcomeLabel, Counter>,
    click_buffer: Gauge,
    clicks_source: Arc<ClickRecorder>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(clicks_source: Arc<ClickRecorder>) -> Arc<Self> {
        let mut registry = Registry::with_prefix("trellis");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        let latency = Family::<RouteLabel, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        let clicks = Counter::default();
        registry.register("clicks", "Clicks recorded by the redirect", clicks.clone());
        let conversions = Family::<OutcomeLabel, Counter>::default();
        registry.register("conversions", "Conversion API answers by outcome (created, replayed, rejected)", conversions.clone());
        let click_buffer = Gauge::default();
        registry.register("click_buffer_pending", "Clicks waiting in the buffer to be written", click_buffer.clone());
        Arc::new(Self { registry, requests, latency, clicks, conversions, click_buffer, clicks_source })
    }

    /// Counts a recorded click.
    pub fn click(&self) {
        self.clicks.inc();
    }

    /// Counts a conversion answer.
    pub fn conversion(&self, outcome: &str) {
        self.conversions.get_or_create(&OutcomeLabel { outcome: outcome.into() }).inc();
    }

    fn render(&self) -> String {
        self.click_buffer.set(self.clicks_source.pending() as i64);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// `GET /metrics`.
pub async fn endpoint(State(m): State<Arc<Metrics>>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], m.render()).into_response()
}

/// Counts and times every request by its route pattern (bounded label values).
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| if req.uri().path().starts_with("/pkg/") { "/pkg/*".into() } else { "other".into() });
    let started = Instant::now();
    let res = next.run(req).await;
    m.latency.get_or_create(&RouteLabel { route: route.clone() }).observe(started.elapsed().as_secs_f64());
    m.requests.get_or_create(&RequestLabels { route, status: res.status().as_u16() }).inc();
    res
}
