//! Money: the review queue, approval, voiding, adjustments and payout batches.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{BatchRow, BulkResult, ReviewQueue};

/// Pending commissions awaiting review.
#[server(endpoint = "finance/queue")]
pub async fn load_review_queue(program_id: Option<i64>, held_only: Option<bool>, min_age_days: Option<i64>) -> Result<ReviewQueue, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    let filter = models::ReviewFilter { program_id, held_only: held_only.unwrap_or(false), min_age_days };
    backend::money::finance::review_queue(&ctx.db, &ctx.clock, &actor, &filter).await.map_err(fail)
}

/// Approves entries.
#[server(endpoint = "finance/approve", input = Json)]
pub async fn approve_entries(ids: Vec<i64>) -> Result<BulkResult, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    backend::money::finance::approve(&ctx.db, &ctx.clock, &actor, &ids).await.map_err(fail)
}

/// Voids entries with a reason.
#[server(endpoint = "finance/void", input = Json)]
pub async fn void_entries(ids: Vec<i64>, reason: String) -> Result<BulkResult, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    backend::money::finance::void(&ctx.db, &ctx.clock, &actor, &ids, &reason).await.map_err(fail)
}

/// Records a manual adjustment (awaits another approver).
#[server(endpoint = "finance/adjust")]
pub async fn adjust_commission(partner_id: i64, program_id: i64, amount: String, reason: String) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover, models::Role::ProgramManager])).await?;
    backend::money::finance::adjust(&ctx.db, &ctx.clock, &actor, partner_id, program_id, &amount, &reason).await.map_err(fail)
}

/// Payout batches.
#[server(endpoint = "finance/batches")]
pub async fn list_batches() -> Result<Vec<BatchRow>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    backend::money::finance::batches(&ctx.db, &actor).await.map_err(fail)
}

/// Creates a payout batch of a program's approved entries; `None` when nothing is payable.
#[server(endpoint = "finance/create_batch")]
pub async fn create_batch(program_id: i64) -> Result<Option<i64>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    backend::money::finance::create_batch(&ctx.db, &ctx.clock, &actor, program_id).await.map_err(fail)
}

/// Marks a batch paid.
#[server(endpoint = "finance/mark_paid")]
pub async fn mark_batch_paid(batch_id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover])).await?;
    backend::money::finance::mark_paid(&ctx.db, &ctx.clock, &actor, batch_id).await.map_err(fail)
}
