//! Entity of the `conversions` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "conversions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: i64,
    pub external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub enrollment_id: Option<i64>,
    pub partner_id: Option<i64>,
    /// `click_id`, `link_code` or `partner_id`.
    pub attributed_via: Option<String>,
    pub click_id: Option<String>,
    /// JSON array of click ids.
    pub click_path: String,
    pub customer_id: Option<String>,
    /// `attributed`, `unattributed` or `ineligible`.
    pub status: String,
    pub reason: Option<String>,
    pub refunded_minor: i64,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    /// SHA-256 of the canonical request body, for idempotent replays.
    pub request_hash: String,
    /// The JSON answer given the first time.
    pub response: String,
    pub tier_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
