//! Server-side glue of the server functions: the shared context, the one guard (session,
//! account, role) and the translation of service errors.

use crate::error::AppError;
use backend::access::session_store::{SEEN_AT_KEY, SIGNED_IN_AT_KEY, SLIDE_EVERY_SECS, USER_ID_KEY};
use backend::{Actor, Clock, DatabaseConnection};
use http::StatusCode;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use models::Role;
use tower_sessions::Session;

/// How long a sign-in lasts at most, active or not.
pub const ABSOLUTE_SESSION_HOURS: i64 = 24 * 7;

/// What every server function can reach: provided once to both the SSR handler and the
/// server-function handler.
#[derive(Clone, Debug)]
pub struct AppContext {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The clock.
    pub clock: Clock,
    /// Base of tracking links.
    pub public_url: String,
    /// Storage faults of this server (a full disk answers 503 and is logged once per episode).
    pub storage: std::sync::Arc<backend::storage::StorageHealth>,
}

/// What a server function requires of the caller.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Any team member.
    Team,
    /// An admin of the account.
    Admin,
    /// A team member with one of these roles (admins pass every check).
    Roles(&'static [Role]),
    /// A partner user.
    Partner,
    /// Anyone signed in.
    Any,
}

/// The shared context.
pub fn context() -> Result<AppContext, AppError> {
    use_context::<AppContext>().ok_or_else(|| fail(backend::Error::Internal("AppContext missing".into())))
}

/// The request's session.
pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| fail(backend::Error::Internal(format!("session layer missing: {e}"))))
}

/// The actor a session belongs to, if any; expired or revoked sign-ins count as none (and the
/// session is cleared). Shared by server functions and plain routes such as CSV downloads.
pub async fn actor_of_session(db: &DatabaseConnection, clock: &Clock, session: &Session) -> Result<Option<Actor>, backend::Error> {
    let internal = |e: tower_sessions::session::Error| backend::Error::Internal(e.to_string());
    let user_id: Option<i64> = session.get(USER_ID_KEY).await.map_err(internal)?;
    let Some(user_id) = user_id else { return Ok(None) };
    let signed_in_at: Option<i64> = session.get(SIGNED_IN_AT_KEY).await.ok().flatten();
    let fresh = signed_in_at.is_some_and(|t| clock.now().timestamp() - t < ABSOLUTE_SESSION_HOURS * 3600);
    if !fresh {
        let _ = session.flush().await;
        return Ok(None);
    }
    match backend::access::auth::actor_for_user(db, user_id).await {
        Ok(actor) => {
            // The idle expiry slides with use: a changed session is saved with a fresh expiry,
            // so an active member's session is saved again every few minutes (not on every
            // request); the absolute expiry above still holds.
            let now = clock.now().timestamp();
            let seen: Option<i64> = session.get(SEEN_AT_KEY).await.ok().flatten();
            if seen.is_none_or(|t| now - t >= SLIDE_EVERY_SECS) {
                session.insert(SEEN_AT_KEY, now).await.map_err(internal)?;
            }
            Ok(Some(actor))
        }
        Err(backend::Error::Unauthenticated) => {
            let _ = session.flush().await;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The signed-in actor of this request, if any.
pub async fn current_actor(ctx: &AppContext) -> Result<Option<Actor>, AppError> {
    let session = session().await?;
    actor_of_session(&ctx.db, &ctx.clock, &session).await.map_err(fail)
}

/// The one guard of every server function: a valid session, then the role.
pub async fn guard(need: Need) -> Result<(AppContext, Actor), AppError> {
    let ctx = context()?;
    let actor = current_actor(&ctx).await?.ok_or_else(|| fail(backend::Error::Unauthenticated))?;
    let allowed = match need {
        Need::Team => actor.require_team(),
        Need::Admin => actor.require_admin(),
        Need::Roles(roles) => actor.require_any(roles),
        Need::Partner => actor.require_partner().map(|_| ()),
        Need::Any => Ok(()),
    };
    allowed.map_err(fail)?;
    Ok((ctx, actor))
}

/// The one table from a service error to its HTTP status: server functions ([`fail`]), the REST
/// API and the web routes (`server::edge::problem`) all answer with it.
pub fn status_of(e: &backend::Error) -> StatusCode {
    use backend::Error as E;
    match e {
        E::Unauthenticated => StatusCode::UNAUTHORIZED,
        E::Forbidden => StatusCode::FORBIDDEN,
        E::NotFound(_) => StatusCode::NOT_FOUND,
        E::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        E::Conflict(_) => StatusCode::CONFLICT,
        E::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        E::Db(db) if backend::storage::classify(db).is_some() || backend::db::is_unavailable(db) => StatusCode::SERVICE_UNAVAILABLE,
        E::Db(_) | E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Translates a service error for the page and sets the HTTP status ([`status_of`]); causes are
/// logged, with the request's correlation id, which the page shows.
pub fn fail(e: backend::Error) -> AppError {
    use backend::Error as E;
    let status = status_of(&e);
    let err = match e {
        E::Unauthenticated => AppError::Unauthenticated,
        E::Forbidden => AppError::Forbidden,
        E::NotFound(what) => AppError::NotFound(capitalise(what)),
        E::Invalid { field, message } => AppError::Invalid(format!("{field}: {message}")),
        E::Conflict(m) => AppError::Conflict(m),
        E::RateLimited => AppError::RateLimited,
        E::Db(db) if backend::storage::classify(&db).is_some() => {
            // Logged once per episode by the storage health, not once per request.
            let id = correlation_id();
            if let Some(ctx) = use_context::<AppContext>() {
                ctx.storage.record_error(&E::Db(db));
            }
            AppError::Unavailable(id)
        }
        E::Db(db) => {
            let id = correlation_id();
            tracing::error!(correlation_id = %id, error = ?db, "database error in server function");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                AppError::Unavailable(id)
            } else {
                AppError::Internal(id)
            }
        }
        E::Internal(m) => {
            let id = correlation_id();
            tracing::error!(correlation_id = %id, error = %m, "internal error in server function");
            AppError::Internal(id)
        }
    };
    // Only a server-function call answers with the error's status; a page rendered on the
    // server keeps its own (a page that calls `me` for a visitor redirects, it does not fail).
    let in_server_fn = use_context::<http::request::Parts>().is_some_and(|p| p.uri.path().starts_with("/api/"));
    if in_server_fn {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(status);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(backend::storage::RETRY_AFTER_SECS));
            }
        }
    }
    err
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn correlation_id() -> String {
    crate::correlation::current().to_string()
}
