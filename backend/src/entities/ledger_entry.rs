//! Entity of the `ledger_entries` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: i64,
    pub enrollment_id: i64,
    pub partner_id: i64,
    pub conversion_id: Option<i64>,
    /// `earned`, `adjustment`, `clawback` or `payout`.
    pub kind: String,
    /// Signed minor units; never changed after insert.
    pub amount_minor: i64,
    pub currency: String,
    pub rate: String,
    pub tier: String,
    /// `pending`, `approved`, `paid` or `void`.
    pub status: String,
    pub hold_reason: Option<String>,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    pub payout_batch_id: Option<i64>,
    /// The user who made a manual adjustment (maker-checker); `None` for everything else and
    /// for entries older than `m0014_money_guards`.
    pub created_by_user_id: Option<i64>,
    /// On a `payout` entry: the partner's payout method when the batch was made (empty: none
    /// given then; `None`: made before `m0014_money_guards`).
    pub payout_method: Option<String>,
    /// On a `payout` entry: the partner's payout account when the batch was made.
    pub payout_account: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
