//! `GET /metrics`: Prometheus (OpenMetrics text) counters of requests, clicks and conversions,
//! the click buffer's depth, storage faults by kind, the free space under the database, pooled
//! connections discarded for their transaction state, and HTTP connections.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use backend::storage::{FaultKind, StorageHealth};
use backend::tracking::ClickRecorder;
use backend::DatabaseConnection;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
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
    clicks_shed: Gauge,
    clicks_source: Arc<ClickRecorder>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(
        clicks_source: Arc<ClickRecorder>,
        storage: Arc<StorageHealth>,
        db: DatabaseConnection,
        connections: Arc<crate::listener::ConnStats>,
    ) -> Arc<Self> {
        let mut registry = Registry::with_prefix("trellis");
        registry.register_collector(Box::new(Sampled { storage, db, connections }));
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
        let clicks_shed = Gauge::default();
        registry.register("clicks_shed", "Clicks not recorded because the buffer was full (the database was down too long); visitors were still redirected", clicks_shed.clone());
        Arc::new(Self { registry, requests, latency, clicks, conversions, click_buffer, clicks_shed, clicks_source })
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
        self.clicks_shed.set(self.clicks_source.shed() as i64);
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// Values read at scrape time from where they live.
struct Sampled {
    storage: Arc<StorageHealth>,
    db: DatabaseConnection,
    connections: Arc<crate::listener::ConnStats>,
}

impl std::fmt::Debug for Sampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampled")
    }
}

impl Collector for Sampled {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let faults = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "storage_faults",
            "Writes refused by a storage fault (full: no space; unavailable: I/O error, read-only or corrupt file)",
            None,
            faults.metric_type(),
        )?;
        for kind in FaultKind::ALL {
            ConstCounter::new(self.storage.faults(kind)).encode(family.encode_family(&KindLabel { kind: kind.label().into() })?)?;
        }
        let episodes = ConstCounter::new(self.storage.episodes());
        episodes.encode(encoder.encode_descriptor("storage_fault_episodes", "Storage fault episodes (each logged once)", None, episodes.metric_type())?)?;
        let failing = ConstGauge::new(i64::from(self.storage.failing()));
        failing.encode(encoder.encode_descriptor("storage_failing", "1 while writes fail on storage (/readyz answers 503)", None, failing.metric_type())?)?;
        if let Some(space) = backend::storage::free_space(&self.db) {
            let free = ConstGauge::new(space.free_bytes as i64);
            free.encode(encoder.encode_descriptor("database_disk_free_bytes", "Free bytes of the filesystem under the SQLite database", None, free.metric_type())?)?;
            let total = ConstGauge::new(space.total_bytes as i64);
            total.encode(encoder.encode_descriptor("database_disk_size_bytes", "Size of the filesystem under the SQLite database", None, total.metric_type())?)?;
        }
        let discarded = ConstCounter::new(backend::db::discarded_connections());
        discarded.encode(encoder.encode_descriptor(
            "db_connections_discarded",
            "Pooled database connections closed because they were left inside a transaction",
            None,
            discarded.metric_type(),
        )?)?;
        let open = ConstGauge::new(self.connections.open.load(Relaxed) as i64);
        open.encode(encoder.encode_descriptor("http_connections_open", "Open HTTP connections", None, open.metric_type())?)?;
        let closed = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor("http_connections_closed", "HTTP connections closed by a limit", None, closed.metric_type())?;
        ConstCounter::new(self.connections.header_timeouts.load(Relaxed)).encode(family.encode_family(&ReasonLabel { reason: "header_timeout".into() })?)?;
        ConstCounter::new(self.connections.idle_timeouts.load(Relaxed)).encode(family.encode_family(&ReasonLabel { reason: "idle_timeout".into() })?)?;
        Ok(())
    }
}
