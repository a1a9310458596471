//! Account settings: one-time tokens (team invitations, password resets, email changes),
//! which programs each program manager manages, and a program's logo.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite allows no more.
        let add = |table: &str, col: ColumnDef| Table::alter().table(Alias::new(table)).add_column(col).to_owned();
        m.alter_table(add("programs", string_null("logo_url"))).await?;

        m.create_table(
            Table::create()
                .table("user_tokens")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("user_id"))
                // `invite`, `reset` or `email`.
                .col(string_len("kind", 16))
                // SHA-256 of the token; the token itself is only ever in the link.
                .col(string_len_uniq("token_hash", 64))
                // The new address of an email change.
                .col(string_null("new_email"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("user_tokens", "user_kind", &["user_id", "kind"], false)).await?;

        m.create_table(
            Table::create()
                .table("program_managers")
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("user_id"))
                .primary_key(Index::create().col(Alias::new("program_id")).col(Alias::new("user_id")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("program_managers", "user", &["user_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["program_managers", "user_tokens"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(Alias::new("programs")).drop_column(Alias::new("logo_url")).to_owned()).await?;
        Ok(())
    }
}
