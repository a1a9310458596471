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
    backend::portal::apply::page(&ctx.db, program_id).await.map_err(fail)
}

/// Submits an application to a program (public).
#[server(endpoint = "public/apply", input = leptos::server_fn::codec::Json)]
pub async fn submit_application(application: models::Application) -> Result<models::ApplyOutcome, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal::apply::apply(&ctx.db, ctx.clock.now(), &ctx.public_url, &application).await.map_err(fail)
}

/// Confirms an applicant's email from its link (public: the token is the credential).
#[server(endpoint = "public/verify_partner_email")]
pub async fn verify_partner_email(token: String) -> Result<String, AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal::apply::verify(&ctx.db, ctx.clock.now(), &token).await.map_err(fail)
}

/// "Forgot password?": emails a reset link if the address is known (answers the same either way).
#[server(endpoint = "public/forgot_password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    use crate::ssr::{context, fail};
    let ctx = context()?;
    backend::portal::apply::forgot_password(&ctx.db, ctx.clock.now(), &ctx.public_url, &email).await.map_err(fail)
}

/// Sends the signed-in partner user a fresh email verification link.
#[server(endpoint = "portal/resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::apply::resend_verification(&ctx.db, &actor, ctx.clock.now(), &ctx.public_url).await.map_err(fail)
}

/// The signed-in partner's dashboard for the last `days` days (30, 90 or 365).
#[server(endpoint = "portal/dashboard")]
pub async fn load_portal_dashboard(days: i64) -> Result<models::PortalDashboard, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::dashboard(&ctx.db, &actor, ctx.clock.now(), days).await.map_err(fail)
}

/// The signed-in partner's profile: details, payout details, documents and compliance.
#[server(endpoint = "portal/profile")]
pub async fn load_my_profile() -> Result<models::PortalProfile, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    let partner_id = actor.require_partner().map_err(fail)?;
    backend::money::compliance::profile(&ctx.db, &actor, partner_id).await.map_err(fail)
}

/// The signed-in partner changes its contact and payout details.
#[server(endpoint = "portal/update_profile", input = leptos::server_fn::codec::Json)]
pub async fn update_my_profile(input: models::ProfileInput) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::money::compliance::update(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}

/// A page of the signed-in partner's conversions (filters: program, commission status, days).
#[server(endpoint = "portal/conversions", input = leptos::server_fn::codec::Json)]
pub async fn load_my_conversions(filter: models::ConversionFilter) -> Result<models::PortalConversions, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::conversions(&ctx.db, &actor, &filter).await.map_err(fail)
}

/// The signed-in partner's payout history.
#[server(endpoint = "portal/payouts")]
pub async fn load_my_payouts() -> Result<Vec<models::PortalPayoutRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    backend::portal::payouts(&ctx.db, &actor).await.map_err(fail)
}
