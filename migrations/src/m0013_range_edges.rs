//! Analytics over any time range (issue 27): the partial days at the edges of a window are
//! summed by the database on indexes that start with the program and the time, so an edge reads
//! one index range instead of scanning `conversions` and `clicks`. Account-wide windows ask per
//! program (`program_id IN (…)`) and use the same indexes.

use crate::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index("conversions", "program_occurred", &["program_id", "occurred_at"], false)).await?;
        m.create_index(index("clicks", "program_at", &["program_id", "at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_clicks_program_at").table(Alias::new("clicks")).to_owned()).await?;
        m.drop_index(Index::drop().name("ix_conversions_program_occurred").table(Alias::new("conversions")).to_owned()).await?;
        Ok(())
    }
}
