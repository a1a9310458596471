//! Entity of the `payout_batches` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payout_batches")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: i64,
    pub currency: String,
    pub total_minor: i64,
    pub entries: i32,
    /// `open` or `paid`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub paid_by: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
