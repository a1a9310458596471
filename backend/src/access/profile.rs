//! The signed-in team member's own profile: name, email (the new address must confirm a link
//! before it is used to sign in) and password (the current one is required; every other session
//! ends).

use crate::access::audit::{self, Change};
use crate::access::auth::{check_password_policy, hash_password, verify_password, Actor};
use crate::access::team::{find_token, issue_token, team_mail, RESET_HOURS};
use crate::entities::{session, user, user_token};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{PartnerEmail, Profile};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

async fn me(db: &impl sea_orm::ConnectionTrait, actor: &Actor) -> Result<user::Model> {
    actor.require_team()?;
    user::Entity::find_by_id(actor.user_id).one(db).await?.ok_or(Error::Unauthenticated)
}

/// The actor's profile, with an email change waiting for confirmation, if any.
pub async fn get(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>) -> Result<Profile> {
    let u = me(db, actor).await?;
    let pending = user_token::Entity::find()
        .filter(user_token::Column::UserId.eq(u.id))
        .filter(user_token::Column::Kind.eq("email"))
        .filter(user_token::Column::UsedAt.is_null())
        .filter(user_token::Column::ExpiresAt.gt(now))
        .order_by_desc(user_token::Column::Id)
        .one(db)
        .await?;
    Ok(Profile { name: u.name, email: u.email, pending_email: pending.and_then(|t| t.new_email), roles: actor.roles.clone() })
}

/// Changes the actor's display name.
pub async fn rename(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, name: &str) -> Result<()> {
    let u = me(db, actor).await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give a name of 1 to 100 characters"));
    }
    if name == u.name {
        return Ok(());
    }
    let txn = crate::db::begin_write(db).await?;
    let before = u.name.clone();
    let mut a: user::ActiveModel = u.into();
    a.name = Set(name.to_string());
    a.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        now,
        Change { kind: "profile_name_changed", subject: actor.label(), before: Some(before), after: Some(name.to_string()) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Asks to change the actor's email: checks the current password, then sends a confirmation
/// link to the new address (through the outbox). The old address signs in until it is used.
pub async fn request_email_change(
    db: &DatabaseConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    public_url: &str,
    new_email: &str,
    current_password: &str,
) -> Result<()> {
    let u = me(db, actor).await?;
    if !verify_password(current_password, &u.password_hash) {
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    let email = PartnerEmail::parse(new_email).map_err(Error::field("email"))?;
    if email.as_str() == u.email {
        return Err(Error::invalid("email", "is already your email"));
    }
    let taken = user::Entity::find().filter(user::Column::AccountId.eq(u.account_id)).filter(user::Column::Email.eq(email.as_str())).one(db).await?;
    if taken.is_some() {
        return Err(Error::Conflict(format!("{email} is already used in this account")));
    }
    let txn = crate::db::begin_write(db).await?;
    let (token, _) = issue_token(&txn, &u, "email", Some(email.as_str().to_string()), Some(u.id), now, Duration::hours(RESET_HOURS)).await?;
    let url = format!("{}/verify-email/{token}", public_url.trim_end_matches('/'));
    let text =
        format!("Hello {},\n\nConfirm that you sign in to Trellis with this address (the link works for {RESET_HOURS} hours):\n{url}\n", u.name);
    team_mail(&txn, now, u.account_id, "email_change", email.as_str(), "Confirm your new Trellis email".into(), text).await?;
    audit::record(
        &txn,
        actor,
        now,
        Change { kind: "email_change_requested", subject: actor.label(), before: Some(u.email.clone()), after: Some(email.as_str().to_string()) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Confirms an email change from its link (no session needed: the link is the proof).
pub async fn confirm_email(db: &DatabaseConnection, now: DateTime<Utc>, token: &str) -> Result<String> {
    let txn = crate::db::begin_write(db).await?;
    let (t, u) = find_token(&txn, token, &["email"], now).await?;
    let new_email = t.new_email.clone().ok_or_else(|| Error::Internal("email token without an address".into()))?;
    let taken =
        user::Entity::find().filter(user::Column::AccountId.eq(u.account_id)).filter(user::Column::Email.eq(new_email.as_str())).one(&txn).await?;
    if taken.is_some() {
        return Err(Error::Conflict(format!("{new_email} is already used in this account")));
    }
    let before = u.email.clone();
    let label = format!("{} <{}>", u.name, new_email);
    let mut used: user_token::ActiveModel = t.into();
    used.used_at = Set(Some(now));
    used.update(&txn).await?;
    let mut a: user::ActiveModel = u.clone().into();
    a.email = Set(new_email.clone());
    a.update(&txn).await?;
    audit::record_as(
        &txn,
        u.account_id,
        &label,
        now,
        Change { kind: "email_changed", subject: label.clone(), before: Some(before), after: Some(new_email.clone()) },
    )
    .await?;
    txn.commit().await?;
    Ok(new_email)
}

/// Changes the actor's password: the current one must match; every session but `keep_session`
/// (the one making the change) ends.
pub async fn change_password(
    db: &DatabaseConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<u64> {
    let u = me(db, actor).await?;
    if !verify_password(current, &u.password_hash) {
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    check_password_policy(new).map_err(|_| Error::invalid("new_password", "must be 8 to 256 characters"))?;
    let hash = hash_password(new)?.expose_for_storage();
    let txn = crate::db::begin_write(db).await?;
    let mut a: user::ActiveModel = u.into();
    a.password_hash = Set(hash);
    a.update(&txn).await?;
    let mut others = session::Entity::delete_many().filter(session::Column::UserId.eq(actor.user_id));
    if let Some(keep) = keep_session {
        others = others.filter(session::Column::Id.ne(keep));
    }
    let ended = others.exec(&txn).await?.rows_affected;
    audit::record(
        &txn,
        actor,
        now,
        Change { kind: "password_changed", subject: actor.label(), before: None, after: Some(format!("{ended} other session(s) ended")) },
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}
