//! Entity of the `refunds` table: every refund applied to a conversion (`m0014_money_guards`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub conversion_id: i64,
    /// The caller's idempotency key, unique per conversion (`None` when not given).
    pub refund_id: Option<String>,
    /// The refunded amount in minor units.
    pub amount_minor: i64,
    /// The commission this refund clawed back, in minor units (positive).
    pub clawback_minor: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
