//! The email outbox: every email is a row written in the same transaction as the event that
//! caused it. Delivery (SMTP) is a scheduler job; without `TRELLIS_SMTP_URL` emails stay here.

use crate::entities::outbox_email;
use crate::Result;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

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
        token: Set(Some(new_token())),
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

/// A new random token for the pixel and unsubscribe links.
pub(crate) fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Share of each partner's emails sent in the 90 days before `now` that were opened, in
/// percent (the health score's email part); partners sent nothing are absent.
pub async fn open_rates(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<std::collections::HashMap<i64, u8>> {
    let rows: Vec<(i64, i64, i64)> = outbox_email::Entity::find()
        .select_only()
        .column(outbox_email::Column::PartnerId)
        .column_as(outbox_email::Column::Id.count(), "sent")
        .column_as(outbox_email::Column::OpenedAt.count(), "opened")
        .filter(outbox_email::Column::PartnerId.is_not_null())
        .filter(outbox_email::Column::Status.eq("sent"))
        .filter(outbox_email::Column::SentAt.gte(now - Duration::days(90)))
        .group_by(outbox_email::Column::PartnerId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter(|r| r.1 > 0).map(|(p, sent, opened)| (p, ((opened * 100 + sent / 2) / sent) as u8)).collect())
}

/// [`open_rates`] of one partner.
pub async fn open_rate(db: &impl ConnectionTrait, partner_id: i64, now: DateTime<Utc>) -> Result<Option<u8>> {
    Ok(open_rates(db, now).await?.get(&partner_id).copied())
}
