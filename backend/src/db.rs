//! Connecting to SQLite or PostgreSQL and applying migrations.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use std::time::Duration;

/// Opens a pool for `url` (`sqlite://…` or `postgres://…`). For SQLite the file's directory is
/// created and write-ahead logging is switched on so readers never wait for the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    sea_orm::DbErr::Custom(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
    }
    let mut opts = ConnectOptions::new(url.to_string());
    // Short timeouts: while the database is down, requests answer 503 within ~2 s instead of
    // hanging (targets.md R1).
    opts.connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2))
        .sqlx_logging(false);
    if url.starts_with("sqlite") {
        opts.max_connections(8);
    } else {
        opts.max_connections(20);
    }
    let db = Database::connect(opts).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").await?;
    }
    Ok(db)
}

/// The file path of a `sqlite://` URL, if it names a file.
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    Migrator::up(db, None).await
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/trellis.db?mode=rwc").as_deref(), Some("data/trellis.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`), so concurrent writers wait for each other (busy timeout) instead of failing
/// when a read lock cannot be upgraded; PostgreSQL begins as usual.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
    } else {
        db.begin().await
    }
}

/// True when an error means the database is unreachable or the connection broke (so the right
/// answer is 503 and a retry), rather than a bad statement or a constraint.
pub fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as X;
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => matches!(
            x.as_ref(),
            X::Io(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed | X::Protocol(_) | X::Tls(_)
        ),
        _ => false,
    }
}
