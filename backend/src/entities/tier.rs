//! Entity of the `tiers` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tiers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: i64,
    pub name: String,
    pub rank: i32,
    pub commission_kind: String,
    pub commission_value: String,
    pub min_conversions: Option<i32>,
    pub min_revenue_minor: Option<i64>,
    pub window_days: i32,
    pub retroactive: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
