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
