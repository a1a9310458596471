//! Entity of the `programs` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "programs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub currency: String,
    pub website: String,
    /// JSON array of host names.
    pub allowed_domains: String,
    pub cookie_days: i32,
    pub attribution: String,
    pub commission_kind: String,
    pub commission_value: String,
    pub hold_days: i32,
    pub auto_approve: bool,
    pub brand_color: String,
    pub sender_name: Option<String>,
    pub sender_email: Option<String>,
    pub dormant_days: i32,
    pub at_risk_threshold: i32,
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// `never`, `monthly` or `quarterly`.
    pub downgrade_policy: String,
    pub last_review_at: Option<DateTimeUtc>,
    pub health_weights: Option<String>,
    /// Shown on the portal and in emails.
    pub logo_url: Option<String>,
    /// Extra footer line of the program's emails (postal address, legal note).
    pub email_footer: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
