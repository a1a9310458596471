//! Layers that guard requests and answers: the cross-site request check, the security headers
//! on every answer and the `/metrics` bearer token.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The allowed origin of browser requests.
#[derive(Clone)]
pub(super) struct Origin(pub(super) String);

/// Refuses state-changing requests that a browser marks as cross-site. Requests without the
/// browser headers (scripts, the REST API with its bearer keys) are not cookie-authenticated
/// by a victim's browser and pass.
pub(super) async fn same_origin_only(State(origin): State<Origin>, req: Request, next: Next) -> Response {
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

/// The `/metrics` bearer token, if one is configured.
#[derive(Clone)]
pub(super) struct MetricsToken(pub(super) Option<Arc<str>>);

/// `/metrics` with `TRELLIS_METRICS_TOKEN` set: 401 without `Authorization: Bearer <token>`
/// (compared in constant time).
pub(super) async fn metrics_token(State(MetricsToken(token)): State<MetricsToken>, req: Request, next: Next) -> Response {
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
pub(super) struct Https(pub(super) bool);

/// Headers on every answer: no framing by other sites (`frame-ancestors 'none'`,
/// `X-Frame-Options`), no plugins or foreign `<base>`, forms only to this origin, no MIME
/// sniffing, a referrer policy (not on tracking redirects, whose referrer belongs to the
/// partner's page and the merchant), and HSTS when served over https.
pub(super) async fn security_headers(State(Https(https)): State<Https>, req: Request, next: Next) -> Response {
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
