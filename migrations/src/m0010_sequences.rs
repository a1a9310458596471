//! Email templates per program (with a footer on the program), and behaviour-triggered
//! sequences: their steps and each partner's run through them.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Alias::new("programs")).add_column(text_null("email_footer")).to_owned()).await?;

        // A program's own wording of a system email (`tier_upgraded`, `re_engagement`, …);
        // without a row the built-in default applies.
        m.create_table(
            Table::create()
                .table("email_templates")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(string_len("kind", 32))
                .col(string("subject"))
                .col(text("body"))
                .col(string("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("email_templates", "program_kind", &["program_id", "kind"], true)).await?;

        m.create_table(
            Table::create()
                .table("sequences")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(string("name"))
                // `enrolled`, `approved`, `first_conversion`, `tier_upgraded`, `dormant`, `at_risk`.
                .col(string_len("trigger", 24))
                // Stop a partner's run once the partner converts after entering.
                .col(boolean("stop_on_conversion").default(false))
                .col(boolean("active").default(true))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sequences", "program_trigger", &["program_id", "trigger"], false)).await?;

        m.create_table(
            Table::create()
                .table("sequence_steps")
                .col(big_pk_auto("id"))
                .col(big_integer("sequence_id"))
                .col(integer("position"))
                // Hours after the previous step (the first step: after entering).
                .col(integer("delay_hours"))
                .col(string("subject"))
                .col(text("body"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sequence_steps", "sequence_position", &["sequence_id", "position"], true)).await?;

        // One partner's run through a sequence, entered once per trigger occurrence.
        m.create_table(
            Table::create()
                .table("sequence_runs")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("sequence_id"))
                .col(big_integer("enrollment_id"))
                .col(big_integer("partner_id"))
                // What made the partner enter, unique per sequence (`approved:17`, `dormant:17:…`).
                .col(string("occurrence"))
                // `active`, `completed` or `stopped`.
                .col(string_len("status", 16))
                // Position of the next step to send.
                .col(integer("next_step").default(0))
                .col(timestamp_with_time_zone_null("next_at"))
                .col(timestamp_with_time_zone("entered_at"))
                .col(timestamp_with_time_zone_null("finished_at"))
                .col(string_null("stop_reason"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sequence_runs", "occurrence", &["sequence_id", "occurrence"], true)).await?;
        m.create_index(index("sequence_runs", "due", &["status", "next_at"], false)).await?;
        m.create_index(index("sequence_runs", "partner", &["partner_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["sequence_runs", "sequence_steps", "sequences", "email_templates"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(Alias::new("programs")).drop_column(Alias::new("email_footer")).to_owned()).await?;
        Ok(())
    }
}
