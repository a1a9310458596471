//! The partner directory: contact details, per-enrollment performance and health columns the
//! directory sorts on, custom-field values as indexed rows, saved segments and CSV imports.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite allows no more.
        let add = |table: &str, col: ColumnDef| Table::alter().table(Alias::new(table)).add_column(col).to_owned();
        m.alter_table(add("partners", string_null("phone"))).await?;
        m.alter_table(add("partners", string_null("website"))).await?;
        m.alter_table(add("partners", string_len_null("country", 2))).await?;
        // Performance over the last 90 days, refreshed by the `partner_stats` job from the daily
        // rollups, so the directory sorts 100,000 enrollments on an index instead of aggregating.
        m.alter_table(add("enrollments", big_integer("revenue_90d_minor").default(0).to_owned())).await?;
        m.alter_table(add("enrollments", integer("conversions_90d").default(0).to_owned())).await?;
        m.alter_table(add("enrollments", integer("clicks_90d").default(0).to_owned())).await?;
        m.alter_table(add("enrollments", timestamp_with_time_zone_null("last_conversion_at"))).await?;
        // The latest health score (0–100); written by the health-score job, null until scored.
        m.alter_table(add("enrollments", integer_null("health_score"))).await?;
        m.create_index(index("enrollments", "account_revenue", &["account_id", "revenue_90d_minor"], false)).await?;
        m.create_index(index("enrollments", "tier_status", &["tier_id", "status"], false)).await?;
        m.create_index(index("partners", "account_owner", &["account_id", "owner_user_id"], false)).await?;
        m.create_index(index("partners", "account_source", &["account_id", "source"], false)).await?;

        m.create_table(
            Table::create()
                .table("partner_field_values")
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                .col(string_len("key", 64))
                .col(string("value"))
                .primary_key(Index::create().col(Alias::new("partner_id")).col(Alias::new("key")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("partner_field_values", "account_key_value", &["account_id", "key", "value"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("segments")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("name"))
                .col(text("query"))
                .col(big_integer_null("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("segments", "account_name", &["account_id", "name"], true)).await?;

        m.create_table(
            Table::create()
                .table("imports")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer_null("user_id"))
                .col(string_len("kind", 16))
                .col(string("filename"))
                .col(text("content"))
                .col(text_null("mapping"))
                .col(string_len("status", 16))
                .col(integer("total_rows").default(0))
                .col(integer("done_rows").default(0))
                .col(text_null("report"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("imports", "account_created", &["account_id", "created_at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["imports", "segments", "partner_field_values"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        for (t, i) in [("partners", "account_source"), ("partners", "account_owner"), ("enrollments", "tier_status"), ("enrollments", "account_revenue")] {
            m.drop_index(Index::drop().name(format!("ix_{t}_{i}")).table(Alias::new(t)).to_owned()).await?;
        }
        let drop = |table: &str, col: &str| Table::alter().table(Alias::new(table)).drop_column(Alias::new(col)).to_owned();
        for c in ["health_score", "last_conversion_at", "clicks_90d", "conversions_90d", "revenue_90d_minor"] {
            m.alter_table(drop("enrollments", c)).await?;
        }
        for c in ["country", "website", "phone"] {
            m.alter_table(drop("partners", c)).await?;
        }
        Ok(())
    }
}
