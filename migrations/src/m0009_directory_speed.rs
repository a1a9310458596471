//! The directory at 100,000 partners (targets.md P4): a tier + status filter sorted by 90-day
//! revenue reads one index range in order, instead of joining tiers by name and sorting every
//! matching enrollment.

use crate::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_enrollments_tier_status").table(Alias::new("enrollments")).to_owned()).await?;
        m.create_index(index("enrollments", "tier_status_revenue", &["tier_id", "status", "revenue_90d_minor"], false)).await?;
        m.create_index(index("enrollments", "account_status_revenue", &["account_id", "status", "revenue_90d_minor"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for i in ["account_status_revenue", "tier_status_revenue"] {
            m.drop_index(Index::drop().name(format!("ix_enrollments_{i}")).table(Alias::new("enrollments")).to_owned()).await?;
        }
        m.create_index(index("enrollments", "tier_status", &["tier_id", "status"], false)).await?;
        Ok(())
    }
}
