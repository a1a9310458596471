//! The partner directory, segments, custom fields and bulk actions.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{BulkAction, BulkReport, BulkTarget, CustomFieldDef, DirectoryPage, DirectoryQuery, SegmentView};

/// A page of the directory for a filter (50 rows unless `per_page` says otherwise).
#[server(endpoint = "directory", input = Json)]
pub async fn list_directory(query: DirectoryQuery) -> Result<DirectoryPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::directory::page(&ctx.db, &actor, &query).await.map_err(fail)
}

/// Applies a bulk action to a selection or to everything matching a filter.
#[server(endpoint = "directory/bulk", input = Json)]
pub async fn bulk_apply(target: BulkTarget, action: BulkAction) -> Result<BulkReport, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    backend::partners::bulk::apply(&ctx.db, ctx.clock.now(), &actor, &target, &action).await.map_err(fail)
}

/// Every segment with its live count.
#[server(endpoint = "segments/list")]
pub async fn list_segments() -> Result<Vec<SegmentView>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::segments::list(&ctx.db, &actor).await.map_err(fail)
}

/// Saves a filter as a named segment.
#[server(endpoint = "segments/save", input = Json)]
pub async fn save_segment(name: String, query: DirectoryQuery) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    backend::partners::segments::save(&ctx.db, &actor, ctx.clock.now(), &name, &query).await.map_err(fail)
}

/// Deletes a segment.
#[server(endpoint = "segments/delete")]
pub async fn delete_segment(id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::segments::delete(&ctx.db, &actor, ctx.clock.now(), id).await.map_err(fail)
}

/// The account's custom fields.
#[server(endpoint = "fields/list")]
pub async fn list_fields() -> Result<Vec<CustomFieldDef>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::custom_fields::defs(&ctx.db, actor.account_id).await.map_err(fail)
}

/// Defines or redefines a custom field (admins).
#[server(endpoint = "fields/define", input = Json)]
pub async fn define_field(field: CustomFieldDef) -> Result<CustomFieldDef, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::Admin])).await?;
    backend::partners::custom_fields::define(&ctx.db, &actor, ctx.clock.now(), &field).await.map_err(fail)
}

/// Removes a custom field and its values (admins).
#[server(endpoint = "fields/remove")]
pub async fn remove_field(key: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::Admin])).await?;
    backend::partners::custom_fields::remove(&ctx.db, &actor, ctx.clock.now(), &key).await.map_err(fail)
}
