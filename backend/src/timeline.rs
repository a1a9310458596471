//! The activity timeline of a partner: every change is appended here with actor and time.

use crate::entities::{enrollment, timeline_event};
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

impl<'a> Event<'a> {
    /// An event about a partner as a whole (no enrollment), without details.
    pub fn partner(account_id: i64, partner_id: i64, kind: &'a str, actor: &'a str, summary: impl Into<String>, at: DateTime<Utc>) -> Self {
        Event { account_id, partner_id, enrollment_id: None, kind, actor, summary: summary.into(), data: serde_json::json!({}), at }
    }

    /// An event about one enrollment, on its partner's timeline.
    pub fn enrollment(e: &enrollment::Model, kind: &'a str, actor: &'a str, summary: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self::partner(e.account_id, e.partner_id, kind, actor, summary, at).for_enrollment(e.id)
    }

    /// The same event, concerning enrollment `enrollment_id`.
    pub fn for_enrollment(self, enrollment_id: i64) -> Self {
        Event { enrollment_id: Some(enrollment_id), ..self }
    }

    /// The same event with these details.
    pub fn with_data(self, data: serde_json::Value) -> Self {
        Event { data, ..self }
    }
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
