//! The partner portal: applications made on the public apply page (with their email
//! verification state).

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("portal_applications")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("partner_id"))
                .col(big_integer("user_id"))
                // JSON object of the answers to the account's custom questions.
                .col(text("answers").default("{}"))
                .col(timestamp_with_time_zone("created_at"))
                // Set when the applicant opened the verification link.
                .col(timestamp_with_time_zone_null("verified_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("portal_applications", "user", &["user_id"], false)).await?;
        m.create_index(index("portal_applications", "partner", &["partner_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("portal_applications")).to_owned()).await?;
        Ok(())
    }
}
