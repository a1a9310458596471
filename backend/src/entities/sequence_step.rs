//! Entity of the `sequence_steps` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sequence_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub sequence_id: i64,
    pub position: i32,
    /// Hours after the previous step (the first: after entering).
    pub delay_hours: i32,
    pub subject: String,
    pub body: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
