//! Tracking and money: links, clicks, conversions, the commission ledger, payout batches and
//! daily rollups per enrollment.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;


#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("links")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("enrollment_id"))
                .col(big_integer("partner_id"))
                .col(string_len_uniq("code", 32))
                .col(text("destination"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("links", "enrollment", &["enrollment_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("clicks")
                .col(string_len("id", 32).primary_key())
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("link_id"))
                .col(big_integer("enrollment_id"))
                .col(string_len("visitor_id", 64))
                .col(timestamp_with_time_zone("at"))
                .col(text_null("referrer"))
                .col(text_null("user_agent"))
                .col(string_len("ip_hash", 64))
                .col(boolean("is_bot").default(false))
                .col(string_len_null("flag", 32))
                .to_owned(),
        )
        .await?;
        m.create_index(index("clicks", "visitor_at", &["program_id", "visitor_id", "at"], false)).await?;
        m.create_index(index("clicks", "enrollment_at", &["enrollment_id", "at"], false)).await?;

        m.create_table(
            Table::create()
                .table("conversions")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(string("external_id"))
                .col(big_integer("amount_minor"))
                .col(string_len("currency", 3))
                .col(big_integer_null("enrollment_id"))
                .col(big_integer_null("partner_id"))
                .col(string_len_null("attributed_via", 16))
                .col(string_len_null("click_id", 32))
                .col(text("click_path").default("[]"))
                .col(string_null("customer_id"))
                .col(string_len("status", 16))
                .col(text_null("reason"))
                .col(big_integer("refunded_minor").default(0))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_len("request_hash", 64))
                .col(text("response"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("conversions", "program_external", &["program_id", "external_id"], true)).await?;
        m.create_index(index("conversions", "enrollment_at", &["enrollment_id", "occurred_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("payout_batches")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(string_len("currency", 3))
                .col(big_integer("total_minor"))
                .col(integer("entries"))
                .col(string_len("status", 16))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_null("paid_by"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("ledger_entries")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("enrollment_id"))
                .col(big_integer("partner_id"))
                .col(big_integer_null("conversion_id"))
                .col(string_len("kind", 16))
                .col(big_integer("amount_minor"))
                .col(string_len("currency", 3))
                .col(string_len("rate", 48))
                .col(string_len("tier", 64))
                .col(string_len("status", 16))
                .col(string_len_null("hold_reason", 64))
                .col(text_null("note"))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(string_null("approved_by"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .col(big_integer_null("payout_batch_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ledger_entries", "partner", &["account_id", "partner_id"], false)).await?;
        m.create_index(index("ledger_entries", "status", &["account_id", "status"], false)).await?;
        m.create_index(index("ledger_entries", "conversion", &["conversion_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("daily_rollups")
                .col(big_integer("enrollment_id"))
                .col(date("day"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(big_integer("clicks").default(0))
                .col(big_integer("conversions").default(0))
                .col(big_integer("revenue_minor").default(0))
                .col(big_integer("commission_minor").default(0))
                .primary_key(Index::create().col(Alias::new("enrollment_id")).col(Alias::new("day")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("daily_rollups", "program_day", &["program_id", "day"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["daily_rollups", "ledger_entries", "payout_batches", "conversions", "clicks", "links"] {
            m.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
