//! The request's correlation id, shared by the server's edge (which assigns it to every request,
//! see `server::edge::correlation`) and the server functions' error mapping (`ssr::fail`), so that
//! an error a page shows names the id its log lines carry. It lives here, below the server, so
//! both can reach it.

use std::fmt;
use std::future::Future;

/// The correlation id of a request: eight lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(String);

impl CorrelationId {
    /// A new random id.
    pub fn random() -> Self {
        CorrelationId(format!("{:08x}", rand::random::<u32>()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

tokio::task_local! {
    static CURRENT: CorrelationId;
}

/// The correlation id of the request being answered; outside a request (a test calling a
/// handler directly, a background task) a fresh random one.
pub fn current() -> CorrelationId {
    CURRENT.try_with(Clone::clone).unwrap_or_else(|_| CorrelationId::random())
}

/// Runs `fut` (the answering of one request) with `id` as [`current`].
pub async fn scope<F: Future>(id: CorrelationId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[tokio::test]
    async fn a_server_function_error_names_the_id_of_its_request() {
        let id = CorrelationId::random();
        let e = scope(id.clone(), async { crate::ssr::fail(backend::Error::Internal("boom".into())) }).await;
        assert!(matches!(&e, AppError::Internal(got) if *got == id.to_string()), "{e:?}");
    }

    #[test]
    fn one_status_table_for_every_service_error() {
        use crate::ssr::status_of;
        use backend::Error as E;
        let cases = [
            (E::Unauthenticated, 401),
            (E::Forbidden, 403),
            (E::NotFound("partner"), 404),
            (E::invalid("email", "is not an email address"), 422),
            (E::Conflict("taken".into()), 409),
            (E::RateLimited, 429),
            (E::Internal("boom".into()), 500),
        ];
        for (e, status) in cases {
            assert_eq!(status_of(&e).as_u16(), status, "{e:?}");
        }
    }
}
