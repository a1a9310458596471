//! Entity of the `partners` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub name: String,
    pub company: Option<String>,
    pub source: Option<String>,
    pub owner_user_id: Option<i64>,
    pub phone: Option<String>,
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// JSON object of custom attribute values.
    pub custom: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// `paypal`, `bank_transfer` or `wise`.
    pub payout_method: Option<String>,
    /// The PayPal/Wise address or the IBAN/account number.
    pub payout_account: Option<String>,
    pub tax_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
