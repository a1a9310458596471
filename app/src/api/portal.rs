//! The partner portal.

use crate::error::AppError;
use leptos::prelude::*;
use models::PortalHome;

/// The signed-in partner's landing page.
#[server(endpoint = "portal/home")]
pub async fn load_portal_home() -> Result<PortalHome, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::home(&ctx.db, &actor).await.map_err(fail)
}

/// The public application page of a program (public: anyone may apply).
#[server(endpoint = "public/apply_page")]
pub async fn load_apply_page(program_id: i64) -> Result<models::ApplyPage, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal_apply::page(&ctx.db, program_id).await.map_err(fail)
}

/// Submits an application to a program (public).
#[server(endpoint = "public/apply", input = leptos::server_fn::codec::Json)]
pub async fn submit_application(application: models::Application) -> Result<models::ApplyOutcome, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal_apply::apply(&ctx.db, ctx.clock.now(), &ctx.public_url, &application).await.map_err(fail)
}

/// Confirms an applicant's email from its link (public: the token is the credential).
#[server(endpoint = "public/verify_partner_email")]
pub async fn verify_partner_email(token: String) -> Result<String, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal_apply::verify(&ctx.db, ctx.clock.now(), &token).await.map_err(fail)
}

/// "Forgot password?": emails a reset link if the address is known (answers the same either way).
#[server(endpoint = "public/forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal_apply::forgot_password(&ctx.db, ctx.clock.now(), &ctx.public_url, &email).await.map_err(fail)
}

/// Sends the signed-in partner user a fresh email verification link.
#[server(endpoint = "portal/resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal_apply::resend_verification(&ctx.db, &actor, ctx.clock.now(), &ctx.public_url).await.map_err(fail)
}

/// The signed-in partner's dashboard for the last `days` days (30, 90 or 365).
#[server(endpoint = "portal/dashboard")]
pub async fn load_portal_dashboard(days: i64) -> Result<models::PortalDashboard, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::dashboard(&ctx.db, &actor, ctx.clock.now(), days).await.map_err(fail)
}
