//! Errors of the REST API as RFC 9457 problem documents with a stable `code`.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// A problem+json answer.
#[derive(Debug)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_amount`, `not_found`, `conflict`…).
    pub code: String,
    /// Short summary.
    pub title: &'static str,
    /// What exactly is wrong.
    pub detail: String,
    /// Set when a storage fault refused the request: the answer carries `Retry-After`, and the
    /// fault travels in the response's extensions to the layer that counts it and logs the
    /// episode (`web::count_storage_faults`).
    pub fault: Option<StorageFault>,
}

/// A storage fault that refused a request, with its cause for the episode's log line.
#[derive(Debug, Clone)]
pub struct StorageFault {
    /// Full or unavailable.
    pub kind: backend::storage::FaultKind,
    /// The database's words.
    pub cause: String,
}

impl Problem {
    /// A problem with the given parts.
    pub fn new(status: StatusCode, code: impl Into<String>, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code: code.into(), title, detail: detail.into(), fault: None }
    }

    /// 401 for a missing or bad key.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", format!("{what} not found"))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "status": self.status.as_u16(),
            "title": self.title,
            "detail": self.detail,
            "code": self.code,
        });
        let mut res = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(backend::storage::RETRY_AFTER_SECS));
        }
        if let Some(fault) = self.fault {
            res.extensions_mut().insert(fault);
        }
        res
    }
}

impl From<backend::Error> for Problem {
    fn from(e: backend::Error) -> Self {
        use backend::Error as E;
        match e {
            E::Unauthenticated => Problem::unauthorized(),
            E::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", "this key may not do that"),
            E::NotFound(what) => Problem::not_found(what),
            E::Invalid { field, message } => {
                let code = format!("invalid_{}", field.split(['.', '[']).next().unwrap_or(&field));
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Invalid value", format!("{field}: {message}"))
            }
            E::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", m),
            E::RateLimited => Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests", "slow down"),
            E::Db(db) if backend::storage::classify(&db).is_some() => {
                let kind = backend::storage::classify(&db).expect("checked by the guard");
                let detail = match kind {
                    backend::storage::FaultKind::Full => "the database's disk is full; nothing was stored; retry later",
                    backend::storage::FaultKind::Unavailable => "the database cannot be written (I/O error or read-only); nothing was stored; retry later",
                };
                let title = match kind {
                    backend::storage::FaultKind::Full => "Storage full",
                    backend::storage::FaultKind::Unavailable => "Storage unavailable",
                };
                let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, kind.code(), title, detail);
                p.fault = Some(StorageFault { kind, cause: db.to_string() });
                p
            }
            E::Db(db) => {
                let id = correlation_id();
                tracing::error!(correlation_id = %id, error = ?db, "database error in REST handler");
                if backend::db::is_unavailable(&db) {
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable", format!("the database is unavailable; retry (reference {id})"))
                } else {
                    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", format!("reference {id}"))
                }
            }
            E::Internal(m) => {
                let id = correlation_id();
                tracing::error!(correlation_id = %id, error = %m, "internal error in REST handler");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", format!("reference {id}"))
            }
        }
    }
}

fn correlation_id() -> String {
    format!("{:08x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0))
}

/// A JSON body: a `Content-Type` other than JSON → 415 `unsupported_media_type`, malformed JSON
/// → 400 `malformed_json`, a body over the limit → 413 `payload_too_large`, a string that no
/// database engine can store (NUL, other control characters) → 422 naming the field, a
/// well-formed body of the wrong shape → 422 `invalid_body`. The parsed value is kept for
/// idempotency hashing.
pub struct ApiJson<T>(pub T, pub serde_json::Value);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large", "the body must be at most 64 KiB")
            } else {
                Problem::new(rej.status(), "bad_request", "Bad request", rej.body_text())
            }
        })?;
        let (typed, value) = parse_json(&headers, &bytes)?;
        Ok(ApiJson(typed, value))
    }
}

/// True when a `Content-Type` names JSON (`application/json`, `application/*+json`, with any
/// parameters).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Checks and parses a JSON request body (see [`ApiJson`]).
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<(T, serde_json::Value), Problem> {
    if !is_json(headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as JSON with 'Content-Type: application/json'",
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON", e.to_string()))?;
    if let Err((field, e)) = models::text::check_json(&value) {
        return Err(backend::Error::invalid(field, e.0).into());
    }
    let typed = serde_json::from_value(value.clone()).map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Invalid body", e.to_string()))?;
    Ok((typed, value))
}
