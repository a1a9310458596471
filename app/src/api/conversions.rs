//! Conversions as the team sees them.

use crate::error::AppError;
use leptos::prelude::*;
use models::ConversionDetail;

/// One conversion with its click path and ledger entries.
#[server(endpoint = "conversions/detail")]
pub async fn load_conversion_detail(id: i64) -> Result<ConversionDetail, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::tracking::conversions::detail(&ctx.db, &actor, id).await.map_err(fail)
}
