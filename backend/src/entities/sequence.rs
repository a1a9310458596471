//! Entity of the `sequences` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequences")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: i64,
    pub name: String,
    /// `enrolled`, `approved`, `first_conversion`, `tier_upgraded`, `dormant`, `at_risk`.
    pub trigger: String,
    pub stop_on_conversion: bool,
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
