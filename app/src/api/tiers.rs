//! Tier rules, the what-if simulator, and the scheduler's jobs.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{JobRunView, JobStatus, Simulation, TierDraft, TierRules};

/// A program's tier rules (the first program when none is given).
#[server(endpoint = "tiers/rules")]
pub async fn load_tier_rules(program_id: Option<i64>) -> Result<TierRules, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::programs::tier_rules::rules(&ctx.db, &actor, program_id).await.map_err(fail)
}

/// What a draft would do on real history.
#[server(endpoint = "tiers/simulate", input = Json)]
pub async fn simulate_tiers(program_id: i64, tiers: Vec<TierDraft>) -> Result<Simulation, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::programs::tier_rules::simulate(&ctx.db, &actor, program_id, &tiers, ctx.clock.now()).await.map_err(fail)
}

/// Saves a draft (program managers and admins).
#[server(endpoint = "tiers/save", input = Json)]
pub async fn save_tiers(program_id: i64, tiers: Vec<TierDraft>) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::programs::tier_rules::save(&ctx.db, &actor, program_id, &tiers).await.map_err(fail)
}

/// The scheduler's jobs and recent runs (the instance operator; other admins get none).
#[server(endpoint = "settings/jobs")]
pub async fn load_jobs() -> Result<(Vec<JobStatus>, Vec<JobRunView>), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[])).await?;
    backend::jobs::status(&ctx.db, &actor, ctx.clock.now()).await.map_err(fail)
}

/// Runs a job now (the instance operator: admins of the installation's first account).
#[server(endpoint = "settings/run_job")]
pub async fn run_job_now(name: String) -> Result<String, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[])).await?;
    let job = backend::jobs::job(&name).ok_or_else(|| fail(backend::Error::NotFound("job")))?;
    match backend::jobs::run_for(&ctx.db, &actor, job, ctx.clock.now()).await.map_err(fail)? {
        None => Ok("Another runner is running this job right now.".into()),
        Some(Ok(r)) => Ok(format!("{}: examined {}, changed {}", job.name, r.examined, r.changed)),
        Some(Err(e)) => Ok(format!("{} failed: {e}", job.name)),
    }
}
