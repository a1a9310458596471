//! Communication: delivery state of the outbox (a per-email token for open tracking and
//! unsubscribe links, the sending lease, the first open), addresses that unsubscribed from
//! non-essential mail, and in-app message threads between the team and a partner.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER, and no UNIQUE column by ALTER: SQLite allows neither.
        let add = |table: &str, col: ColumnDef| Table::alter().table(Alias::new(table)).add_column(col).to_owned();
        m.alter_table(add("outbox", string_null("token"))).await?;
        m.alter_table(add("outbox", timestamp_with_time_zone_null("claimed_until"))).await?;
        m.alter_table(add("outbox", timestamp_with_time_zone_null("opened_at"))).await?;
        m.create_index(index("outbox", "token", &["token"], true)).await?;
        m.create_index(index("outbox", "partner_created", &["partner_id", "created_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("email_suppressions")
                .col(big_integer("account_id"))
                .col(string("email"))
                .col(string_len("reason", 32))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col(Alias::new("account_id")).col(Alias::new("email")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("message_threads")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                .col(string("subject"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("last_message_at"))
                // Messages the other side has not read yet.
                .col(integer("team_unread").default(0))
                .col(integer("partner_unread").default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(index("message_threads", "account_last", &["account_id", "last_message_at"], false)).await?;
        m.create_index(index("message_threads", "partner_last", &["partner_id", "last_message_at"], false)).await?;

        m.create_table(
            Table::create()
                .table("messages")
                .col(big_pk_auto("id"))
                .col(big_integer("thread_id"))
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                // `team` or `partner`.
                .col(string_len("author_kind", 8))
                .col(big_integer_null("author_user_id"))
                .col(string("author_name"))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("messages", "thread", &["thread_id", "id"], false)).await?;

        // One email to many partners: a saved segment or every active partner of a program.
        m.create_table(
            Table::create()
                .table("broadcasts")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer_null("program_id"))
                .col(big_integer_null("segment_id"))
                .col(string("audience"))
                .col(string("subject"))
                .col(text("body"))
                // `scheduled` or `sent`.
                .col(string_len("status", 16))
                .col(timestamp_with_time_zone("send_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .col(integer("recipients").default(0))
                .col(string("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("broadcasts", "account_created", &["account_id", "created_at"], false)).await?;
        m.alter_table(add("outbox", big_integer_null("broadcast_id"))).await?;
        m.create_index(index("outbox", "broadcast", &["broadcast_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_outbox_broadcast").table(Alias::new("outbox")).to_owned()).await?;
        m.alter_table(Table::alter().table(Alias::new("outbox")).drop_column(Alias::new("broadcast_id")).to_owned()).await?;
        for t in ["broadcasts", "messages", "message_threads", "email_suppressions"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        for i in ["partner_created", "token"] {
            m.drop_index(Index::drop().name(format!("ix_outbox_{i}")).table(Alias::new("outbox")).to_owned()).await?;
        }
        for c in ["opened_at", "claimed_until", "token"] {
            m.alter_table(Table::alter().table(Alias::new("outbox")).drop_column(Alias::new(c)).to_owned()).await?;
        }
        Ok(())
    }
}
