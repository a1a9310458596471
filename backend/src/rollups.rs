//! Daily rollups per enrollment, maintained in the same transaction as every write, so
//! analytics never scans raw clicks or conversions.

use crate::entities::daily_rollup;
use crate::Result;
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Increments (or, with negative values, decrements) one enrollment's day.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delta {
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Revenue in minor units.
    pub revenue_minor: i64,
    /// Commission in minor units.
    pub commission_minor: i64,
}

/// Adds `delta` to the rollup of `enrollment_id` on `day`, creating the row when needed.
pub async fn add(db: &impl ConnectionTrait, account_id: i64, program_id: i64, enrollment_id: i64, day: NaiveDate, delta: Delta) -> Result<()> {
    use daily_rollup::Column as C;
    let plus = |c: C| Expr::col((daily_rollup::Entity, c)).add(Expr::cust(format!("excluded.{}", sea_orm::IdenStatic::as_str(&c))));
    daily_rollup::Entity::insert(daily_rollup::ActiveModel {
        enrollment_id: Set(enrollment_id),
        day: Set(day),
        account_id: Set(account_id),
        program_id: Set(program_id),
        clicks: Set(delta.clicks),
        conversions: Set(delta.conversions),
        revenue_minor: Set(delta.revenue_minor),
        commission_minor: Set(delta.commission_minor),
    })
    .on_conflict(
        OnConflict::columns([C::EnrollmentId, C::Day])
            .values([
                (C::Clicks, plus(C::Clicks)),
                (C::Conversions, plus(C::Conversions)),
                (C::RevenueMinor, plus(C::RevenueMinor)),
                (C::CommissionMinor, plus(C::CommissionMinor)),
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}
