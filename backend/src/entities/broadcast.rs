//! Entity of the `broadcasts` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "broadcasts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: Option<i64>,
    pub segment_id: Option<i64>,
    /// The audience in words ("segment Gold in EMEA", "all active partners of …").
    pub audience: String,
    pub subject: String,
    pub body: String,
    /// `scheduled` or `sent`.
    pub status: String,
    pub send_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub recipients: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
