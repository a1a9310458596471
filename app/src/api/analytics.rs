//! Analytics: the KPI dashboard, custom dashboards and health settings. Every team member may
//! read; partners may not.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{Dashboard, DashboardDef, HealthWeights, RenderedDashboard};

/// The KPI dashboard of a program (or all) over the last `days` days (30 by default).
#[server(endpoint = "analytics/dashboard")]
pub async fn load_dashboard(program_id: Option<i64>, days: Option<u32>) -> Result<Dashboard, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::analytics::dashboards::dashboard(&ctx.db, &actor, program_id, days.unwrap_or(30), ctx.clock.now()).await.map_err(fail)
}

/// A custom dashboard rendered (the default for the viewer's roles when `id` is none).
#[server(endpoint = "analytics/custom")]
pub async fn load_custom_dashboard(id: Option<i64>) -> Result<RenderedDashboard, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::analytics::boards::render(&ctx.db, &actor, id, ctx.clock.now()).await.map_err(fail)
}

/// Saves a custom dashboard of the caller; returns its id.
#[server(endpoint = "analytics/save_dashboard", input = Json)]
pub async fn save_dashboard(def: DashboardDef) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::analytics::boards::save(&ctx.db, &actor, &def, ctx.clock.now()).await.map_err(fail)
}

/// Deletes one of the caller's dashboards.
#[server(endpoint = "analytics/delete_dashboard")]
pub async fn delete_dashboard(id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::analytics::boards::delete(&ctx.db, &actor, id).await.map_err(fail)
}

/// A program's health weights and at-risk threshold.
#[server(endpoint = "analytics/health_settings")]
pub async fn load_health_settings(program_id: i64) -> Result<(HealthWeights, i32), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::health::settings(&ctx.db, &actor, program_id).await.map_err(fail)
}

/// Changes a program's health weights and threshold (program managers).
#[server(endpoint = "analytics/save_health_settings", input = Json)]
pub async fn save_health_settings(program_id: i64, weights: HealthWeights, threshold: i32) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::partners::health::save_settings(&ctx.db, &actor, ctx.clock.now(), program_id, &weights, threshold).await.map_err(fail)
}
