//! The one mapping from a service error to HTTP: [`Problem`], an RFC 9457 problem document
//! (`application/problem+json`) with a stable `code` and the request's `correlation_id`.
//! The REST API and the web routes answer service errors through `Problem::from(backend::Error)`;
//! a panicked handler is answered by [`panicked`].

use super::correlation::{self, CorrelationId};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// The request's correlation id (its log lines carry it too).
    pub correlation_id: CorrelationId,
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
    /// A problem with the given parts, for the current request.
    pub fn new(status: StatusCode, code: impl Into<String>, title: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code: code.into(), title, detail: detail.into(), correlation_id: correlation::current(), fault: None }
    }

    /// 401 for a missing or bad API key.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", format!("{what} not found"))
    }

    /// The same problem with another `detail` (a route's own words for people).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The same problem with another `detail` when its status is `status`.
    pub fn with_detail_for(self, status: StatusCode, detail: impl Into<String>) -> Self {
        if self.status == status {
            self.with_detail(detail)
        } else {
            self
        }
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
            "correlation_id": self.correlation_id.as_str(),
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

/// The one mapping of a service error: its status, `code`, title and detail. Database and
/// internal errors are logged with their cause under the request's correlation id and shown
/// only by that id; storage faults carry their [`StorageFault`] to the layer that counts them.
impl From<backend::Error> for Problem {
    fn from(e: backend::Error) -> Self {
        use backend::Error as E;
        // The status comes from the one table the server functions use too.
        let status = app::ssr::status_of(&e);
        match e {
            E::Unauthenticated => Problem::unauthorized(),
            E::Forbidden => Problem::new(status, "forbidden", "Forbidden", "this key may not do that"),
            E::NotFound(what) => Problem::not_found(what),
            E::Invalid { field, message } => {
                let code = format!("invalid_{}", field.split(['.', '[']).next().unwrap_or(&field));
                Problem::new(status, code, "Invalid value", format!("{field}: {message}"))
            }
            E::Conflict(m) => Problem::new(status, "conflict", "Conflict", m),
            E::RateLimited => Problem::new(status, "rate_limited", "Too many requests", "slow down"),
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
                let mut p = Problem::new(status, kind.code(), title, detail);
                p.fault = Some(StorageFault { kind, cause: db.to_string() });
                p
            }
            E::Db(db) => {
                let id = correlation::current();
                tracing::error!(correlation_id = %id, error = ?db, "database error in a request");
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    Problem::new(status, "unavailable", "Service unavailable", format!("the database is unavailable; retry (reference {id})"))
                } else {
                    Problem::new(status, "internal", "Internal error", format!("reference {id}"))
                }
            }
            E::Internal(m) => {
                let id = correlation::current();
                tracing::error!(correlation_id = %id, error = %m, "internal error in a request");
                Problem::new(status, "internal", "Internal error", format!("reference {id}"))
            }
        }
    }
}

/// A panicked handler (the `CatchPanicLayer` handler of the whole router and of the REST API):
/// logged under the request's correlation id, answered 500 problem+json naming it, and the
/// server keeps serving.
pub fn panicked(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err.downcast_ref::<String>().map(String::as_str).or_else(|| err.downcast_ref::<&str>().copied()).unwrap_or("a panic");
    let p = Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error", "");
    let id = p.correlation_id.clone();
    tracing::error!(correlation_id = %id, panic = what, "a request handler panicked");
    p.with_detail(format!("the server failed; quote {id} when you report it")).into_response()
}

/// A server-function argument refused before any service runs (`text_guard`): 422 in the error
/// encoding the app reads, `app::error::AppError::Invalid("{field}: {why}")`, the same answer
/// the app gives a `backend::Error::Invalid` (`app::ssr::fail`).
pub fn server_fn_invalid(field: &str, why: &str) -> Response {
    let error = app::error::AppError::Invalid(format!("{field}: {why}"));
    let body = serde_json::to_string(&error).unwrap_or_else(|_| "{}".into());
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
