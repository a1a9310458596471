//! Entity of the `clicks` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clicks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: i64,
    pub program_id: i64,
    pub link_id: i64,
    pub enrollment_id: i64,
    pub visitor_id: String,
    pub at: DateTimeUtc,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub ip_hash: String,
    pub is_bot: bool,
    /// `bot` or `click_burst` when the click is not to be trusted.
    pub flag: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
