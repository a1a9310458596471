//! The activity timeline of a partner: every change is appended here with actor and time.

use crate::entities::timeline_event;
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// One event to append.
pub struct Event<'a> {
    /// Account of the partner.
    pub account_id: i64,
    /// The partner.
    pub partner_id: i64,
    /// The enrollment concerned, if any.
    pub enrollment_id: Option<i64>,
    /// `enrolled`, `status_changed`, `tier_changed`, `note`, `conversion`, `message`, `email`, `import`…
    pub kind: &'a str,
    /// Who did it (a user label, `system`, `api`).
    pub actor: &'a str,
    /// One line for people.
    pub summary: String,
    /// Details as JSON.
    pub data: serde_json::Value,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Appends an event to a partner's timeline.
pub async fn record(db: &impl ConnectionTrait, e: Event<'_>) -> Result<()> {
    timeline_event::ActiveModel {
        account_id: Set(e.account_id),
        partner_id: Set(e.partner_id),
        enrollment_id: Set(e.enrollment_id),
        kind: Set(e.kind.to_string()),
        actor: Set(e.actor.to_string()),
        summary: Set(e.summary),
        data: Set(e.data.to_string()),
        at: Set(e.at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
