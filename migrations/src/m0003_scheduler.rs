//! The tier engine and the scheduler: downgrade policy and review time per program, tier and
//! dormancy state per enrollment, job leases and runs, and the email outbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite allows no more.
        let add = |table: &str, col: ColumnDef| Table::alter().table(Alias::new(table)).add_column(col).to_owned();
        m.alter_table(add("programs", string_len("downgrade_policy", 16).default("never").to_owned())).await?;
        m.alter_table(add("programs", timestamp_with_time_zone_null("last_review_at"))).await?;
        m.alter_table(add("enrollments", timestamp_with_time_zone_null("tier_changed_at"))).await?;
        m.alter_table(add("enrollments", timestamp_with_time_zone_null("dormant_since"))).await?;

        m.create_table(
            Table::create()
                .table("job_leases")
                .col(string_len("job", 64).primary_key())
                .col(string("holder"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("job_runs")
                .col(big_pk_auto("id"))
                .col(string_len("job", 64))
                .col(string("holder"))
                .col(timestamp_with_time_zone("as_of"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(string_len("outcome", 16))
                .col(big_integer("examined").default(0))
                .col(big_integer("changed").default(0))
                .col(text_null("error"))
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_job_runs_job_started").table(Alias::new("job_runs")).col(Alias::new("job")).col(Alias::new("started_at")).to_owned()).await?;
        m.create_table(
            Table::create()
                .table("outbox")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer_null("program_id"))
                .col(big_integer_null("partner_id"))
                .col(string_len("kind", 32))
                .col(string("to_email"))
                .col(string("subject"))
                .col(text("body_text"))
                .col(text_null("body_html"))
                .col(string_len("status", 16).default("queued"))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(text_null("last_error"))
                .col(string_len_null("dedupe_key", 128).unique_key())
                .to_owned(),
        )
        .await?;
        m.create_index(Index::create().name("ix_outbox_status_next").table(Alias::new("outbox")).col(Alias::new("status")).col(Alias::new("next_attempt_at")).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["outbox", "job_runs", "job_leases"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        let drop = |table: &str, col: &str| Table::alter().table(Alias::new(table)).drop_column(Alias::new(col)).to_owned();
        m.alter_table(drop("enrollments", "dormant_since")).await?;
        m.alter_table(drop("enrollments", "tier_changed_at")).await?;
        m.alter_table(drop("programs", "last_review_at")).await?;
        m.alter_table(drop("programs", "downgrade_policy")).await?;
        Ok(())
    }
}
