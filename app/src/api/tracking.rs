//! Tracking: links (partners' own and the team's) and conversions as the team sees them.

use crate::error::AppError;
use leptos::prelude::*;
use models::{ConversionDetail, LinkRow};

/// The signed-in partner's links.
#[server(endpoint = "portal/links")]
pub async fn my_links() -> Result<Vec<LinkRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    let partner_id = actor.require_partner().map_err(fail)?;
    backend::tracking::links_of(&ctx.db, &actor, partner_id, &ctx.public_url).await.map_err(fail)
}

/// Creates a link for the signed-in partner in one of its programs.
#[server(endpoint = "portal/create_link")]
pub async fn create_my_link(program_id: i64, destination: Option<String>) -> Result<String, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Partner).await?;
    let partner_id = actor.require_partner().map_err(fail)?;
    let link = backend::tracking::create_link(&ctx.db, &ctx.clock, actor.account_id, &ctx.public_url, partner_id, program_id, destination.as_deref())
        .await
        .map_err(fail)?;
    Ok(link.url)
}

/// A partner's links, for the team.
#[server(endpoint = "links/list")]
pub async fn partner_links(partner_id: i64) -> Result<Vec<LinkRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::tracking::links_of(&ctx.db, &actor, partner_id, &ctx.public_url).await.map_err(fail)
}

/// Creates a link for a partner of the account (program managers, relationship owners, admins).
#[server(endpoint = "links/create")]
pub async fn create_partner_link(partner_id: i64, program_id: i64, destination: Option<String>) -> Result<String, AppError> {
    use crate::ssr::{fail, guard, Need};
    use models::Role;
    let (ctx, actor) = guard(Need::Roles(&[Role::ProgramManager, Role::RelationshipOwner])).await?;
    let link = backend::tracking::create_link_for(&ctx.db, &ctx.clock, &actor, &ctx.public_url, partner_id, program_id, destination.as_deref())
        .await
        .map_err(fail)?;
    Ok(link.url)
}

/// One conversion with its click path and ledger entries.
#[server(endpoint = "conversions/detail")]
pub async fn load_conversion_detail(id: i64) -> Result<ConversionDetail, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::tracking::conversions::detail(&ctx.db, &actor, id).await.map_err(fail)
}
