//! The email outbox: every email is a row written in the same transaction as the event that
//! caused it. Delivery (SMTP) is a scheduler job; without `TRELLIS_SMTP_URL` emails stay here.

use crate::entities::outbox_email;
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// An email to queue.
pub struct NewEmail<'a> {
    /// Account.
    pub account_id: i64,
    /// Program whose branding applies.
    pub program_id: Option<i64>,
    /// Partner it is about.
    pub partner_id: Option<i64>,
    /// `tier_upgraded`, `re_engagement`, `broadcast`, …
    pub kind: &'a str,
    /// Recipient.
    pub to: &'a str,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// A key that makes the email unique per cause; a second email with the same key is dropped.
    pub dedupe_key: Option<String>,
}

/// Queues an email; returns false when an email with the same dedupe key already exists.
pub async fn queue(db: &impl ConnectionTrait, now: DateTime<Utc>, e: NewEmail<'_>) -> Result<bool> {
    let inserted = outbox_email::Entity::insert(outbox_email::ActiveModel {
        account_id: Set(e.account_id),
        program_id: Set(e.program_id),
        partner_id: Set(e.partner_id),
        kind: Set(e.kind.to_string()),
        to_email: Set(e.to.to_string()),
        subject: Set(e.subject),
        body_text: Set(e.text),
        body_html: Set(None),
        status: Set("queued".into()),
        attempts: Set(0),
        created_at: Set(now),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        last_error: Set(None),
        dedupe_key: Set(e.dedupe_key),
        token: Set(Some(crate::mail::new_token())),
        claimed_until: Set(None),
        opened_at: Set(None),
        broadcast_id: Set(None),
        ..Default::default()
    })
    .on_conflict(OnConflict::column(outbox_email::Column::DedupeKey).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(inserted == 1)
}
