//! The HTTP router: Leptos pages and server functions, health endpoints, sessions and the
//! cross-site request check.

use crate::config::Config;
use app::ssr::AppContext;
use app::{shell, App};
use crate::rest::RestState;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Html;
use backend::tracking::{ClickMeta, ClickRecorder};
use std::net::SocketAddr;
use std::sync::Arc;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend::access::session_store::DbSessionStore;
use backend::storage::StorageHealth;
use backend::{Clock, DatabaseConnection};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "trellis_session";
/// A session ends after this long without a request.
pub const IDLE_EXPIRY_HOURS: i64 = 12;

#[derive(Clone)]
struct Health {
    db: DatabaseConnection,
    storage: Arc<StorageHealth>,
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

/// Hands storage faults that refused a REST request (carried in the answer's extensions) to the
/// storage health, which counts them and logs each episode once.
async fn count_storage_faults(State(storage): State<Arc<StorageHealth>>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(f) = res.extensions().get::<crate::rest::StorageFault>() {
        storage.record(f.kind, &f.cause);
    }
    res
}

/// The allowed origin of browser requests.
#[derive(Clone)]
struct Origin(String);

/// Refuses state-changing requests that a browser marks as cross-site. Requests without the
/// browser headers (scripts, the REST API with its bearer keys) are not cookie-authenticated
/// by a victim's browser and pass.
async fn same_origin_only(State(origin): State<Origin>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    if safe || path.starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let headers = req.headers();
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let cross_site = match fetch_site {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            Some(o) => {
                let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
                o != origin.0 && o != format!("http://{host}") && o != format!("https://{host}")
            }
            None => false,
        },
    };
    if cross_site {
        tracing::warn!(path, "refused a cross-site state-changing request");
        return (StatusCode::FORBIDDEN, "cross-site requests are not allowed").into_response();
    }
    next.run(req).await
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
    let tracking = Router::new().route("/r/{code}", get(redirect)).with_state((clicks.clone(), metrics.clone()));
    let mail = Router::new()
        .route("/o/{token}", get(open_pixel))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe_confirm))
        .with_state(MailState { db: db.clone(), clock: clock.clone() });
    let options = leptos_options(cfg);
    let routes = generate_route_list(App);
    let ctx = AppContext { db: db.clone(), clock, public_url: cfg.public_url.clone(), storage: storage.clone() };

    let sessions = SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name(SESSION_COOKIE)
        .with_same_site(SameSite::Strict)
        .with_http_only(true)
        .with_secure(cfg.https())
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(IDLE_EXPIRY_HOURS)));

    let health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Health { db: db.clone(), storage: storage.clone() });

    let csv_ctx = ctx.clone();
    let (export_ctx, timeline_ctx, upload_ctx) = (ctx.clone(), ctx.clone(), ctx.clone());
    let (table_ctx, chart_ctx) = (ctx.clone(), ctx.clone());
    let audit_ctx = ctx.clone();
    let (doc_ctx, download_ctx, portal_csv_ctx) = (ctx.clone(), ctx.clone(), ctx.clone());
    let leptos_app = Router::new()
        .route(
            "/finance/batches/{id}/csv",
            get(move |session: tower_sessions::Session, Path(id): Path<String>| batch_csv(csv_ctx.clone(), session, id)),
        )
        .route(
            "/analytics/tables/{file}",
            get(move |session: tower_sessions::Session, Path(file): Path<String>, uri: axum::http::Uri| analytics_table(table_ctx.clone(), session, file, uri)),
        )
        .route(
            "/analytics/charts/{file}",
            get(move |session: tower_sessions::Session, Path(file): Path<String>, uri: axum::http::Uri| analytics_chart(chart_ctx.clone(), session, file, uri)),
        )
        .route("/settings/audit.csv", get(audit_csv).with_state(audit_ctx))
        .route(
            "/directory/export.csv",
            get(move |session: tower_sessions::Session, uri: axum::http::Uri| directory_csv(export_ctx.clone(), session, uri)),
        )
        .route(
            "/partners/{id}/timeline.csv",
            get(move |session: tower_sessions::Session, Path(id): Path<String>| timeline_csv(timeline_ctx.clone(), session, id)),
        )
        .route(
            "/portal/documents",
            axum::routing::post(move |session: tower_sessions::Session, form: axum::extract::Multipart| upload_document(doc_ctx.clone(), session, form))
                .layer(axum::extract::DefaultBodyLimit::max(backend::money::compliance::MAX_DOCUMENT_BYTES + 64 * 1024)),
        )
        .route(
            "/documents/{id}",
            get(move |session: tower_sessions::Session, Path(id): Path<String>| download_document(download_ctx.clone(), session, id)),
        )
        .route(
            "/portal/conversions.csv",
            get(move |session: tower_sessions::Session, q: axum::extract::Query<std::collections::HashMap<String, String>>| portal_conversions_csv(portal_csv_ctx.clone(), session, q.0)),
        )
        .route(
            "/directory/import",
            axum::routing::post(move |session: tower_sessions::Session, form: axum::extract::Multipart| upload_import(upload_ctx.clone(), session, form))
                .layer(axum::extract::DefaultBodyLimit::max(backend::tracking::imports::MAX_BYTES + 64 * 1024)),
        )
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
        .layer(middleware::from_fn_with_state(Origin(cfg.public_url.clone()), same_origin_only));

    let metrics_route = Router::new()
        .route("/metrics", get(crate::metrics::endpoint))
        .route_layer(middleware::from_fn_with_state(MetricsToken(cfg.metrics_token.clone().map(Arc::from)), metrics_token))
        .with_state(metrics.clone());
    let router = Router::new()
        .nest("/api/v1", rest)
        .merge(tracking)
        .merge(mail)
        .merge(health)
        .merge(metrics_route)
        .merge(leptos_app)
        .layer(middleware::from_fn_with_state(metrics, crate::metrics::track))
        .layer(middleware::from_fn_with_state(storage.clone(), count_storage_faults))
        .layer(middleware::from_fn_with_state(Https(cfg.https()), security_headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(CompressionLayer::new());
    Web { router, clicks, storage, db, limits: cfg.limits.clone(), connections }
}

/// A panic anywhere outside the REST API (which answers its own): logged with a correlation id,
/// answered 500 problem+json naming it, and the server keeps serving.
fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err.downcast_ref::<String>().map(String::as_str).or_else(|| err.downcast_ref::<&str>().copied()).unwrap_or("a panic");
    let id = format!("{:08x}", rand::random::<u32>());
    tracing::error!(correlation_id = %id, panic = what, "a request handler panicked");
    let body = serde_json::json!({
        "type": "about:blank",
        "status": 500,
        "title": "Internal server error",
        "detail": format!("the server failed; quote {id} when you report it"),
        "code": "internal",
        "correlation_id": id,
    });
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

/// The `/metrics` bearer token, if one is configured.
#[derive(Clone)]
struct MetricsToken(Option<Arc<str>>);

/// `/metrics` with `TRELLIS_METRICS_TOKEN` set: 401 without `Authorization: Bearer <token>`
/// (compared in constant time).
async fn metrics_token(State(MetricsToken(token)): State<MetricsToken>, req: Request, next: middleware::Next) -> Response {
    use subtle::ConstantTimeEq;
    if let Some(token) = token {
        let given = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "metrics need the bearer token").into_response();
        }
    }
    next.run(req).await
}

/// Whether the public URL is https (HSTS is sent then).
#[derive(Clone, Copy)]
struct Https(bool);

/// Headers on every answer: no framing by other sites (`frame-ancestors 'none'`,
/// `X-Frame-Options`), no plugins or foreign `<base>`, forms only to this origin, no MIME
/// sniffing, a referrer policy (not on tracking redirects, whose referrer belongs to the
/// partner's page and the merchant), and HSTS when served over https.
async fn security_headers(State(Https(https)): State<Https>, req: Request, next: middleware::Next) -> Response {
    let tracking = req.uri().path().starts_with("/r/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(header::HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !tracking {
        set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    }
    if https {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    res
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

/// The signed-in actor of a plain route, or the response to send instead.
async fn route_actor(ctx: &AppContext, session: &tower_sessions::Session) -> Result<backend::Actor, Response> {
    match app::ssr::actor_of_session(&ctx.db, &ctx.clock, session).await {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err((StatusCode::UNAUTHORIZED, "sign in first").into_response()),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

/// A CSV download, or the status a service error maps to.
fn csv_response(result: backend::Result<String>, filename: &str) -> Response {
    match result {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            ],
            csv,
        )
            .into_response(),
        Err(backend::Error::Forbidden) => (StatusCode::FORBIDDEN, "your role cannot download this").into_response(),
        Err(backend::Error::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(backend::Error::Invalid { field, message }) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {message}")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "CSV export failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The `program_id` and `days` of an analytics download's query.
fn analytics_scope(uri: &axum::http::Uri) -> (Option<i64>, u32) {
    let mut program = None;
    let mut days = 30;
    for pair in uri.query().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("program_id", v)) => program = v.parse().ok(),
            Some(("days", v)) => days = v.parse().unwrap_or(30),
            _ => {}
        }
    }
    (program, days)
}

/// `GET /analytics/tables/{name}.csv?program_id&days`: every analytics table as CSV.
async fn analytics_table(ctx: AppContext, session: tower_sessions::Session, file: String, uri: axum::http::Uri) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(name) = file.strip_suffix(".csv") else { return StatusCode::NOT_FOUND.into_response() };
    let (program, days) = analytics_scope(&uri);
    let result = backend::analytics::dashboards::table_csv(&ctx.db, &actor, name, program, days, ctx.clock.now()).await;
    csv_response(result, &format!("analytics-{name}.csv"))
}

/// `GET /analytics/charts/{name}.svg?program_id`: a dashboard chart as an SVG file.
async fn analytics_chart(ctx: AppContext, session: tower_sessions::Session, file: String, uri: axum::http::Uri) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(name) = file.strip_suffix(".svg") else { return StatusCode::NOT_FOUND.into_response() };
    let (program, _) = analytics_scope(&uri);
    match backend::analytics::dashboards::chart(&ctx.db, &actor, name, program, ctx.clock.now()).await {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"trellis-{name}.svg\"")),
            ],
            svg,
        )
            .into_response(),
        Err(backend::Error::Forbidden) => (StatusCode::FORBIDDEN, "your role cannot download this").into_response(),
        Err(backend::Error::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "chart failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /directory/export.csv?{filter}`: the whole filtered directory view.
async fn directory_csv(ctx: AppContext, session: tower_sessions::Session, uri: axum::http::Uri) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = models::DirectoryQuery::from_query_string(uri.query().unwrap_or(""));
    csv_response(backend::partners::directory::export_csv(&ctx.db, &actor, &q).await, "partners.csv")
}

/// `GET /partners/{id}/timeline.csv`: a partner's whole timeline.
async fn timeline_csv(ctx: AppContext, session: tower_sessions::Session, id: String) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else { return StatusCode::NOT_FOUND.into_response() };
    csv_response(backend::partners::view::timeline_csv(&ctx.db, &actor, id).await, &format!("partner-{id}-timeline.csv"))
}

/// `POST /directory/import` (multipart: `kind`, `file`): stores the file and sends the browser to
/// its mapping step; errors go back to the upload form.
async fn upload_import(ctx: AppContext, session: tower_sessions::Session, mut form: axum::extract::Multipart) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let back = |msg: &str| axum::response::Redirect::to(&format!("/directory/import?error={}", models::url_encode(msg))).into_response();
    let (mut kind, mut filename, mut content) = (None, String::new(), None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("kind") => kind = field.text().await.ok().as_deref().and_then(models::ImportKind::parse),
                Some("file") => {
                    filename = field.file_name().unwrap_or("upload.csv").to_string();
                    match field.bytes().await {
                        Ok(b) => match String::from_utf8(b.to_vec()) {
                            Ok(s) => content = Some(s),
                            Err(_) => return back("The file is not UTF-8 text; save it as CSV UTF-8 and upload again."),
                        },
                        Err(e) => return back(&format!("The upload failed: {e}")),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return back(&format!("The upload failed: {e}")),
        }
    }
    let (Some(kind), Some(content)) = (kind, content) else { return back("Choose what the file holds and a file.") };
    match backend::tracking::imports::upload(&ctx.db, ctx.clock.now(), &actor, kind, &filename, &content).await {
        Ok(p) => axum::response::Redirect::to(&format!("/directory/import/{}", p.id)).into_response(),
        Err(backend::Error::Forbidden) => (StatusCode::FORBIDDEN, "program managers and admins import").into_response(),
        Err(backend::Error::Invalid { field, message }) => back(&format!("The {field} {message}.")),
        Err(e) => {
            tracing::error!(error = %e, "import upload failed");
            back("The upload could not be stored; try again.")
        }
    }
}

/// `POST /portal/documents` (multipart: `file`): a partner user uploads a tax document; the
/// browser goes back to the profile with the outcome.
async fn upload_document(ctx: AppContext, session: tower_sessions::Session, mut form: axum::extract::Multipart) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if actor.partner_id.is_none() {
        return (StatusCode::FORBIDDEN, "partner users upload their own documents").into_response();
    }
    let back = |msg: &str| axum::response::Redirect::to(&format!("/portal/profile?error={}", models::url_encode(msg))).into_response();
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("document").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b)),
                    Err(_) => return back(&format!("The file is larger than {} MB.", backend::money::compliance::MAX_DOCUMENT_BYTES / (1024 * 1024))),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return back(&format!("The upload failed; files may be at most {} MB.", backend::money::compliance::MAX_DOCUMENT_BYTES / (1024 * 1024))),
        }
    }
    let Some((name, bytes)) = file else { return back("Choose a file.") };
    match backend::money::compliance::upload(&ctx.db, ctx.clock.now(), &actor, &name, &bytes).await {
        Ok(_) => axum::response::Redirect::to("/portal/profile?uploaded=1").into_response(),
        Err(backend::Error::Invalid { field, message }) => back(&format!("The {field} {message}.")),
        Err(e) => {
            tracing::error!(error = %e, "document upload failed");
            back("The document could not be stored; try again.")
        }
    }
}

/// `GET /documents/{id}`: a document, to its partner user or the account's team.
async fn download_document(ctx: AppContext, session: tower_sessions::Session, id: String) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else { return StatusCode::NOT_FOUND.into_response() };
    match backend::money::compliance::download(&ctx.db, &actor, id).await {
        Ok((filename, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", filename.replace(|c: char| !c.is_ascii() || c == '"', "_"))),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(backend::Error::NotFound(_)) | Err(backend::Error::Forbidden) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "document download failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /portal/conversions.csv?program_id=&status=&from=&to=`: the partner's own conversions.
async fn portal_conversions_csv(ctx: AppContext, session: tower_sessions::Session, q: std::collections::HashMap<String, String>) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let filter = models::ConversionFilter {
        program_id: q.get("program_id").and_then(|p| p.parse().ok()),
        status: q.get("status").cloned(),
        from: q.get("from").cloned(),
        to: q.get("to").cloned(),
        page: None,
    };
    csv_response(backend::portal::conversions_csv(&ctx.db, &actor, &filter).await, "my-conversions.csv")
}

/// A CSV file download.
fn csv_download(filename: &str, csv: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        csv,
    )
        .into_response()
}

/// `GET /finance/batches/{id}/csv`: the payout file of a batch, for finance approvers.
async fn batch_csv(ctx: AppContext, session: tower_sessions::Session, id: String) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let Ok(id) = id.parse::<i64>() else { return StatusCode::NOT_FOUND.into_response() };
    match backend::money::finance::batch_csv(&ctx.db, &actor, id).await {
        Ok(csv) => csv_download(&format!("payout-batch-{id}.csv"), csv),
        Err(backend::Error::Forbidden) => (StatusCode::FORBIDDEN, "finance approvers only").into_response(),
        Err(backend::Error::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "batch CSV failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /settings/audit.csv?q=&actor=&kind=&from=&to=`: the audit log as filtered, for admins.
async fn audit_csv(
    State(ctx): State<AppContext>,
    session: tower_sessions::Session,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let actor = match route_actor(&ctx, &session).await {
        Ok(a) => a,
        Err(res) => return res,
    };
    let text = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let query = models::AuditQuery { q: text("q"), actor: text("actor"), kind: text("kind"), from: text("from"), to: text("to"), page: 1 };
    match backend::access::audit::csv(&ctx.db, &actor, &query).await {
        Ok(csv) => csv_download("audit-log.csv", csv),
        Err(backend::Error::Forbidden) => (StatusCode::FORBIDDEN, "admins only").into_response(),
        Err(backend::Error::Invalid { message, .. }) => (StatusCode::UNPROCESSABLE_ENTITY, message).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "audit CSV failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

const VISITOR_COOKIE: &str = "trellis_vid";

#[derive(Clone)]
struct MailState {
    db: DatabaseConnection,
    clock: Clock,
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// `GET /o/{token}`: the open-tracking pixel. The first load marks the email opened; the answer
/// is the same pixel whatever the token, so it reveals nothing.
async fn open_pixel(State(st): State<MailState>, Path(token): Path<String>) -> Response {
    if token.len() <= 64 {
        if let Err(e) = backend::comms::mail::record_open(&st.db, st.clock.now(), &token).await {
            tracing::warn!(error = %e, "recording an email open failed");
        }
    }
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store, private")], PIXEL).into_response()
}

fn mail_page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><link rel=\"stylesheet\" href=\"/pkg/trellis.css\"></head><body><main class=\"standalone\"><div class=\"card\"><h1>{title}</h1>{body}</div></main></body></html>"
    ))
}

/// `GET /u/{token}`: what unsubscribing means, with a button (a link scanner that follows the
/// link does not unsubscribe anyone).
async fn unsubscribe_page(State(st): State<MailState>, Path(token): Path<String>) -> Response {
    match backend::comms::mail::unsubscribe_info(&st.db, &token).await {
        Ok((sender, email, done)) => {
            let (sender, email) = (html_escape::encode_text(&sender), html_escape::encode_text(&email));
            if done {
                return mail_page("You are unsubscribed", &format!("<p><strong>{email}</strong> gets no more news from {sender}. Account emails (password resets, invitations) still arrive.</p>")).into_response();
            }
            mail_page(
                "Unsubscribe",
                &format!("<p>Stop news, tips and announcements from <strong>{sender}</strong> to <strong>{email}</strong>? Account emails (password resets, invitations) still arrive.</p><form method=\"post\"><button class=\"btn primary\" type=\"submit\">Unsubscribe</button></form>"),
            )
            .into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, mail_page("Link not found", "<p>This unsubscribe link is not valid.</p>")).into_response(),
    }
}

/// `POST /u/{token}`: unsubscribes the email's address from the account's non-essential mail.
async fn unsubscribe_confirm(State(st): State<MailState>, Path(token): Path<String>) -> Response {
    match backend::comms::mail::unsubscribe(&st.db, st.clock.now(), &token).await {
        Ok(()) => unsubscribe_page(State(st), Path(token)).await,
        Err(backend::Error::NotFound(_)) => (StatusCode::NOT_FOUND, mail_page("Link not found", "<p>This unsubscribe link is not valid.</p>")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe failed");
            (StatusCode::INTERNAL_SERVER_ERROR, mail_page("Please try again", "<p>Something went wrong; please try again shortly.</p>")).into_response()
        }
    }
}

/// `GET /r/{code}`: 302 to the link's stored destination with the click id appended, and the
/// visitor cookie. The click is buffered, never awaited.
async fn redirect(
    State((clicks, metrics)): State<(Arc<ClickRecorder>, Arc<crate::metrics::Metrics>)>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let target = match clicks.resolve(&code).await {
        Ok(Some(t)) => t,
        Ok(None) => return (StatusCode::NOT_FOUND, Html(NOT_FOUND_PAGE)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "link lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
        }
    };
    let cookie_vid = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == VISITOR_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| backend::tracking::is_visitor_id(v));
    let visitor = cookie_vid.unwrap_or_else(backend::tracking::new_visitor_id);
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let click_id = clicks.record(
        &target,
        ClickMeta {
            visitor_id: &visitor,
            referrer: text(header::REFERER),
            user_agent: text(header::USER_AGENT),
            ip: &peer.ip().to_string(),
        },
    );
    metrics.click();
    let cookie = format!("{VISITOR_COOKIE}={visitor}; Max-Age=31536000; Path=/; HttpOnly; SameSite=Lax");
    (
        StatusCode::FOUND,
        [(header::LOCATION, target.location(&click_id)), (header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_string())],
    )
        .into_response()
}

const NOT_FOUND_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not found · Trellis</title>\
<link rel=\"stylesheet\" href=\"/pkg/trellis.css\"></head><body><div class=\"center-page\"><div class=\"card narrow\">\
<h1>Link not found</h1><p>This tracking link does not exist or is no longer active.</p></div></div></body></html>";

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

