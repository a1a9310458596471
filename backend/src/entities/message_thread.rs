//! Entity of the `message_threads` table: a conversation between the team and one partner.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "message_threads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub partner_id: i64,
    pub subject: String,
    pub created_at: DateTimeUtc,
    pub last_message_at: DateTimeUtc,
    /// Partner messages the team has not read.
    pub team_unread: i32,
    /// Team messages the partner has not read.
    pub partner_unread: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
