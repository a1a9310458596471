//! API keys as admins manage them: list (never the secret), create (the secret shown once),
//! revoke. Keys are stored as SHA-256 hashes (see [`crate::access::auth::create_api_key`]); a revoked
//! key is refused on its very next request.

use crate::access::audit::{self, Change};
use crate::access::auth::Actor;
use crate::entities::api_key;
use crate::{Clock, Error, Result};
use models::{ApiKeyRow, CreatedKey};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The account's keys, newest first (admins).
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<ApiKeyRow>> {
    actor.require_admin()?;
    let rows = api_key::Entity::find().filter(api_key::Column::AccountId.eq(actor.account_id)).order_by_desc(api_key::Column::Id).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|k| ApiKeyRow {
            id: k.id,
            name: k.name,
            prefix: format!("trl_{}_…", k.prefix),
            created: ts(k.created_at),
            last_used: k.last_used_at.map(ts),
            revoked: k.revoked_at.map(ts),
        })
        .collect())
}

/// Creates a key (admins); the answer holds the only copy of the secret.
pub async fn create(db: &DatabaseConnection, clock: &Clock, actor: &Actor, name: &str) -> Result<CreatedKey> {
    actor.require_admin()?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give the key a name of 1 to 100 characters"));
    }
    let k = crate::access::auth::create_api_key(db, clock, actor.account_id, name).await?;
    let row = api_key::Entity::find_by_id(k.id).one(db).await?.ok_or(Error::NotFound("API key"))?;
    audit::record(
        db,
        actor,
        clock.now(),
        Change { kind: "api_key_created", subject: format!("{name} (trl_{}_…)", row.prefix), before: None, after: Some("active".into()) },
    )
    .await?;
    Ok(CreatedKey { id: k.id, secret: k.secret })
}

/// Revokes a key of the account (admins); revoking twice changes nothing.
pub async fn revoke(db: &DatabaseConnection, clock: &Clock, actor: &Actor, id: i64) -> Result<()> {
    actor.require_admin()?;
    let k = crate::db::find_in_account(db, api_key::Column::AccountId, actor.account_id, id, "API key").await?;
    if k.revoked_at.is_some() {
        return Ok(());
    }
    let now = clock.now();
    let subject = format!("{} (trl_{}_…)", k.name, k.prefix);
    let txn = crate::db::begin_write(db).await?;
    let mut a: api_key::ActiveModel = k.into();
    a.revoked_at = Set(Some(now));
    a.update(&txn).await?;
    audit::record(&txn, actor, now, Change { kind: "api_key_revoked", subject, before: Some("active".into()), after: Some("revoked".into()) })
        .await?;
    txn.commit().await?;
    Ok(())
}
