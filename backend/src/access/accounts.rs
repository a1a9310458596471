//! Accounts (tenants) and their team users.

use crate::access::auth::{check_password_policy, hash_password};
use crate::entities::{account, user};
use crate::{Clock, Error, Result};
use models::{PartnerEmail, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// Checks an account slug: 2–64 characters of `a-z`, `0-9` and `-`.
pub fn parse_slug(slug: &str) -> Result<String> {
    let slug = slug.trim().to_lowercase();
    let ok =
        (2..=64).contains(&slug.len()) && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') && !slug.starts_with('-');
    if ok {
        Ok(slug)
    } else {
        Err(Error::invalid("account", "use 2 to 64 characters: a-z, 0-9 and '-'"))
    }
}

/// Finds the account with `slug`, creating it (named after the slug) when it does not exist.
pub async fn ensure_account(db: &impl ConnectionTrait, clock: &Clock, slug: &str, name: Option<&str>) -> Result<account::Model> {
    let slug = parse_slug(slug)?;
    if let Some(found) = account::Entity::find().filter(account::Column::Slug.eq(&slug)).one(db).await? {
        return Ok(found);
    }
    let name = name.map(str::to_string).unwrap_or_else(|| slug.clone());
    Ok(account::ActiveModel { slug: Set(slug), name: Set(name), created_at: Set(clock.now()), ..Default::default() }.insert(db).await?)
}

/// Input for a new user.
pub struct NewUser<'a> {
    /// Email (unique within the account).
    pub email: &'a str,
    /// Display name; defaults to the part of the email before `@`.
    pub name: Option<&'a str>,
    /// Password (8–256 characters).
    pub password: &'a str,
    /// Team roles; empty for a partner user.
    pub roles: &'a [Role],
    /// The partner record of a partner user.
    pub partner_id: Option<i64>,
}

/// Creates a team user (with at least one role) or a partner user (with a partner id).
pub async fn create_user(db: &impl ConnectionTrait, clock: &Clock, account_id: i64, new: NewUser<'_>) -> Result<user::Model> {
    let email = PartnerEmail::parse(new.email).map_err(Error::field("email"))?;
    check_password_policy(new.password)?;
    let kind = match (new.partner_id, new.roles.is_empty()) {
        (Some(_), true) => "partner",
        (None, false) => "team",
        (Some(_), false) => return Err(Error::invalid("roles", "a partner user has no team roles")),
        (None, true) => return Err(Error::invalid("roles", "give at least one role")),
    };
    let exists = user::Entity::find().filter(user::Column::AccountId.eq(account_id)).filter(user::Column::Email.eq(email.as_str())).one(db).await?;
    if exists.is_some() {
        return Err(Error::Conflict(format!("a user with email {email} already exists in this account")));
    }
    let name = new
        .name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_string());
    Ok(user::ActiveModel {
        account_id: Set(account_id),
        email: Set(email.as_str().to_string()),
        name: Set(name),
        password_hash: Set(hash_password(new.password)?.expose_for_storage()),
        kind: Set(kind.to_string()),
        roles: Set(Role::join(new.roles)),
        partner_id: Set(new.partner_id),
        active: Set(true),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The account with this slug (trimmed, lower-cased); `NotFound("account")` when none has it.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<account::Model> {
    account::Entity::find().filter(account::Column::Slug.eq(slug.trim().to_lowercase())).one(db).await?.ok_or(Error::NotFound("account"))
}

#[cfg(test)]
mod tests {
    use super::parse_slug;

    #[test]
    fn slugs_are_lower_case_words() {
        assert_eq!(parse_slug(" Demo ").unwrap(), "demo");
        assert!(parse_slug("a").is_err());
        assert!(parse_slug("with space").is_err());
        assert!(parse_slug("-x").is_err());
    }
}
