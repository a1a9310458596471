//! Programs: their settings (admins; program managers edit the programs they manage), tier
//! rules with the what-if simulator, and the scheduler's jobs.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{JobRunView, JobStatus, ProgramForm, ProgramsPage, Simulation, TierDraft, TierRules};

/// Programs with their settings (admins and program managers).
#[server(endpoint = "settings/programs")]
pub async fn load_programs() -> Result<ProgramsPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::programs::settings::page(&ctx.db, &actor).await.map_err(fail)
}

/// Creates a program (admins); answers its id.
#[server(endpoint = "settings/create_program", input = Json)]
pub async fn create_program(form: ProgramForm) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::programs::settings::create(&ctx.db, &ctx.clock, &actor, &form).await.map_err(fail)
}

/// Saves a program's settings (admins, and program managers for the programs they manage).
#[server(endpoint = "settings/update_program", input = Json)]
pub async fn update_program(program_id: i64, form: ProgramForm) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::programs::settings::update(&ctx.db, &ctx.clock, &actor, program_id, &form).await.map_err(fail)
}

/// Archives (or restores) a program (admins).
#[server(endpoint = "settings/archive_program")]
pub async fn archive_program(program_id: i64, archived: bool) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::programs::settings::set_archived(&ctx.db, &ctx.clock, &actor, program_id, archived).await.map_err(fail)
}

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
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::jobs::status(&ctx.db, &actor, ctx.clock.now()).await.map_err(fail)
}

/// Runs a job now (the instance operator: admins of the installation's first account).
#[server(endpoint = "settings/run_job")]
pub async fn run_job_now(name: String) -> Result<String, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    let job = backend::jobs::job(&name).ok_or_else(|| fail(backend::Error::NotFound("job")))?;
    match backend::jobs::run_for(&ctx.db, &actor, job, ctx.clock.now()).await.map_err(fail)? {
        None => Ok("Another runner is running this job right now.".into()),
        Some(Ok(r)) => Ok(format!("{}: examined {}, changed {}", job.name, r.examined, r.changed)),
        Some(Err(e)) => Ok(format!("{} failed: {e}", job.name)),
    }
}
