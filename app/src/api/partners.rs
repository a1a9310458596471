//! Partner profiles.

use crate::error::AppError;
use leptos::prelude::*;
use models::PartnerProfile;

/// A partner's profile and timeline (optionally one kind of event).
#[server(endpoint = "partners/profile")]
pub async fn load_profile(id: i64, kind: Option<String>) -> Result<PartnerProfile, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::profile(&ctx.db, &actor, id, kind.as_deref()).await.map_err(fail)
}
