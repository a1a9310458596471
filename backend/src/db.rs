//! Connecting to SQLite or PostgreSQL, applying migrations, and the rule every write relies on:
//! a pooled connection is handed out only when it is outside any transaction.
//!
//! Why the rule lives in the pool: when SQLite fails a statement or a `COMMIT` with
//! `SQLITE_FULL` or an I/O error it may roll the whole transaction back by itself, while sqlx
//! still counts the connection as inside one (its depth is only lowered by a successful
//! `COMMIT`/`ROLLBACK`, and the `ROLLBACK` that follows now fails: "no transaction is active").
//! Returned to the pool like that, the connection's next `BEGIN` silently became a
//! `SAVEPOINT` — a deferred transaction that raced other writers into `database is locked`, and
//! once a `ROLLBACK TO` had left it open, later "commits" were only `RELEASE`s of nested
//! savepoints inside a transaction that never committed: answered 201, never stored. So every
//! connection is checked against the engine's own state when it goes back to the pool and again
//! before it is handed out, and closed when sqlx and the engine do not both say "no
//! transaction". A failed `COMMIT` is therefore never followed by a request on a connection whose
//! state is unknown. PostgreSQL connections get the same check (and sqlx's ping closes one whose
//! backend was killed).

use migrations::{Migrator, MigratorTrait};
use models::Page;
use sea_orm::sqlx;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QuerySelect, Select};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Pooled connections closed because their transaction state was not clean.
static DISCARDED: AtomicU64 = AtomicU64::new(0);

/// How many pooled connections were closed (never reused) because they were left inside a
/// transaction — after a failed `COMMIT`/`ROLLBACK`, or a transaction the engine ended itself.
pub fn discarded_connections() -> u64 {
    DISCARDED.load(Ordering::Relaxed)
}

/// A test hook: caps the SQLite file at a number of pages (`PRAGMA max_page_count`) on every
/// connection of a pool, so tests can fill the database without root or a small filesystem.
/// Raising it takes effect the next time a connection is handed out. Zero means no cap.
#[derive(Debug, Clone, Default)]
pub struct PageLimit(Arc<AtomicU32>);

impl PageLimit {
    /// A cap of `pages` pages.
    pub fn new(pages: u32) -> Self {
        Self(Arc::new(AtomicU32::new(pages)))
    }

    /// Changes the cap (SQLite never lowers it below the pages already in use).
    pub fn set(&self, pages: u32) {
        self.0.store(pages, Ordering::SeqCst);
    }

    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Options of a pool beyond its URL; the defaults are what the server uses.
#[derive(Debug, Clone, Default)]
pub struct PoolHooks {
    /// Tests only: cap the SQLite file's size in pages.
    pub page_limit: Option<PageLimit>,
}

/// Opens a pool for `url` (`sqlite://…` or `postgres://…`). For SQLite the file's directory is
/// created and write-ahead logging is switched on so readers never wait for the writer.
pub async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    connect_with(url, PoolHooks::default()).await
}

/// [`connect`] with extra [`PoolHooks`].
pub async fn connect_with(url: &str, hooks: PoolHooks) -> Result<DatabaseConnection, sea_orm::DbErr> {
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| sea_orm::DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    let mut opts = ConnectOptions::new(url.to_string());
    // Short timeouts: while the database is down, requests answer 503 within ~2 s instead of
    // hanging (targets.md R1).
    opts.connect_timeout(Duration::from_secs(2)).acquire_timeout(Duration::from_secs(2)).sqlx_logging(false);
    if url.starts_with("sqlite") {
        opts.max_connections(8);
        // Per connection (synchronous is not stored in the file, journal_mode is).
        opts.map_sqlx_sqlite_opts(|o| o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal).synchronous(sqlx::sqlite::SqliteSynchronous::Normal));
        let limit = hooks.page_limit.clone();
        opts.map_sqlx_sqlite_pool_opts(move |p| {
            let (on_connect, on_acquire) = (limit.clone(), limit.clone());
            p.after_connect(move |conn, _| {
                let limit = on_connect.clone();
                Box::pin(async move { apply_page_limit(conn, limit.as_ref()).await })
            })
            .before_acquire(move |conn, _| {
                let limit = on_acquire.clone();
                Box::pin(async move {
                    if !sqlite_is_clean(conn, "acquire").await? {
                        return Ok(false);
                    }
                    apply_page_limit(conn, limit.as_ref()).await?;
                    Ok(true)
                })
            })
            .after_release(|conn, _| Box::pin(async move { sqlite_is_clean(conn, "release").await }))
        });
    } else {
        opts.max_connections(20);
        opts.map_sqlx_postgres_pool_opts(|p| {
            p.before_acquire(|conn, _| Box::pin(async move { Ok(pg_is_clean(conn, "acquire")) }))
                .after_release(|conn, _| Box::pin(async move { Ok(pg_is_clean(conn, "release")) }))
        });
    }
    Database::connect(opts).await
}

/// True when a SQLite connection is outside any transaction by sqlx's count *and* by SQLite's
/// own autocommit flag; otherwise it is counted and the pool closes it.
async fn sqlite_is_clean(conn: &mut sqlx::SqliteConnection, when: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    // Locking goes through the connection's command queue, so a rollback queued by a dropped
    // transaction has run before either flag is read.
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is locked for the duration of the call, so no other thread uses the
    // `sqlite3*`; `sqlite3_get_autocommit` only reads a flag of that open connection.
    let engine_idle = unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    drop(handle);
    let sqlx_idle = !conn.is_in_transaction();
    let clean = sqlx_idle && engine_idle;
    if !clean {
        DISCARDED.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(when, sqlx_idle, engine_idle, "closing a pooled SQLite connection left inside a transaction");
    }
    Ok(clean)
}

/// True when sqlx counts a PostgreSQL connection outside any transaction.
fn pg_is_clean(conn: &mut sqlx::PgConnection, when: &str) -> bool {
    use sqlx::Connection;
    let clean = !conn.is_in_transaction();
    if !clean {
        DISCARDED.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(when, "closing a pooled PostgreSQL connection left inside a transaction");
    }
    clean
}

async fn apply_page_limit(conn: &mut sqlx::SqliteConnection, limit: Option<&PageLimit>) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    if let Some(pages) = limit.map(PageLimit::get).filter(|p| *p > 0) {
        conn.execute(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}"))).await?;
    }
    Ok(())
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

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`IMMEDIATE`), so concurrent writers wait for each other (busy timeout) instead of failing
/// when a read lock cannot be upgraded; PostgreSQL begins as usual.
pub async fn begin_write(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait};
    if db.get_database_backend() == DbBackend::Sqlite {
        db.begin_with_options(TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() }).await
    } else {
        db.begin().await
    }
}

/// Locks row `id` of `table` until the end of the write transaction `txn` on PostgreSQL
/// (`SELECT … FOR UPDATE`), so concurrent writers of one thing (a conversion being refunded, a
/// program's payout run, a batch being paid) queue and each reads what the one before wrote.
/// SQLite needs nothing: [`begin_write`] already holds the database's write lock.
pub async fn lock_row(txn: &impl sea_orm::ConnectionTrait, table: &'static str, id: i64) -> Result<(), sea_orm::DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.query_one_raw(sea_orm::Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"),
            [id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// True when an error means the database is unreachable or the connection broke (so the right
/// answer is 503 and a retry), rather than a bad statement or a constraint.
pub fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as X;
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
            matches!(x.as_ref(), X::Io(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed | X::Protocol(_) | X::Tls(_))
                || matches!(error_code(x).as_deref(), Some("57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// The code of a database error: PostgreSQL's SQLSTATE (`57P01`: the backend was terminated),
/// SQLite's extended result code in decimal (`13`: full).
pub fn error_code(x: &sea_orm::sqlx::Error) -> Option<String> {
    match x {
        sea_orm::sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// The sqlx error under a SeaORM error, if there is one.
pub fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sea_orm::sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) | DbErr::Conn(RuntimeErr::SqlxError(x)) => Some(x.as_ref()),
        _ => None,
    }
}

/// Row `id` of the table of `account` (an `account_id` column) when it belongs to account
/// `account_id`, else `NotFound(what)`: the tenant check of a lookup by id.
pub(crate) async fn find_in_account<C>(
    db: &impl ConnectionTrait,
    account: C,
    account_id: i64,
    id: i64,
    what: &'static str,
) -> crate::Result<<C::EntityName as sea_orm::EntityTrait>::Model>
where
    C: sea_orm::ColumnTrait,
    C::EntityName: sea_orm::EntityTrait,
    i64: Into<<<C::EntityName as sea_orm::EntityTrait>::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
{
    use sea_orm::{EntityTrait, QueryFilter};
    C::EntityName::find_by_id(id).filter(account.eq(account_id)).one(db).await?.ok_or(crate::Error::NotFound(what))
}

/// `(id, name)` of the rows of `id`'s table that match `cond`, by `order`, as a map or a list:
/// the names shown beside ids (partners, programs, tiers, segments).
pub(crate) async fn names<C, B>(
    db: &impl ConnectionTrait,
    (id, name): (C, C),
    cond: impl sea_orm::sea_query::IntoCondition,
    order: C,
) -> crate::Result<B>
where
    C: sea_orm::ColumnTrait,
    C::EntityName: sea_orm::EntityTrait,
    B: FromIterator<(i64, String)>,
{
    use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let rows: Vec<(i64, String)> =
        C::EntityName::find().select_only().column(id).column(name).filter(cond).order_by_asc(order).into_tuple().all(db).await?;
    Ok(rows.into_iter().collect())
}

/// The enrollment of partner `partner_id` in program `program_id`, if there is one (a partner
/// is enrolled in a program at most once).
pub(crate) async fn enrollment_of(
    db: &impl ConnectionTrait,
    partner_id: i64,
    program_id: i64,
) -> crate::Result<Option<crate::entities::enrollment::Model>> {
    use crate::entities::enrollment;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let e = enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(partner_id)).filter(enrollment::Column::ProgramId.eq(program_id));
    Ok(e.one(db).await?)
}

/// How many rows of `key`'s table with `key` among `ids` match `cond`, per id, in one grouped
/// query (an id with no rows is absent).
pub(crate) async fn counts_by<C>(
    db: &impl ConnectionTrait,
    key: C,
    ids: impl IntoIterator<Item = i64>,
    cond: impl sea_orm::sea_query::IntoCondition,
) -> crate::Result<std::collections::HashMap<i64, u64>>
where
    C: sea_orm::ColumnTrait,
    C::EntityName: sea_orm::EntityTrait,
{
    use sea_orm::{EntityTrait, QueryFilter, QuerySelect};
    let rows: Vec<(i64, i64)> = C::EntityName::find()
        .select_only()
        .column(key)
        .column_as(key.count(), "n")
        .filter(key.is_in(ids.into_iter().collect::<Vec<_>>()))
        .filter(cond)
        .group_by(key)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(k, n)| (k, n as u64)).collect())
}

/// The rows of `id`'s table whose `id` (an `i64` key) is among `ids`, by id: the related rows
/// of a list, loaded in one query.
pub(crate) async fn rows_by_id<C>(
    db: &impl ConnectionTrait,
    id: C,
    ids: impl IntoIterator<Item = i64>,
) -> crate::Result<std::collections::HashMap<i64, <C::EntityName as sea_orm::EntityTrait>::Model>>
where
    C: sea_orm::ColumnTrait,
    C::EntityName: sea_orm::EntityTrait<Column = C>,
{
    use sea_orm::sea_query::ValueType;
    use sea_orm::{EntityTrait, ModelTrait, QueryFilter};
    let rows = C::EntityName::find().filter(id.is_in(ids.into_iter().collect::<Vec<_>>())).all(db).await?;
    let key = |m: &<C::EntityName as EntityTrait>::Model| {
        <i64 as ValueType>::try_from(m.get(id)).map_err(|_| crate::Error::Internal(format!("{} is not an i64 key", id.as_str())))
    };
    rows.into_iter().map(|m| Ok((key(&m)?, m))).collect()
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern
/// (`%…%`, lower-cased, trimmed); every free-text search uses it.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of `select` (pages count from 1, `per_page` rows each) with the number of rows it
/// matches in all: the one paging helper every paged list uses. A page past the end is empty.
pub async fn fetch_page<C: ConnectionTrait, E: EntityTrait>(db: &C, select: Select<E>, page: u64, per_page: u64) -> crate::Result<Page<E::Model>>
where
    E::Model: Sync,
{
    let total = select.clone().count(db).await?;
    fetch_counted(db, select, total, page.max(1), per_page).await
}

/// [`fetch_page`], except that a page past the end shows the last page.
pub async fn fetch_page_within<C: ConnectionTrait, E: EntityTrait>(
    db: &C,
    select: Select<E>,
    page: u64,
    per_page: u64,
) -> crate::Result<Page<E::Model>>
where
    E::Model: Sync,
{
    let total = select.clone().count(db).await?;
    let last = total.div_ceil(per_page.max(1)).max(1);
    fetch_counted(db, select, total, page.clamp(1, last), per_page).await
}

/// The offset of the first row of `page` (from 1) when that page has rows of the `total`; `None`
/// for a page past the end, however far (a huge page number must not overflow).
pub fn offset_within(page: u64, per_page: u64, total: u64) -> Option<u64> {
    page.saturating_sub(1).checked_mul(per_page).filter(|offset| *offset < total)
}

async fn fetch_counted<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    total: u64,
    page: u64,
    per_page: u64,
) -> crate::Result<Page<E::Model>> {
    let items = match offset_within(page, per_page, total) {
        Some(offset) => select.offset(offset).limit(per_page).all(db).await?,
        None => Vec::new(),
    };
    Ok(Page { items, total, page, per_page })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    /// Fills a table inside one write transaction until SQLite refuses with `SQLITE_FULL`, lets
    /// the transaction go as a service would, then writes one row: was it really committed
    /// (seen by another pool)?
    async fn after_a_full_disk_the_next_write_commits(db: &DatabaseConnection, url: &str, limit: &PageLimit) -> bool {
        db.execute_unprepared("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, pad BLOB)").await.unwrap();
        let row = db.query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, "PRAGMA page_count")).await.unwrap().unwrap();
        let pages: i64 = row.try_get_by_index(0).unwrap();
        limit.set(pages as u32 + 3);
        let txn = db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut full = None;
        for _ in 0..1000 {
            if let Err(e) = txn.execute_unprepared("INSERT INTO t (pad) VALUES (randomblob(3000))").await {
                full = Some(e);
                break;
            }
        }
        let full = full.expect("the capped file filled up");
        assert!(full.to_string().contains("full"), "{full}");
        // As a service does on an error: drop the transaction (its rollback is queued).
        drop(txn);
        limit.set(1_000_000);
        let txn = db
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await;
        let Ok(txn) = txn else { return false };
        if txn.execute_unprepared("INSERT INTO t (id, pad) VALUES (-1, x'00')").await.is_err() || txn.commit().await.is_err() {
            return false;
        }
        let other = connect(url).await.unwrap();
        let seen =
            other.query_one_raw(sea_orm::Statement::from_string(DbBackend::Sqlite, "SELECT count(*) FROM t WHERE id = -1")).await.unwrap().unwrap();
        let seen: i64 = seen.try_get_by_index(0).unwrap();
        other.close().await.unwrap();
        seen == 1
    }

    #[tokio::test]
    async fn after_sqlite_full_the_next_write_through_the_pool_is_really_committed() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let limit = PageLimit::default();
        let db = connect_with(&url, PoolHooks { page_limit: Some(limit.clone()) }).await.unwrap();
        assert!(after_a_full_disk_the_next_write_commits(&db, &url, &limit).await, "the write after the fault is committed");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://data/trellis.db?mode=rwc").as_deref(), Some("data/trellis.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
