//! Entity of the `enrollments` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrollments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub partner_id: i64,
    pub program_id: i64,
    pub status: String,
    pub tier_id: i64,
    pub commission_kind: Option<String>,
    pub commission_value: Option<String>,
    pub joined_at: DateTimeUtc,
    pub status_changed_at: DateTimeUtc,
    pub tier_changed_at: Option<DateTimeUtc>,
    pub dormant_since: Option<DateTimeUtc>,
    pub revenue_90d_minor: i64,
    pub conversions_90d: i32,
    pub clicks_90d: i32,
    pub last_conversion_at: Option<DateTimeUtc>,
    /// Latest health score 0–100, null until the health-score job has scored it.
    pub health_score: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
