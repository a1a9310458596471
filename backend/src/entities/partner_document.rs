//! Entity of the `partner_documents` table (tax documents uploaded in the portal).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_documents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub partner_id: i64,
    /// `tax_form`.
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    #[sea_orm(column_type = "Blob")]
    pub content: Vec<u8>,
    pub sha256: String,
    /// `received`, `accepted` or `rejected`.
    pub status: String,
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub uploaded_by: String,
    pub uploaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
