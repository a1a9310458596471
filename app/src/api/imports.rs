//! CSV imports: the mapping step, dry run, import and progress. The file itself is uploaded by
//! a plain multipart form to `/directory/import` (see the server's router).

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{ImportPreview, ImportProgress};

/// An uploaded file with its columns, sample rows and suggested mapping.
#[server(endpoint = "imports/preview")]
pub async fn load_import(id: i64) -> Result<ImportPreview, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::preview(&ctx.db, &actor, id).await.map_err(fail)
}

/// Starts the dry run (`dry_run`) or the import with a mapping (one target key per column,
/// `""` to skip it).
#[server(endpoint = "imports/start", input = Json)]
pub async fn start_import(id: i64, mapping: Vec<String>, dry_run: bool) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::start(&ctx.db, &ctx.clock, &actor, id, &mapping, dry_run).await.map_err(fail)
}

/// Progress and, once finished, the report.
#[server(endpoint = "imports/progress")]
pub async fn poll_import(id: i64) -> Result<ImportProgress, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::progress(&ctx.db, ctx.clock.now(), &actor, id).await.map_err(fail)
}
