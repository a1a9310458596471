//! Tracking: `/r/{code}` (a partner's link: the click is buffered and the visitor sent on) and
//! `/o/{token}` (the open-tracking pixel of an email).

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use backend::tracking::{ClickMeta, ClickRecorder};
use backend::{Clock, DatabaseConnection};
use std::net::SocketAddr;
use std::sync::Arc;

const VISITOR_COOKIE: &str = "trellis_vid";

#[derive(Clone)]
struct PixelState {
    db: DatabaseConnection,
    clock: Clock,
}

/// `/r/{code}` and `/o/{token}`.
pub(super) fn routes(clicks: Arc<ClickRecorder>, metrics: Arc<crate::metrics::Metrics>, db: DatabaseConnection, clock: Clock) -> Router {
    Router::new()
        .route("/r/{code}", get(redirect))
        .with_state((clicks, metrics))
        .merge(Router::new().route("/o/{token}", get(open_pixel)).with_state(PixelState { db, clock }))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// `GET /o/{token}`: the open-tracking pixel. The first load marks the email opened; the answer
/// is the same pixel whatever the token, so it reveals nothing.
async fn open_pixel(State(st): State<PixelState>, Path(token): Path<String>) -> Response {
    if token.len() <= 64 {
        if let Err(e) = backend::comms::mail::record_open(&st.db, st.clock.now(), &token).await {
            tracing::warn!(error = %e, "recording an email open failed");
        }
    }
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store, private")], PIXEL).into_response()
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
