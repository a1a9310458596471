//! Sign-in, sign-out and who is signed in.

use crate::error::AppError;
use leptos::prelude::*;
use models::SessionInfo;

/// Signs in and returns the path of the user's landing page. The session id is rotated.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<String, AppError> {
    use crate::ssr::{context, fail, session};
    use backend::access::session_store::{SIGNED_IN_AT_KEY, USER_ID_KEY};
    let ctx = context()?;
    let ip = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let actor = match backend::access::auth::login(&ctx.db, &ctx.clock, &email, &password, &ip).await {
        Ok(a) => a,
        Err(backend::Error::Unauthenticated) => {
            fail(backend::Error::Unauthenticated);
            return Err(AppError::BadCredentials);
        }
        Err(e) => return Err(fail(e)),
    };
    let session = session().await?;
    let internal = |e: tower_sessions::session::Error| fail(backend::Error::Internal(e.to_string()));
    session.cycle_id().await.map_err(internal)?;
    session.insert(USER_ID_KEY, actor.user_id).await.map_err(internal)?;
    session.insert(SIGNED_IN_AT_KEY, ctx.clock.now().timestamp()).await.map_err(internal)?;
    Ok(if actor.partner_id.is_some() { "/portal" } else { "/directory" }.to_string())
}

/// Signs out: the session is deleted on the server.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::guard(crate::ssr::Need::Any).await?;
    let session = crate::ssr::session().await?;
    session.flush().await.map_err(|e| crate::ssr::fail(backend::Error::Internal(e.to_string())))?;
    Ok(())
}

/// Who is signed in; `Unauthenticated` (401) for a visitor.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<SessionInfo, AppError> {
    let ctx = crate::ssr::context()?;
    let a = crate::ssr::current_actor(&ctx).await?.ok_or_else(|| crate::ssr::fail(backend::Error::Unauthenticated))?;
    Ok(SessionInfo {
        is_partner: a.partner_id.is_some(),
        name: a.name,
        email: a.email,
        account_name: a.account_name,
        roles: a.roles,
    })
}
