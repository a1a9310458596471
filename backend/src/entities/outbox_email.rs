//! Entity of the `outbox` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub program_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub kind: String,
    pub to_email: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// `queued`, `sending` (claimed by a deliverer until `claimed_until`), `sent`, `failed`
    /// (gave up) or `suppressed` (the address unsubscribed from non-essential mail).
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTimeUtc,
    pub next_attempt_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// Makes a queued email unique per cause (e.g. one re-engagement mail per dormancy spell).
    pub dedupe_key: Option<String>,
    /// Random token of the open-tracking pixel and the unsubscribe link.
    pub token: Option<String>,
    /// While `sending`: the claim's expiry; a deliverer that died mid-send is taken over after it.
    pub claimed_until: Option<DateTimeUtc>,
    /// First open (the tracking pixel was loaded).
    pub opened_at: Option<DateTimeUtc>,
    /// The broadcast it belongs to, if any.
    pub broadcast_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
