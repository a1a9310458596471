//! The account's audit trail: every administrative and financial change, with who, what, when,
//! and the values before and after. Append-only; written in the transaction of the change.

use crate::auth::Actor;
use crate::entities::audit_entry;
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// One change to record.
pub struct Change<'a> {
    /// What kind of change (`partner_status_changed`, `member_invited`, `program_updated`, …).
    pub kind: &'a str,
    /// What it was made to, for people ("Ava Thompson / Demo Store").
    pub subject: String,
    /// The value before (JSON or plain text), if there was one.
    pub before: Option<String>,
    /// The value after, if there is one.
    pub after: Option<String>,
}

/// Appends a change made by `actor` at `at` to its account's audit log.
pub async fn record(db: &impl ConnectionTrait, actor: &Actor, at: DateTime<Utc>, c: Change<'_>) -> Result<()> {
    record_as(db, actor.account_id, &actor.label(), at, c).await
}

/// Appends a change made by a named non-user actor (`api`, `system`, `import`).
pub async fn record_as(db: &impl ConnectionTrait, account_id: i64, actor: &str, at: DateTime<Utc>, c: Change<'_>) -> Result<()> {
    audit_entry::ActiveModel {
        account_id: Set(account_id),
        actor: Set(actor.to_string()),
        kind: Set(c.kind.to_string()),
        subject: Set(c.subject),
        before: Set(c.before),
        after: Set(c.after),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
