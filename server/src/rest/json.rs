//! The REST API's JSON bodies: the `ApiJson` extractor and its checks, refusals as problem+json.

use crate::edge::Problem;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

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
