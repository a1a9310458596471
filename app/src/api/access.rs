//! Who may do what: signing in and out, the team and its roles, one's own profile, API keys,
//! the audit log and disk-space warning of the account, and the public pages of one-time links
//! (accepting an invitation, resetting a password, confirming an email).

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{ApiKeyRow, AuditPage, AuditQuery, CreatedKey, IssuedLink, MemberRow, Profile, Role, SessionInfo, TokenInfo};

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

/// The team (admins).
#[server(endpoint = "settings/team")]
pub async fn load_team() -> Result<Vec<MemberRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::members(&ctx.db, &actor).await.map_err(fail)
}

/// Invites a member; answers the link to pass on (also queued in the outbox).
#[server(endpoint = "settings/invite", input = Json)]
pub async fn invite_member(email: String, name: String, roles: Vec<Role>) -> Result<IssuedLink, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::invite(&ctx.db, &actor, ctx.clock.now(), &ctx.public_url, &email, &name, &roles).await.map_err(fail)
}

/// Replaces a member's roles.
#[server(endpoint = "settings/set_roles", input = Json)]
pub async fn set_member_roles(user_id: i64, roles: Vec<Role>) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::set_roles(&ctx.db, &actor, ctx.clock.now(), user_id, &roles).await.map_err(fail)
}

/// Deactivates a member; their sessions end at once.
#[server(endpoint = "settings/deactivate")]
pub async fn deactivate_member(user_id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::deactivate(&ctx.db, &actor, ctx.clock.now(), user_id).await.map_err(fail)
}

/// Reactivates a member.
#[server(endpoint = "settings/reactivate")]
pub async fn reactivate_member(user_id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::reactivate(&ctx.db, &actor, ctx.clock.now(), user_id).await.map_err(fail)
}

/// Issues a password-reset link for a member.
#[server(endpoint = "settings/reset_password")]
pub async fn reset_member_password(user_id: i64) -> Result<IssuedLink, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::team::reset_password(&ctx.db, &actor, ctx.clock.now(), &ctx.public_url, user_id).await.map_err(fail)
}

/// The account's API keys (admins).
#[server(endpoint = "settings/keys")]
pub async fn load_keys() -> Result<Vec<ApiKeyRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::api_keys::list(&ctx.db, &actor).await.map_err(fail)
}

/// Creates an API key; the answer is the only time its secret is shown.
#[server(endpoint = "settings/create_key")]
pub async fn create_key(name: String) -> Result<CreatedKey, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::api_keys::create(&ctx.db, &ctx.clock, &actor, &name).await.map_err(fail)
}

/// Revokes an API key.
#[server(endpoint = "settings/revoke_key")]
pub async fn revoke_key(id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::api_keys::revoke(&ctx.db, &ctx.clock, &actor, id).await.map_err(fail)
}

/// A page of the audit log (admins).
#[server(endpoint = "settings/audit", input = Json)]
pub async fn load_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::access::audit::list(&ctx.db, &actor, &query).await.map_err(fail)
}

/// The signed-in team member's profile.
#[server(endpoint = "profile/get")]
pub async fn load_profile() -> Result<Profile, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::access::profile::get(&ctx.db, &actor, ctx.clock.now()).await.map_err(fail)
}

/// Changes one's own name.
#[server(endpoint = "profile/rename")]
pub async fn rename_me(name: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::access::profile::rename(&ctx.db, &actor, ctx.clock.now(), &name).await.map_err(fail)
}

/// Asks to change one's own email; a confirmation link goes to the new address.
#[server(endpoint = "profile/change_email")]
pub async fn change_my_email(email: String, current_password: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::access::profile::request_email_change(&ctx.db, &actor, ctx.clock.now(), &ctx.public_url, &email, &current_password).await.map_err(fail)
}

/// Changes one's own password; answers how many other sessions ended.
#[server(endpoint = "profile/change_password")]
pub async fn change_my_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    use crate::ssr::{fail, guard, session, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    let keep = session().await?.id().map(|id| id.to_string());
    backend::access::profile::change_password(&ctx.db, &actor, ctx.clock.now(), &current_password, &new_password, keep.as_deref()).await.map_err(fail)
}

/// What a one-time link is for (public: the token is the credential).
#[server(endpoint = "public/token")]
pub async fn load_token(token: String) -> Result<TokenInfo, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::access::team::token_info(&ctx.db, &token, ctx.clock.now()).await.map_err(fail)
}

/// Accepts an invitation or a password reset, then signs the member in (new session id);
/// answers where to go.
#[server(endpoint = "public/set_password")]
pub async fn set_password_with_link(token: String, name: String, password: String) -> Result<String, AppError> {
    use crate::ssr::{context, fail, session};
    use backend::access::session_store::{SIGNED_IN_AT_KEY, USER_ID_KEY};
    let ctx = context()?;
    let user_id = backend::access::team::use_password_link(&ctx.db, ctx.clock.now(), &token, Some(&name), &password).await.map_err(fail)?;
    let session = session().await?;
    let internal = |e: tower_sessions::session::Error| fail(backend::Error::Internal(e.to_string()));
    session.cycle_id().await.map_err(internal)?;
    session.insert(USER_ID_KEY, user_id).await.map_err(internal)?;
    session.insert(SIGNED_IN_AT_KEY, ctx.clock.now().timestamp()).await.map_err(internal)?;
    // `/` sends team members to the directory and partners to their portal.
    Ok("/".to_string())
}

/// Confirms an email change from its link (public: the token is the credential).
#[server(endpoint = "public/confirm_email")]
pub async fn confirm_email(token: String) -> Result<String, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::access::profile::confirm_email(&ctx.db, ctx.clock.now(), &token).await.map_err(fail)
}

/// Free space under the embedded database, for the admins' low-space notice (`None` on
/// PostgreSQL, whose disk is the database server's).
#[server(endpoint = "settings/storage")]
pub async fn load_storage() -> Result<Option<models::StorageSpace>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::storage::space(&ctx.db, &actor).map_err(fail)
}
