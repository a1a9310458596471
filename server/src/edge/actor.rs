//! The one actor extractor: [`Caller`], the `backend::Actor` a request acts as. Under the REST
//! API it is the account of the bearer API key; on the web routes (CSV downloads, uploads) the
//! signed-in user of the session. Which one a router takes is said by its state
//! ([`EdgeState::CREDENTIAL`]); a refusal is a [`Problem`].

use super::problem::Problem;
use app::ssr::AppContext;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use backend::{Actor, Clock, DatabaseConnection};

/// How a router's requests prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer {api key}`; the caller is the key's account (`Actor::api`).
    ApiKey,
    /// The session cookie of a signed-in user.
    Session,
}

/// The state of a router whose handlers take a [`Caller`].
pub trait EdgeState: Send + Sync {
    /// How this router's callers are identified.
    const CREDENTIAL: Credential;
    /// The database pool.
    fn db(&self) -> &DatabaseConnection;
    /// The clock.
    fn clock(&self) -> &Clock;
}

impl EdgeState for AppContext {
    const CREDENTIAL: Credential = Credential::Session;
    fn db(&self) -> &DatabaseConnection {
        &self.db
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// The actor of a request: 401 problem+json without valid credentials; 503 when the session
/// cannot be read.
pub struct Caller(pub Actor);

impl<S: EdgeState> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match S::CREDENTIAL {
            Credential::ApiKey => by_api_key(parts, state).await.map(|account| Caller(Actor::api(account))),
            Credential::Session => by_session(parts, state).await.map(Caller),
        }
    }
}

/// The account of the request's bearer API key.
async fn by_api_key<S: EdgeState>(parts: &Parts, state: &S) -> Result<i64, Problem> {
    let key = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(Problem::unauthorized)?;
    Ok(backend::access::auth::account_for_api_key(state.db(), state.clock(), key).await?)
}

/// The signed-in user of the request's session.
async fn by_session<S: EdgeState>(parts: &mut Parts, state: &S) -> Result<Actor, Problem> {
    let unavailable = |p: Problem| Problem { status: StatusCode::SERVICE_UNAVAILABLE, code: "unavailable".into(), title: "Service unavailable", ..p };
    let session = tower_sessions::Session::from_request_parts(parts, state).await.map_err(|(_, why)| {
        unavailable(Problem::from(backend::Error::Internal(format!("session layer missing: {why}"))))
    })?;
    match app::ssr::actor_of_session(state.db(), state.clock(), &session).await {
        Ok(Some(actor)) => Ok(actor),
        Ok(None) => Err(Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", "sign in first")),
        Err(e) => {
            // The session store is the database: whatever failed, the answer is "retry".
            let p = Problem::from(e);
            Err(if p.status == StatusCode::SERVICE_UNAVAILABLE { p } else { unavailable(p) })
        }
    }
}
