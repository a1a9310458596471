//! The core of the domain: accounts, users and roles, programs and tiers, partners and
//! enrollments, custom fields, the activity timeline, the audit log, API keys, sessions and
//! login throttling.

use crate::index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(table: &str, col: &str, to: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{col}"))
        .from(Alias::new(table), Alias::new(col))
        .to(Alias::new(to), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}


const TABLES: &[&str] = &[
    "login_attempts",
    "sessions",
    "api_keys",
    "audit_log",
    "timeline_events",
    "custom_fields",
    "enrollments",
    "users",
    "partners",
    "tiers",
    "programs",
    "accounts",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("accounts")
                .col(big_pk_auto("id"))
                .col(string_len_uniq("slug", 64))
                .col(string("name"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("programs")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("name"))
                .col(string_len("currency", 3))
                .col(string("website"))
                .col(text("allowed_domains"))
                .col(integer("cookie_days"))
                .col(string_len("attribution", 32).default("last_click"))
                .col(string_len("commission_kind", 16))
                .col(string_len("commission_value", 32))
                .col(integer("hold_days").default(30))
                .col(boolean("auto_approve").default(false))
                .col(string_len("brand_color", 16).default("#2f6f4f"))
                .col(string_null("sender_name"))
                .col(string_null("sender_email"))
                .col(integer("dormant_days").default(45))
                .col(integer("at_risk_threshold").default(40))
                .col(timestamp_with_time_zone_null("archived_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(&mut fk("programs", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("programs", "account", &["account_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("tiers")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("program_id"))
                .col(string_len("name", 64))
                .col(integer("rank"))
                .col(string_len("commission_kind", 16))
                .col(string_len("commission_value", 32))
                .col(integer_null("min_conversions"))
                .col(big_integer_null("min_revenue_minor"))
                .col(integer("window_days"))
                .col(boolean("retroactive").default(false))
                .foreign_key(&mut fk("tiers", "program_id", "programs"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("tiers", "program_rank", &["program_id", "rank"], true)).await?;
        m.create_index(index("tiers", "program_name", &["program_id", "name"], true)).await?;

        m.create_table(
            Table::create()
                .table("partners")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("email"))
                .col(string("name"))
                .col(string_null("company"))
                .col(string_null("source"))
                .col(big_integer_null("owner_user_id"))
                .col(text("custom").default("{}"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(&mut fk("partners", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("partners", "account_email", &["account_id", "email"], true)).await?;
        m.create_index(index("partners", "account_name", &["account_id", "name"], false)).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("email"))
                .col(string("name"))
                .col(string("password_hash"))
                .col(string_len("kind", 16))
                .col(string("roles").default(""))
                .col(big_integer_null("partner_id"))
                .col(boolean("active").default(true))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_login_at"))
                .foreign_key(&mut fk("users", "account_id", "accounts"))
                .foreign_key(&mut fk("users", "partner_id", "partners"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("users", "account_email", &["account_id", "email"], true)).await?;
        m.create_index(index("users", "email", &["email"], false)).await?;

        m.create_table(
            Table::create()
                .table("enrollments")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                .col(big_integer("program_id"))
                .col(string_len("status", 16))
                .col(big_integer("tier_id"))
                .col(string_len_null("commission_kind", 16))
                .col(string_len_null("commission_value", 32))
                .col(timestamp_with_time_zone("joined_at"))
                .col(timestamp_with_time_zone("status_changed_at"))
                .foreign_key(&mut fk("enrollments", "partner_id", "partners"))
                .foreign_key(&mut fk("enrollments", "program_id", "programs"))
                .foreign_key(&mut fk("enrollments", "tier_id", "tiers"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("enrollments", "partner_program", &["partner_id", "program_id"], true))
            .await?;
        m.create_index(index("enrollments", "program_status", &["program_id", "status"], false))
            .await?;
        m.create_index(index("enrollments", "account_status", &["account_id", "status"], false))
            .await?;

        m.create_table(
            Table::create()
                .table("custom_fields")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string_len("key", 64))
                .col(string("label"))
                .col(string_len("kind", 16))
                .col(text_null("options"))
                .col(boolean("required").default(false))
                .foreign_key(&mut fk("custom_fields", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("custom_fields", "account_key", &["account_id", "key"], true)).await?;

        m.create_table(
            Table::create()
                .table("timeline_events")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(big_integer("partner_id"))
                .col(big_integer_null("enrollment_id"))
                .col(string_len("kind", 32))
                .col(string("actor"))
                .col(text("summary"))
                .col(text("data").default("{}"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("timeline_events", "partner_id", "partners"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("timeline_events", "partner_at", &["partner_id", "at"], false)).await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("actor"))
                .col(string_len("kind", 48))
                .col(string("subject"))
                .col(text_null("before"))
                .col(text_null("after"))
                .col(timestamp_with_time_zone("at"))
                .foreign_key(&mut fk("audit_log", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audit_log", "account_at", &["account_id", "at"], false)).await?;

        m.create_table(
            Table::create()
                .table("api_keys")
                .col(big_pk_auto("id"))
                .col(big_integer("account_id"))
                .col(string("name"))
                .col(string_len_uniq("prefix", 32))
                .col(string_len("key_hash", 64))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("last_used_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(&mut fk("api_keys", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(string_len("id", 64).primary_key())
                .col(big_integer_null("user_id"))
                .col(text("data"))
                .col(timestamp_with_time_zone("expiry_date"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sessions", "expiry", &["expiry_date"], false)).await?;
        m.create_index(index("sessions", "user", &["user_id"], false)).await?;

        m.create_table(
            Table::create()
                .table("login_attempts")
                .col(big_pk_auto("id"))
                .col(string("key"))
                .col(timestamp_with_time_zone("at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("login_attempts", "key_at", &["key", "at"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.drop_table(Table::drop().table(Alias::new(*table)).to_owned()).await?;
        }
        Ok(())
    }
}
