//! Text every engine can store, for server functions: refuses a server-function call whose
//! arguments hold a NUL or another control character (tab, line feed and carriage return are
//! kept for multi-line texts such as notes and messages) with 422 and the argument's name, in
//! the error encoding the app reads. REST bodies are checked by `rest::ApiJson`; uploads by
//! their services. The same rule as [`models::text`], before any service runs.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use models::text::{check, check_json, TextKind};

/// Server-function bodies are small forms; uploads have their own routes.
const MAX_ARGS: usize = 2 * 1024 * 1024;

/// The argument at fault and why, if any argument of a server-function body is not storable.
pub fn check_args(content_type: &str, body: &[u8]) -> Option<(String, String)> {
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        return check_json(&value).err().map(|(field, e)| (field, e.0));
    }
    // `application/x-www-form-urlencoded` (the default encoding), and GET query strings.
    form_urlencoded::parse(body).find_map(|(k, v)| {
        check(&k, TextKind::Line).and_then(|_| check(&v, TextKind::Multiline)).err().map(|e| (field_name(&k), e.0))
    })
}

/// `args[name]` → `name`, `filter[q]` → `filter.q`.
fn field_name(key: &str) -> String {
    key.replace("][", ".").replace('[', ".").replace(']', "").trim_start_matches("args.").to_string()
}

/// The middleware: only server-function calls (`/api/…`, not `/api/v1`) are looked at.
pub async fn refuse_unstorable_text(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !path.starts_with("/api/") || path.starts_with("/api/v1/") {
        return next.run(req).await;
    }
    if let Some(q) = req.uri().query() {
        if let Some((field, why)) = check_args("", q.as_bytes()) {
            return crate::edge::problem::server_fn_invalid(&field, &why);
        }
    }
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_ARGS).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "the request is too large").into_response(),
    };
    if let Some((field, why)) = check_args(&content_type, &bytes) {
        return crate::edge::problem::server_fn_invalid(&field, &why);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::check_args;

    #[test]
    fn form_and_json_arguments_are_checked() {
        let ok = "name=Ava+Thompson&note=two%0Alines";
        assert_eq!(check_args("application/x-www-form-urlencoded", ok.as_bytes()), None);
        let bad = "id=3&fields%5Bname%5D=A%00B";
        let (field, why) = check_args("application/x-www-form-urlencoded", bad.as_bytes()).unwrap();
        assert_eq!(field, "fields.name");
        assert!(why.contains("U+0000"), "{why}");
        assert_eq!(check_args("application/json", br#"{"name":"a\u0007"}"#).unwrap().0, "name");
    }
}
