//! One correlation id per request: random, made by [`assign`] (the outermost layer of the
//! router), carried in the request's extensions, in a `request{correlation_id=…}` tracing span
//! around everything the request logs, and read by the error mapping ([`current`]) so that every
//! error body names the id its log lines carry.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub use app::correlation::{current, CorrelationId};

/// Gives the request its correlation id: in its extensions, as [`current`] while it is answered
/// (panics included: the panic handler runs inside), and in the tracing span of its log lines.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = CorrelationId::random();
    req.extensions_mut().insert(id.clone());
    let span = tracing::info_span!("request", correlation_id = %id);
    app::correlation::scope(id, next.run(req).instrument(span)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::Problem;
    use axum::response::IntoResponse;

    #[tokio::test]
    async fn an_error_body_names_the_correlation_id_of_its_request() {
        let id = CorrelationId::random();
        let res = app::correlation::scope(id.clone(), async { Problem::from(backend::Error::Internal("boom".into())).into_response() }).await;
        assert_eq!(res.status(), 500);
        let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["correlation_id"], id.as_str());
        assert_eq!(v["detail"], format!("reference {id}"));
        assert_eq!(v["code"], "internal");
    }

    #[test]
    fn ids_are_eight_hex_digits_and_differ() {
        let (a, b) = (CorrelationId::random(), CorrelationId::random());
        assert!(a.as_str().len() == 8 && a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b, "random ids (a clash is a 1 in 4 billion chance)");
    }
}
