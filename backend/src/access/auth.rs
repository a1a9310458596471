//! Who is acting: password hashing (Argon2id at OWASP parameters), sign-in with throttling,
//! the [`Actor`] every service takes, and API keys (stored as SHA-256 hashes).

use crate::entities::{account, api_key, login_attempt, user};
use crate::{Clock, Error, Result};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;
use models::{PartnerEmail, Role};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Failed sign-ins allowed per key (email, IP) per minute.
pub const LOGIN_ATTEMPTS_PER_MINUTE: u64 = 5;

/// A password hash. Deliberately neither `Serialize` nor `Display`, so it cannot leak into a
/// response or a log line by accident.
pub struct PasswordHashString(String);

impl PasswordHashString {
    /// The PHC string, for storage only.
    pub fn expose_for_storage(self) -> String {
        self.0
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP: Argon2id, m = 19 MiB, t = 2, p = 1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 2, 1, None).expect("valid params"))
}

/// Checks a new password's length (8 to 256 characters).
pub fn check_password_policy(password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < 8 {
        return Err(Error::invalid("password", "must be at least 8 characters"));
    }
    if len > 256 {
        return Err(Error::invalid("password", "must be at most 256 characters"));
    }
    Ok(())
}

/// Hashes a password with a fresh salt.
pub fn hash_password(password: &str) -> Result<PasswordHashString> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| PasswordHashString(h.to_string()))
        .map_err(|e| Error::Internal(format!("hashing failed: {e}")))
}

/// True when `password` matches the stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok()).unwrap_or(false)
}

/// The signed-in user a service call acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// The user's id.
    pub user_id: i64,
    /// The account everything is scoped to.
    pub account_id: i64,
    /// The account's display name.
    pub account_name: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Team roles (empty for partner users).
    pub roles: Vec<Role>,
    /// The partner record of a partner user.
    pub partner_id: Option<i64>,
}

impl Actor {
    /// True for a team member holding any of `roles` (admins hold every right).
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.partner_id.is_none() && self.roles.iter().any(|r| *r == Role::Admin || roles.contains(r))
    }

    /// Refuses unless the actor is a team member holding one of `roles` (or admin).
    pub fn require_any(&self, roles: &[Role]) -> Result<()> {
        if self.has_any(roles) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// True for an admin of the account: the one role that holds every right.
    pub fn is_admin(&self) -> bool {
        self.partner_id.is_none() && self.roles.contains(&Role::Admin)
    }

    /// Refuses everyone but the account's admins.
    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Refuses partner users; any team role passes.
    pub fn require_team(&self) -> Result<()> {
        if self.partner_id.is_none() && !self.roles.is_empty() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The partner id of a partner user; refuses team users.
    pub fn require_partner(&self) -> Result<i64> {
        self.partner_id.ok_or(Error::Forbidden)
    }

    /// The actor of a REST call: an API key acts for its whole account, as an admin would.
    pub fn api(account_id: i64) -> Actor {
        Actor {
            user_id: 0,
            account_id,
            account_name: String::new(),
            name: "API key".into(),
            email: String::new(),
            roles: vec![Role::Admin],
            partner_id: None,
        }
    }

    /// How the actor is written on timelines and in the audit log.
    pub fn label(&self) -> String {
        if self.user_id == 0 {
            return "api".into();
        }
        format!("{} <{}>", self.name, self.email)
    }

    /// True when the actor may change this partner: program managers and admins may change
    /// any; relationship owners only the partners they own.
    pub fn can_edit_partner(&self, owner_user_id: Option<i64>) -> bool {
        self.has_any(&[Role::ProgramManager]) || (self.has_any(&[Role::RelationshipOwner]) && owner_user_id == Some(self.user_id))
    }
}

/// Loads the actor for a session's user id; inactive or deleted users are unauthenticated, so a
/// deactivation or role change takes effect on the very next request.
pub async fn actor_for_user(db: &DatabaseConnection, user_id: i64) -> Result<Actor> {
    let Some(u) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Err(Error::Unauthenticated);
    };
    if !u.active {
        return Err(Error::Unauthenticated);
    }
    let acc = account::Entity::find_by_id(u.account_id).one(db).await?.ok_or(Error::Unauthenticated)?;
    actor_from(u, acc)
}

fn actor_from(u: user::Model, acc: account::Model) -> Result<Actor> {
    let roles = if u.kind == "partner" { Vec::new() } else { Role::parse_list(&u.roles).map_err(|e| Error::Internal(e.0))? };
    Ok(Actor {
        user_id: u.id,
        account_id: u.account_id,
        account_name: acc.name,
        name: u.name,
        email: u.email,
        roles,
        partner_id: if u.kind == "partner" { u.partner_id } else { None },
    })
}

/// Signs in by email and password. Failed attempts are counted per email and per client IP in
/// the database (so the limit holds across replicas): more than five a minute → rate limited.
pub async fn login(db: &DatabaseConnection, clock: &Clock, email: &str, password: &str, client_ip: &str) -> Result<Actor> {
    let now = clock.now();
    let email_key = format!("email:{}", email.trim().to_lowercase());
    let ip_key = format!("ip:{client_ip}");
    for key in [&email_key, &ip_key] {
        let recent = login_attempt::Entity::find()
            .filter(login_attempt::Column::Key.eq(key.as_str()))
            .filter(login_attempt::Column::At.gt(now - Duration::minutes(1)))
            .count(db)
            .await?;
        if recent >= LOGIN_ATTEMPTS_PER_MINUTE {
            return Err(Error::RateLimited);
        }
    }

    let candidates = match PartnerEmail::parse(email) {
        Ok(e) => {
            user::Entity::find()
                .filter(user::Column::Email.eq(e.as_str()))
                .filter(user::Column::Active.eq(true))
                .order_by_asc(user::Column::Id)
                .all(db)
                .await?
        }
        Err(_) => Vec::new(),
    };
    let mut matched = None;
    for u in candidates {
        if verify_password(password, &u.password_hash) {
            matched = Some(u);
            break;
        }
    }
    if matched.is_none() {
        // Spend the same effort on unknown emails, so timing does not reveal which exist.
        if verify_password(password, DUMMY_HASH) {
            tracing::warn!("dummy hash matched");
        }
    }
    let Some(u) = matched else {
        for key in [email_key, ip_key] {
            login_attempt::ActiveModel { key: Set(key), at: Set(now), ..Default::default() }.insert(db).await?;
        }
        login_attempt::Entity::delete_many().filter(login_attempt::Column::At.lt(now - Duration::hours(1))).exec(db).await?;
        return Err(Error::Unauthenticated);
    };
    let acc = account::Entity::find_by_id(u.account_id).one(db).await?.ok_or(Error::Unauthenticated)?;
    let mut active: user::ActiveModel = u.clone().into();
    active.last_login_at = Set(Some(now));
    active.update(db).await?;
    actor_from(u, acc)
}

/// A valid Argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$h8ObpT1bmAwD5CZeZ1r4WSP0tMZ9W0E1zoBqk7Cq3pA";

/// A newly created API key; `secret` is shown once and never stored.
pub struct NewApiKey {
    /// The key's id.
    pub id: i64,
    /// The full key to give to the integrator.
    pub secret: String,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Creates an API key for an account. The key is `trl_{prefix}_{secret}`; only the prefix (for
/// lookup) and a SHA-256 hash of the whole key are stored. A fast hash suffices: the key has 192
/// bits of entropy, so there is nothing to brute-force.
pub async fn create_api_key(db: &DatabaseConnection, clock: &Clock, account_id: i64, name: &str) -> Result<NewApiKey> {
    let mut bytes = [0u8; 30];
    rand::rng().fill_bytes(&mut bytes);
    let prefix = hex::encode(&bytes[..6]);
    let secret = format!("trl_{prefix}_{}", hex::encode(&bytes[6..]));
    let name = if name.trim().is_empty() { "API key".to_string() } else { name.trim().to_string() };
    let saved = api_key::ActiveModel {
        account_id: Set(account_id),
        name: Set(name),
        prefix: Set(prefix),
        key_hash: Set(sha256_hex(&secret)),
        created_at: Set(clock.now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(NewApiKey { id: saved.id, secret })
}

/// Resolves a bearer key to its account id; revoked, unknown and malformed keys are refused.
/// The hash comparison is constant-time.
pub async fn account_for_api_key(db: &DatabaseConnection, clock: &Clock, presented: &str) -> Result<i64> {
    let mut parts = presented.trim().splitn(3, '_');
    let (Some("trl"), Some(prefix), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Unauthenticated);
    };
    let Some(key) = api_key::Entity::find().filter(api_key::Column::Prefix.eq(prefix)).filter(api_key::Column::RevokedAt.is_null()).one(db).await?
    else {
        return Err(Error::Unauthenticated);
    };
    let presented_hash = sha256_hex(presented.trim());
    if !bool::from(presented_hash.as_bytes().ct_eq(key.key_hash.as_bytes())) {
        return Err(Error::Unauthenticated);
    }
    let now = clock.now();
    // Recording use at minute granularity keeps the hot path free of a write per request.
    if key.last_used_at.is_none_or(|t| now - t > Duration::minutes(1)) {
        let account_id = key.account_id;
        let mut active: api_key::ActiveModel = key.into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
        return Ok(account_id);
    }
    Ok(key.account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_against_their_own_hash_only() {
        let h = hash_password("correct horse").unwrap().expose_for_storage();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn password_policy_requires_eight_characters() {
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough").is_ok());
    }
}
