//! The HTTP router: Leptos pages and server functions, the REST API, tracking and mail links,
//! downloads and uploads, health endpoints, sessions and the layers around everything. The
//! routes live in files by area; errors are answered by the one edge (`crate::edge`).

mod downloads;
mod guards;
mod health;
mod mail;
mod tracking;
mod uploads;

use crate::config::Config;
use crate::rest::RestState;
use app::ssr::AppContext;
use app::{shell, App};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use backend::access::session_store::DbSessionStore;
use backend::storage::StorageHealth;
use backend::tracking::ClickRecorder;
use backend::{Clock, DatabaseConnection};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "trellis_session";
/// A session ends after this long without a request.
pub const IDLE_EXPIRY_HOURS: i64 = 12;

/// Hands storage faults that refused a request (carried in the answer's extensions by
/// `edge::Problem`) to the storage health, which counts them and logs each episode once.
async fn count_storage_faults(State(storage): State<Arc<StorageHealth>>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(f) = res.extensions().get::<crate::edge::StorageFault>() {
        storage.record(f.kind, &f.cause);
    }
    res
}

/// Leptos options for the built site under `cfg.site_root` (`pkg/trellis.js`, `pkg/trellis_bg.wasm`).
pub fn leptos_options(cfg: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("trellis")
        .site_root(cfg.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(cfg.addr)
        .env(leptos::config::Env::PROD)
        .build()
}

/// The application: its router, the click buffer that must be flushed on shutdown, and what
/// serving needs besides.
pub struct Web {
    /// Every route.
    pub router: Router,
    /// The click buffer.
    pub clicks: Arc<ClickRecorder>,
    /// Storage faults and the readiness probe.
    pub storage: Arc<StorageHealth>,
    /// The pool (the storage watcher probes it).
    pub db: DatabaseConnection,
    /// Connection limits.
    pub limits: crate::listener::Limits,
    /// Connection counters (on `/metrics`).
    pub connections: Arc<crate::listener::ConnStats>,
}

/// The whole application router.
pub fn router(cfg: &Config, db: DatabaseConnection, clock: Clock) -> Web {
    let clicks = ClickRecorder::new(db.clone(), clock.clone());
    let storage = StorageHealth::new();
    let connections = Arc::new(crate::listener::ConnStats::default());
    let metrics = crate::metrics::Metrics::new(clicks.clone(), storage.clone(), db.clone(), connections.clone());
    let rest = crate::rest::router(RestState {
        db: db.clone(),
        clock: clock.clone(),
        clicks: clicks.clone(),
        public_url: cfg.public_url.clone(),
        metrics: metrics.clone(),
    });
    let tracking = tracking::routes(clicks.clone(), metrics.clone(), db.clone(), clock.clone());
    let mail = mail::routes(db.clone(), clock.clone());
    let options = leptos_options(cfg);
    let routes = generate_route_list(App);
    let ctx = AppContext { db: db.clone(), clock, public_url: cfg.public_url.clone(), storage: storage.clone() };

    let sessions = SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name(SESSION_COOKIE)
        .with_same_site(SameSite::Strict)
        .with_http_only(true)
        .with_secure(cfg.https())
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(IDLE_EXPIRY_HOURS)));

    let health = health::routes(db.clone(), storage.clone());
    let files: Router<LeptosOptions> = downloads::routes().merge(uploads::routes()).with_state(ctx.clone());
    let leptos_app = files
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(ctx.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options)
        .layer(sessions)
        .layer(middleware::from_fn(crate::text_guard::refuse_unstorable_text))
        .layer(middleware::from_fn_with_state(guards::Origin(cfg.public_url.clone()), guards::same_origin_only));

    let metrics_route = health::metrics_routes(metrics.clone(), cfg.metrics_token.clone());
    let router = Router::new()
        .nest("/api/v1", rest)
        .merge(tracking)
        .merge(mail)
        .merge(health)
        .merge(metrics_route)
        .merge(leptos_app)
        .layer(middleware::from_fn_with_state(metrics, crate::metrics::track))
        .layer(middleware::from_fn_with_state(storage.clone(), count_storage_faults))
        .layer(middleware::from_fn_with_state(guards::Https(cfg.https()), guards::security_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(crate::edge::problem::panicked))
        // Outside the panic handler, so that it answers with the request's correlation id.
        .layer(middleware::from_fn(crate::edge::correlation::assign))
        .layer(CompressionLayer::new());
    Web { router, clicks, storage, db, limits: cfg.limits.clone(), connections }
}

/// Serves until Ctrl-C or SIGTERM under the connection limits, flushing buffered clicks every
/// 250 ms and at the end, and watching storage while it fails.
pub async fn serve(listener: tokio::net::TcpListener, web: Web) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let flusher = web.clicks.clone().spawn_flusher(Duration::from_millis(250), stopped.clone(), Some(web.storage.clone()));
    let watcher = web.storage.clone().spawn_watcher(web.db.clone(), stopped);
    let result = crate::listener::serve(listener, web.router, web.limits, web.connections.clone(), shutdown_signal()).await;
    watcher.abort();
    // Let a flush under way finish (aborting it would drop the batch it took), then write the rest.
    let _ = stop.send(true);
    let _ = flusher.await;
    for _ in 0..3 {
        match web.clicks.flush().await {
            Ok(_) => break,
            Err(e) => tracing::error!(error = %e, pending = web.clicks.pending(), "final click flush failed"),
        }
    }
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
