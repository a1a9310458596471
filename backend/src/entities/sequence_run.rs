//! Entity of the `sequence_runs` table: one partner's way through a sequence.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequence_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub sequence_id: i64,
    pub enrollment_id: i64,
    pub partner_id: i64,
    /// The trigger occurrence that made the partner enter; unique per sequence.
    pub occurrence: String,
    /// `active`, `completed` or `stopped`.
    pub status: String,
    pub next_step: i32,
    pub next_at: Option<DateTimeUtc>,
    pub entered_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub stop_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
