//! A table the readiness probe writes to: `/readyz` proves that the database still takes writes
//! (a full disk or a read-only file fails here first), not only that it answers reads.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("storage_probe")
                .col(big_pk_auto("id"))
                .col(timestamp_with_time_zone("checked_at"))
                // A few pages of random bytes: the write needs new pages, as real writes do.
                .col(blob("pad"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("storage_probe").to_owned()).await
    }
}
