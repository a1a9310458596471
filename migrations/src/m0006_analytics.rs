//! Analytics: program-level daily rollups (the KPI dashboard reads a program's year in a few
//! thousand rows), rollups by tier at the time (the cohort trend), the health-score history with
//! its parts, the program's health weights, and saved custom dashboards.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite allows no more.
        let add = |table: &str, col: ColumnDef| Table::alter().table(Alias::new(table)).add_column(col).to_owned();
        // Health weights as JSON (`{"trend":30,...}`); null means the documented defaults.
        m.alter_table(add("programs", text_null("health_weights"))).await?;
        // The tier a conversion earned in (the tier at the time), so a refund finds its cohort.
        m.alter_table(add("conversions", big_integer_null("tier_id"))).await?;

        // Sums of `daily_rollups` per program and day, spread over a few shard rows so that
        // concurrent writers of one program do not queue on one row lock.
        m.create_table(
            Table::create()
                .table("program_rollups")
                .col(big_integer("program_id"))
                .col(date("day"))
                .col(small_integer("shard"))
                .col(big_integer("account_id"))
                .col(big_integer("clicks").default(0))
                .col(big_integer("conversions").default(0))
                .col(big_integer("revenue_minor").default(0))
                .col(big_integer("commission_minor").default(0))
                .primary_key(Index::create().col(Alias::new("program_id")).col(Alias::new("day")).col(Alias::new("shard")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("program_rollups", "account_day", &["account_id", "day"], false)).await?;

        // Attributed conversions per program, day and tier at the time. `partners` counts the
        // enrollments whose first conversion of that ISO week in that tier fell on that day, so a
        // week's sum is its distinct converting partners.
        m.create_table(
            Table::create()
                .table("tier_rollups")
                .col(big_integer("program_id"))
                .col(date("day"))
                .col(big_integer("tier_id"))
                .col(small_integer("shard"))
                .col(big_integer("account_id"))
                .col(big_integer("conversions").default(0))
                .col(big_integer("revenue_minor").default(0))
                .col(big_integer("partners").default(0))
                .primary_key(
                    Index::create().col(Alias::new("program_id")).col(Alias::new("day")).col(Alias::new("tier_id")).col(Alias::new("shard")),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("cohort_members")
                .col(big_integer("program_id"))
                .col(date("week_start"))
                .col(big_integer("tier_id"))
                .col(big_integer("enrollment_id"))
                .primary_key(
                    Index::create()
                        .col(Alias::new("program_id"))
                        .col(Alias::new("week_start"))
                        .col(Alias::new("tier_id"))
                        .col(Alias::new("enrollment_id")),
                )
                .to_owned(),
        )
        .await?;

        // One health score per enrollment and day, with its parts (JSON).
        m.create_table(
            Table::create()
                .table("health_scores")
                .col(big_integer("enrollment_id"))
                .col(date("day"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(integer("score"))
                .col(text("parts"))
                .col(timestamp_with_time_zone("computed_at"))
                .primary_key(Index::create().col(Alias::new("enrollment_id")).col(Alias::new("day")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("health_scores", "program_day", &["program_id", "day"], false)).await?;

        // Custom dashboards: owned by a user, optionally shared with a role.
        m.create_table(
            Table::create()
                .table("dashboards")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer_null("user_id"))
                .col(string_len_null("shared_role", 32))
                .col(string("name"))
                .col(text("widgets"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("dashboards", "account_user", &["account_id", "user_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["dashboards", "health_scores", "cohort_members", "tier_rollups", "program_rollups"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        let drop = |table: &str, col: &str| Table::alter().table(Alias::new(table)).drop_column(Alias::new(col)).to_owned();
        m.alter_table(drop("conversions", "tier_id")).await?;
        m.alter_table(drop("programs", "health_weights")).await?;
        Ok(())
    }
}
