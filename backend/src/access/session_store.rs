//! A `tower-sessions` store on the application database, so sessions survive a restart, work
//! across replicas, and can be revoked server-side (logout, deactivation).

use crate::entities::session;
use sea_orm::{sea_query::OnConflict, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error as StoreError, Result as StoreResult};
use tower_sessions::SessionStore;

/// The session key under which the signed-in user's id is kept.
pub const USER_ID_KEY: &str = "user_id";
/// The session key holding the sign-in time (for the absolute expiry).
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";
/// The session key holding when the session was last saved for activity (its idle expiry slides
/// from there).
pub const SEEN_AT_KEY: &str = "seen_at";
/// How often an active session is saved again to push its idle expiry forward, in seconds.
pub const SLIDE_EVERY_SECS: i64 = 300;

/// Sessions in the `sessions` table.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    /// A store on `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(e: sea_orm::DbErr) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn row(record: &Record) -> StoreResult<session::ActiveModel> {
    let data = serde_json::to_string(record).map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(session::ActiveModel {
        id: Set(record.id.to_string()),
        user_id: Set(record.data.get(USER_ID_KEY).and_then(|v| v.as_i64())),
        data: Set(data),
        expiry_date: Set(to_chrono(record.expiry_date)),
    })
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> StoreResult<()> {
        // A fresh random id collides with probability 2^-128; retry anyway rather than overwrite.
        loop {
            let inserted = session::Entity::insert(row(record)?)
                .on_conflict(OnConflict::column(session::Column::Id).do_nothing().to_owned())
                .exec_without_returning(&self.db)
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> StoreResult<()> {
        session::Entity::insert(row(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::UserId, session::Column::Data, session::Column::ExpiryDate])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> StoreResult<Option<Record>> {
        let found = session::Entity::find_by_id(id.to_string())
            .filter(session::Column::ExpiryDate.gt(chrono::Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        found.map(|s| serde_json::from_str(&s.data).map_err(|e| StoreError::Decode(e.to_string()))).transpose()
    }

    async fn delete(&self, id: &Id) -> StoreResult<()> {
        session::Entity::delete_by_id(id.to_string()).exec(&self.db).await.map_err(backend)?;
        Ok(())
    }
}

/// Ends every session of a user (deactivation, password change).
pub async fn revoke_user_sessions(db: &DatabaseConnection, user_id: i64) -> Result<u64, sea_orm::DbErr> {
    Ok(session::Entity::delete_many().filter(session::Column::UserId.eq(user_id)).exec(db).await?.rows_affected)
}

/// Deletes expired sessions.
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    Ok(session::Entity::delete_many().filter(session::Column::ExpiryDate.lte(chrono::Utc::now())).exec(db).await?.rows_affected)
}
