//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database takes
//! writes) and `/metrics` (OpenMetrics, behind an optional bearer token).

use super::guards::{metrics_token, MetricsToken};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend::storage::StorageHealth;
use backend::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
struct Health {
    db: DatabaseConnection,
    storage: Arc<StorageHealth>,
}

/// `/healthz` and `/readyz`.
pub(super) fn routes(db: DatabaseConnection, storage: Arc<StorageHealth>) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(Health { db, storage })
}

/// `/metrics`, refused without the bearer token when one is configured.
pub(super) fn metrics_routes(metrics: Arc<crate::metrics::Metrics>, token: Option<String>) -> Router {
    Router::new()
        .route("/metrics", get(crate::metrics::endpoint))
        .route_layer(middleware::from_fn_with_state(MetricsToken(token.map(Arc::from)), metrics_token))
        .with_state(metrics)
}

async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database takes writes: a write probe succeeds and no write failed on storage in
/// the last seconds (`backend::storage`); else 503 with the reason.
async fn readyz(State(h): State<Health>) -> Response {
    match tokio::time::timeout(Duration::from_secs(4), h.storage.check(&h.db)).await {
        Ok(Ok(())) => (StatusCode::OK, "ready").into_response(),
        Ok(Err(why)) => (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, backend::storage::RETRY_AFTER_SECS.to_string())], why).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}
