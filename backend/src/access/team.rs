//! The account's team: members and their roles, invitations, deactivation and password resets.
//! Only admins manage the team; the last active admin can never be removed or demoted, and every
//! change lands in the audit log in the transaction that makes it.
//!
//! One-time links (invitation, password reset, email change) share one mechanism: a random
//! 256-bit token in the link, only its SHA-256 stored, with an expiry and a used-at time.

use crate::access::audit::{self, Change};
use crate::access::auth::{check_password_policy, hash_password, Actor};
use crate::entities::{account, session, user, user_token};
use crate::outbox::{self, NewEmail};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{IssuedLink, MemberRow, PartnerEmail, Role, TokenInfo};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, Set, Statement};
use sha2::{Digest, Sha256};

/// How long an invitation link works.
pub const INVITE_DAYS: i64 = 7;
/// How long a password-reset or email-confirmation link works.
pub const RESET_HOURS: i64 = 24;

/// A member who has never set a password has been invited and has not accepted yet.
fn is_invited(u: &user::Model) -> bool {
    u.password_hash.is_empty()
}

fn status(u: &user::Model) -> &'static str {
    if u.active {
        "active"
    } else if is_invited(u) {
        "invited"
    } else {
        "deactivated"
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn label(u: &user::Model) -> String {
    format!("{} <{}>", u.name, u.email)
}

fn roles_of(u: &user::Model) -> Result<Vec<Role>> {
    Role::parse_list(&u.roles).map_err(|e| Error::Internal(e.0))
}

/// Every team member of the actor's account (admins only).
pub async fn members(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<MemberRow>> {
    actor.require_admin()?;
    let rows = user::Entity::find()
        .filter(user::Column::AccountId.eq(actor.account_id))
        .filter(user::Column::Kind.eq("team"))
        .order_by_asc(user::Column::Name)
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|u| {
            Ok(MemberRow {
                id: u.id,
                status: status(&u).to_string(),
                roles: roles_of(&u)?,
                last_login: u.last_login_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                is_me: u.id == actor.user_id,
                name: u.name,
                email: u.email,
            })
        })
        .collect()
}

/// A team member of the actor's account, or `NotFound` (members of other accounts included).
async fn member(db: &impl ConnectionTrait, actor: &Actor, user_id: i64) -> Result<user::Model> {
    user::Entity::find_by_id(user_id)
        .filter(user::Column::AccountId.eq(actor.account_id))
        .filter(user::Column::Kind.eq("team"))
        .one(db)
        .await?
        .ok_or(Error::NotFound("team member"))
}

/// Serialises changes to the account's admins: PostgreSQL locks the account row for the rest of
/// the transaction (SQLite's write transaction already holds the database lock).
async fn lock_account(db: &impl ConnectionTrait, account_id: i64) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
            [account_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Refuses when `user_id` is the account's only active admin.
async fn ensure_another_admin(db: &impl ConnectionTrait, account_id: i64, user_id: i64) -> Result<()> {
    let admins = user::Entity::find()
        .filter(user::Column::AccountId.eq(account_id))
        .filter(user::Column::Kind.eq("team"))
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?;
    let others = admins.iter().filter(|u| u.id != user_id).filter(|u| Role::parse_list(&u.roles).is_ok_and(|r| r.contains(&Role::Admin))).count();
    if others == 0 {
        return Err(Error::Conflict("the account needs at least one active admin: make someone else admin first".into()));
    }
    Ok(())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Issues a one-time token of `kind` for a user, invalidating earlier unused ones of that kind.
pub(crate) async fn issue_token(
    db: &impl ConnectionTrait,
    u: &user::Model,
    kind: &str,
    new_email: Option<String>,
    created_by: Option<i64>,
    now: DateTime<Utc>,
    valid: Duration,
) -> Result<(String, DateTime<Utc>)> {
    user_token::Entity::update_many()
        .col_expr(user_token::Column::UsedAt, sea_orm::sea_query::Expr::value(Some(now)))
        .filter(user_token::Column::UserId.eq(u.id))
        .filter(user_token::Column::Kind.eq(kind))
        .filter(user_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    let token = new_token();
    let expires = now + valid;
    user_token::ActiveModel {
        account_id: Set(u.account_id),
        user_id: Set(u.id),
        kind: Set(kind.to_string()),
        token_hash: Set(sha256_hex(&token)),
        new_email: Set(new_email),
        created_by: Set(created_by),
        created_at: Set(now),
        expires_at: Set(expires),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((token, expires))
}

/// A usable token (right kind, unused, unexpired) with its user, or `NotFound`.
pub(crate) async fn find_token(
    db: &impl ConnectionTrait,
    token: &str,
    kinds: &[&str],
    now: DateTime<Utc>,
) -> Result<(user_token::Model, user::Model)> {
    let t = user_token::Entity::find()
        .filter(user_token::Column::TokenHash.eq(sha256_hex(token.trim())))
        .one(db)
        .await?
        .filter(|t| kinds.contains(&t.kind.as_str()) && t.used_at.is_none() && t.expires_at > now)
        .ok_or(Error::NotFound("link (it may have expired or been used already)"))?;
    let u = user::Entity::find_by_id(t.user_id).one(db).await?.ok_or(Error::NotFound("user"))?;
    Ok((t, u))
}

async fn mark_used(db: &impl ConnectionTrait, t: user_token::Model, now: DateTime<Utc>) -> Result<()> {
    let mut a: user_token::ActiveModel = t.into();
    a.used_at = Set(Some(now));
    a.update(db).await?;
    Ok(())
}

/// What a one-time link is for, for its public page.
pub async fn token_info(db: &DatabaseConnection, token: &str, now: DateTime<Utc>) -> Result<TokenInfo> {
    let (t, u) = find_token(db, token, &["invite", "reset", "email"], now).await?;
    let acc = account::Entity::find_by_id(u.account_id).one(db).await?.ok_or(Error::NotFound("account"))?;
    Ok(TokenInfo { email: t.new_email.clone().unwrap_or(u.email), kind: t.kind, name: u.name, account_name: acc.name })
}

/// Queues an email to a team member (no program branding, never deduplicated).
pub(crate) async fn team_mail(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    account_id: i64,
    kind: &str,
    to: &str,
    subject: String,
    text: String,
) -> Result<()> {
    outbox::queue(db, now, NewEmail { account_id, program_id: None, partner_id: None, kind, to, subject, text, dedupe_key: None }).await?;
    Ok(())
}

fn link(public_url: &str, path: &str, token: &str) -> String {
    format!("{}/{path}/{token}", public_url.trim_end_matches('/'))
}

fn check_roles(roles: &[Role]) -> Result<Vec<Role>> {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(Error::invalid("roles", "give at least one role"));
    }
    Ok(roles)
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give a name of 1 to 100 characters"));
    }
    Ok(name.to_string())
}

/// Invites a team member by email with roles: creates the (inactive) user, queues the
/// invitation email in the outbox and returns the link, which the admin can copy until mail is
/// delivered. Inviting someone who was invited but has not accepted sends a fresh link.
pub async fn invite(
    db: &DatabaseConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    public_url: &str,
    email: &str,
    name: &str,
    roles: &[Role],
) -> Result<IssuedLink> {
    actor.require_admin()?;
    let email = PartnerEmail::parse(email).map_err(Error::field("email"))?;
    let roles = check_roles(roles)?;
    let name = if name.trim().is_empty() { email.as_str().split('@').next().unwrap_or_default().to_string() } else { check_name(name)? };
    let txn = crate::db::begin_write(db).await?;
    let existing =
        user::Entity::find().filter(user::Column::AccountId.eq(actor.account_id)).filter(user::Column::Email.eq(email.as_str())).one(&txn).await?;
    let u = match existing {
        Some(u) if u.kind == "team" && is_invited(&u) => {
            let mut a: user::ActiveModel = u.into();
            a.name = Set(name.clone());
            a.roles = Set(Role::join(&roles));
            a.update(&txn).await?
        }
        Some(_) => return Err(Error::Conflict(format!("{email} is already a member of this account"))),
        None => {
            user::ActiveModel {
                account_id: Set(actor.account_id),
                email: Set(email.as_str().to_string()),
                name: Set(name.clone()),
                password_hash: Set(String::new()),
                kind: Set("team".into()),
                roles: Set(Role::join(&roles)),
                partner_id: Set(None),
                active: Set(false),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    let (token, expires) = issue_token(&txn, &u, "invite", None, Some(actor.user_id), now, Duration::days(INVITE_DAYS)).await?;
    let url = link(public_url, "invite", &token);
    let text = format!(
        "Hello {name},\n\n{} invited you to join {} on Trellis as {}.\n\nChoose your password here (the link works for {INVITE_DAYS} days):\n{url}\n",
        actor.name,
        actor.account_name,
        roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", "),
    );
    let subject = format!("{} invited you to {} on Trellis", actor.name, actor.account_name);
    team_mail(&txn, now, actor.account_id, "team_invitation", email.as_str(), subject, text).await?;
    audit::record(&txn, actor, now, Change { kind: "member_invited", subject: label(&u), before: None, after: Some(Role::join(&roles)) }).await?;
    txn.commit().await?;
    Ok(IssuedLink { user_id: u.id, email: u.email, url, expires: expires.format("%Y-%m-%d %H:%M UTC").to_string() })
}

/// Accepts an invitation or a password reset: sets the password (and, for an invitation, the
/// name), activates the member, uses up the link and ends every other session of the user.
/// Returns the user's id so the caller can sign them in.
pub async fn use_password_link(db: &DatabaseConnection, now: DateTime<Utc>, token: &str, name: Option<&str>, password: &str) -> Result<i64> {
    check_password_policy(password)?;
    let hash = hash_password(password)?.expose_for_storage();
    let txn = crate::db::begin_write(db).await?;
    let (t, u) = find_token(&txn, token, &["invite", "reset"], now).await?;
    let kind = t.kind.clone();
    if kind == "reset" && !u.active {
        return Err(Error::NotFound("link (the member was deactivated)"));
    }
    mark_used(&txn, t, now).await?;
    let mut a: user::ActiveModel = u.clone().into();
    a.password_hash = Set(hash);
    if kind == "invite" {
        a.active = Set(true);
        if let Some(n) = name.filter(|n| !n.trim().is_empty()) {
            a.name = Set(check_name(n)?);
        }
    }
    let saved = a.update(&txn).await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(u.id)).exec(&txn).await?;
    let (audit_kind, after) = if kind == "invite" { ("member_joined", Some(saved.roles.clone())) } else { ("password_reset", None) };
    audit::record_as(&txn, u.account_id, &label(&saved), now, Change { kind: audit_kind, subject: label(&saved), before: None, after }).await?;
    txn.commit().await?;
    Ok(saved.id)
}

/// Changes a member's roles; takes effect on their next request. The last admin cannot lose
/// the admin role.
pub async fn set_roles(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, user_id: i64, roles: &[Role]) -> Result<()> {
    actor.require_admin()?;
    let roles = check_roles(roles)?;
    let txn = crate::db::begin_write(db).await?;
    lock_account(&txn, actor.account_id).await?;
    let u = member(&txn, actor, user_id).await?;
    let before = roles_of(&u)?;
    if before == roles {
        return Ok(());
    }
    if before.contains(&Role::Admin) && !roles.contains(&Role::Admin) && u.active {
        ensure_another_admin(&txn, actor.account_id, u.id).await?;
    }
    let subject = label(&u);
    let mut a: user::ActiveModel = u.into();
    a.roles = Set(Role::join(&roles));
    a.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        now,
        Change { kind: "member_roles_changed", subject, before: Some(Role::join(&before)), after: Some(Role::join(&roles)) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Deactivates a member: they can no longer sign in and every session of theirs ends at once.
/// Nobody deactivates themselves, and the last admin stays.
pub async fn deactivate(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, user_id: i64) -> Result<()> {
    actor.require_admin()?;
    if user_id == actor.user_id {
        return Err(Error::Conflict("you cannot deactivate yourself; ask another admin".into()));
    }
    let txn = crate::db::begin_write(db).await?;
    lock_account(&txn, actor.account_id).await?;
    let u = member(&txn, actor, user_id).await?;
    if !u.active {
        return Ok(());
    }
    if roles_of(&u)?.contains(&Role::Admin) {
        ensure_another_admin(&txn, actor.account_id, u.id).await?;
    }
    let subject = label(&u);
    let id = u.id;
    let mut a: user::ActiveModel = u.into();
    a.active = Set(false);
    a.update(&txn).await?;
    session::Entity::delete_many().filter(session::Column::UserId.eq(id)).exec(&txn).await?;
    audit::record(&txn, actor, now, Change { kind: "member_deactivated", subject, before: Some("active".into()), after: Some("deactivated".into()) })
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Lets a deactivated member sign in again (with their old password).
pub async fn reactivate(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, user_id: i64) -> Result<()> {
    actor.require_admin()?;
    let txn = crate::db::begin_write(db).await?;
    let u = member(&txn, actor, user_id).await?;
    if u.active {
        return Ok(());
    }
    if is_invited(&u) {
        return Err(Error::Conflict("this member has not accepted the invitation yet: invite them again".into()));
    }
    let subject = label(&u);
    let mut a: user::ActiveModel = u.into();
    a.active = Set(true);
    a.update(&txn).await?;
    audit::record(&txn, actor, now, Change { kind: "member_reactivated", subject, before: Some("deactivated".into()), after: Some("active".into()) })
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Issues a password-reset link for an active member (queued in the outbox and returned for the
/// admin to pass on). The old password keeps working until the link is used.
pub async fn reset_password(db: &DatabaseConnection, actor: &Actor, now: DateTime<Utc>, public_url: &str, user_id: i64) -> Result<IssuedLink> {
    actor.require_admin()?;
    let txn = crate::db::begin_write(db).await?;
    let u = member(&txn, actor, user_id).await?;
    if !u.active {
        return Err(Error::Conflict("only active members can reset their password".into()));
    }
    let (token, expires) = issue_token(&txn, &u, "reset", None, Some(actor.user_id), now, Duration::hours(RESET_HOURS)).await?;
    let url = link(public_url, "invite", &token);
    let text = format!("Hello {},\n\nChoose a new password here (the link works for {RESET_HOURS} hours):\n{url}\n", u.name);
    team_mail(&txn, now, actor.account_id, "password_reset", &u.email, "Reset your Trellis password".into(), text).await?;
    audit::record(
        &txn,
        actor,
        now,
        Change { kind: "member_password_reset", subject: label(&u), before: None, after: Some("reset link issued".into()) },
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedLink { user_id: u.id, email: u.email, url, expires: expires.format("%Y-%m-%d %H:%M UTC").to_string() })
}
