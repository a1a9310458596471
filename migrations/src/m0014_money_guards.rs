//! Money paths that hold under retries and concurrent requests (issue 16):
//! - maker-checker by user id: a manual adjustment remembers the user who made it, so renaming
//!   yourself cannot let you approve your own adjustment (entries written before keep the label
//!   only and are checked by it);
//! - a payout entry keeps the partner's payout method and account as they were when its batch
//!   was made, so the batch's CSV pays where the partner said then, whatever changes later;
//! - `refunds`: every refund applied to a conversion, with the caller's optional idempotency key
//!   (`refund_id`, unique per conversion), so a retried partial refund is applied once and answers
//!   as the first time.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("ledger_entries").add_column(big_integer_null("created_by_user_id")).to_owned()).await?;
        m.alter_table(Table::alter().table("ledger_entries").add_column(string_null("payout_method")).to_owned()).await?;
        m.alter_table(Table::alter().table("ledger_entries").add_column(string_null("payout_account")).to_owned()).await?;
        m.create_table(
            Table::create()
                .table("refunds")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("conversion_id"))
                .col(string_null("refund_id"))
                .col(big_integer("amount_minor"))
                .col(big_integer("clawback_minor"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("refunds", "conversion_refund_id", &["conversion_id", "refund_id"], true)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("refunds").to_owned()).await?;
        for column in ["payout_account", "payout_method", "created_by_user_id"] {
            m.alter_table(Table::alter().table("ledger_entries").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
