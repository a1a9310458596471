//! Partner compliance: payout details on the partner and tax documents uploaded in the portal
//! (kept in the database, so both backends and every replica see them).

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |col: ColumnDef| Table::alter().table(Alias::new("partners")).add_column(col).to_owned();
        // `paypal`, `bank_transfer` or `wise`.
        m.alter_table(add(string_len_null("payout_method", 16))).await?;
        // The PayPal/Wise address or the IBAN/account number.
        m.alter_table(add(string_null("payout_account"))).await?;
        m.alter_table(add(string_null("tax_id"))).await?;

        m.create_table(
            Table::create()
                .table("partner_documents")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                // `tax_form`.
                .col(string_len("kind", 16))
                .col(string("filename"))
                .col(string_len("content_type", 64))
                .col(big_integer("size_bytes"))
                .col(blob("content"))
                .col(string_len("sha256", 64))
                // `received`, `accepted` or `rejected`.
                .col(string_len("status", 16))
                .col(string_null("review_note"))
                .col(string_null("reviewed_by"))
                .col(timestamp_with_time_zone_null("reviewed_at"))
                .col(string("uploaded_by"))
                .col(timestamp_with_time_zone("uploaded_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("partner_documents", "partner", &["partner_id", "uploaded_at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("partner_documents")).to_owned()).await?;
        for c in ["tax_id", "payout_account", "payout_method"] {
            m.alter_table(Table::alter().table(Alias::new("partners")).drop_column(Alias::new(c)).to_owned()).await?;
        }
        Ok(())
    }
}
