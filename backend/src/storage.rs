//! Storage faults — a full disk, an I/O error, a read-only database file — and how the server
//! tells about them: which errors they are, one log line per episode, counts by kind, the write
//! probe behind `/readyz`, and the free space of the database's filesystem.
//!
//! An episode starts at the first fault and ends once a probe write succeeds with no fault seen
//! for [`QUIET`]: while it lasts, `/readyz` answers 503 and writes answer 503 with
//! `Retry-After` (`storage_full` / `storage_unavailable`) — never a 2xx that was not committed
//! (the pool discards any connection a failed write left inside a transaction, see `db`).

use crate::Error;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// After the last fault, writes must have stayed quiet this long (and a probe succeeded) before
/// the storage counts as healthy again.
pub const QUIET: Duration = Duration::from_secs(5);
/// A probe result is reused for this long, so a busy `/readyz` does not write on every call.
const PROBE_REUSE: Duration = Duration::from_secs(1);
/// What `Retry-After` says while storage fails, in seconds.
pub const RETRY_AFTER_SECS: u64 = 5;
/// Under this much free space (or a tenth of the filesystem) admins are warned.
pub const LOW_SPACE_BYTES: u64 = 1024 * 1024 * 1024;

/// What kind of storage fault an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// No space left (`SQLITE_FULL`, PostgreSQL `53100 disk_full`).
    Full,
    /// An I/O error, a read-only or unopenable or corrupt file (`SQLITE_IOERR*`,
    /// `SQLITE_READONLY`, `SQLITE_CANTOPEN`, `SQLITE_CORRUPT`, `SQLITE_NOTADB`; PostgreSQL
    /// `58030 io_error`, `25006 read_only_sql_transaction`).
    Unavailable,
}

impl FaultKind {
    /// Every kind, in a stable order.
    pub const ALL: [FaultKind; 2] = [FaultKind::Full, FaultKind::Unavailable];

    /// The problem code of the REST answer.
    pub fn code(self) -> &'static str {
        match self {
            FaultKind::Full => "storage_full",
            FaultKind::Unavailable => "storage_unavailable",
        }
    }

    /// The label on `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            FaultKind::Full => "full",
            FaultKind::Unavailable => "unavailable",
        }
    }
}

/// The storage fault a database error is, if it is one.
pub fn classify(e: &DbErr) -> Option<FaultKind> {
    let code = crate::db::sqlx_error(e).and_then(crate::db::error_code)?;
    if let Ok(extended) = code.parse::<i32>() {
        // SQLite: the primary result code is the low byte of the extended one.
        return match extended & 0xff {
            13 => Some(FaultKind::Full),
            8 | 10 | 11 | 14 | 26 => Some(FaultKind::Unavailable),
            _ => None,
        };
    }
    match code.as_str() {
        "53100" => Some(FaultKind::Full),
        "58030" | "25006" => Some(FaultKind::Unavailable),
        _ => None,
    }
}

/// The storage fault a service error is, if it is one.
pub fn classify_error(e: &Error) -> Option<FaultKind> {
    match e {
        Error::Db(db) => classify(db),
        _ => None,
    }
}

#[derive(Debug)]
struct Episode {
    started: Instant,
    refused: u64,
}

#[derive(Debug, Default)]
struct State {
    episode: Option<Episode>,
    last_fault: Option<Instant>,
    last_probe: Option<(Instant, bool)>,
}

/// The storage health of one server: faults by kind, the current episode, the last probe.
#[derive(Debug, Default)]
pub struct StorageHealth {
    state: Mutex<State>,
    full: AtomicU64,
    unavailable: AtomicU64,
    episodes: AtomicU64,
    probing: tokio::sync::Mutex<()>,
}

impl StorageHealth {
    /// A healthy start.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Records a write refused by a storage fault. The first one of an episode is logged with
    /// its cause; the rest are only counted.
    pub fn record(&self, kind: FaultKind, cause: &dyn std::fmt::Display) {
        match kind {
            FaultKind::Full => self.full.fetch_add(1, Ordering::Relaxed),
            FaultKind::Unavailable => self.unavailable.fetch_add(1, Ordering::Relaxed),
        };
        let mut st = self.state.lock().expect("not poisoned");
        st.last_fault = Some(Instant::now());
        match &mut st.episode {
            Some(ep) => {
                ep.refused += 1;
                tracing::debug!(kind = kind.code(), error = %cause, "write refused: storage still failing");
            }
            None => {
                st.episode = Some(Episode { started: Instant::now(), refused: 1 });
                self.episodes.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    kind = kind.code(),
                    error = %cause,
                    "storage fault: writes fail; answering 503 with Retry-After and /readyz 503 until a write succeeds again"
                );
            }
        }
    }

    /// Records `e` if it is a storage fault, and says which kind it was.
    pub fn record_error(&self, e: &Error) -> Option<FaultKind> {
        let kind = classify_error(e)?;
        self.record(kind, e_cause(e));
        Some(kind)
    }

    /// Faults counted so far, by kind.
    pub fn faults(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::Full => self.full.load(Ordering::Relaxed),
            FaultKind::Unavailable => self.unavailable.load(Ordering::Relaxed),
        }
    }

    /// Episodes so far.
    pub fn episodes(&self) -> u64 {
        self.episodes.load(Ordering::Relaxed)
    }

    /// True while an episode is open.
    pub fn failing(&self) -> bool {
        self.state.lock().expect("not poisoned").episode.is_some()
    }

    /// Whether the database takes writes now: a write probe (reused for a second) succeeds and
    /// no write failed for [`QUIET`]. Ends an open episode (logged with its length) when so.
    pub async fn check(&self, db: &DatabaseConnection) -> Result<(), String> {
        // A reused probe must not hide a database that stopped answering since.
        if !crate::db::ping(db).await {
            return Err("the database does not answer".into());
        }
        let fresh = {
            let st = self.state.lock().expect("not poisoned");
            st.last_probe.filter(|(at, _)| at.elapsed() < PROBE_REUSE).map(|(_, ok)| ok)
        };
        let probe_ok = match fresh {
            Some(ok) => ok,
            None => {
                let _one = self.probing.lock().await;
                let ok = match tokio::time::timeout(Duration::from_secs(3), probe(db)).await {
                    Ok(Ok(())) => true,
                    Ok(Err(e)) => {
                        if let Some(kind) = classify(&e) {
                            self.record(kind, &e);
                        }
                        false
                    }
                    Err(_) => false,
                };
                self.state.lock().expect("not poisoned").last_probe = Some((Instant::now(), ok));
                ok
            }
        };
        let mut st = self.state.lock().expect("not poisoned");
        if !probe_ok {
            return Err("the database does not take writes".into());
        }
        if st.last_fault.is_some_and(|t| t.elapsed() < QUIET) {
            return Err("writes failed in the last seconds".into());
        }
        if let Some(ep) = st.episode.take() {
            tracing::warn!(lasted_s = ep.started.elapsed().as_secs_f64(), refused = ep.refused, "storage recovered: writes succeed again");
        }
        Ok(())
    }

    /// Checks every second while an episode is open, so it ends (and `/readyz` turns 200) even
    /// when nobody asks; stops when `stop` turns true.
    pub fn spawn_watcher(self: Arc<Self>, db: DatabaseConnection, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                if self.failing() {
                    let _ = self.check(&db).await;
                }
            }
        })
    }
}

fn e_cause(e: &Error) -> &dyn std::fmt::Display {
    match e {
        Error::Db(db) => db,
        other => other,
    }
}

/// One write transaction through [`crate::db::begin_write`]: a new row with a few pages of
/// random bytes (so it needs new pages, as real writes do), then the older rows go.
pub async fn probe(db: &DatabaseConnection) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let now = chrono::Utc::now();
    let insert = match backend {
        DbBackend::Postgres => "INSERT INTO storage_probe (checked_at, pad) VALUES ($1, decode(repeat(md5(random()::text), 1024), 'hex'))",
        _ => "INSERT INTO storage_probe (checked_at, pad) VALUES (?, randomblob(16384))",
    };
    let txn = crate::db::begin_write(db).await?;
    txn.execute_raw(Statement::from_sql_and_values(backend, insert, [now.into()])).await?;
    txn.execute_unprepared("DELETE FROM storage_probe WHERE id < (SELECT MAX(id) FROM storage_probe)").await?;
    txn.commit().await
}

/// Free and total bytes of a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpace {
    /// Bytes available to the server's user.
    pub free_bytes: u64,
    /// Size of the filesystem.
    pub total_bytes: u64,
}

impl FreeSpace {
    /// Under 10% or under 1 GiB free.
    pub fn is_low(&self) -> bool {
        self.free_bytes < LOW_SPACE_BYTES || self.free_bytes.saturating_mul(10) < self.total_bytes
    }
}

/// Free space of the filesystem that holds the SQLite database file; `None` on PostgreSQL (its
/// disk belongs to the database server) or when it cannot be read.
pub fn free_space(db: &DatabaseConnection) -> Option<FreeSpace> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let options = db.get_sqlite_connection_pool().connect_options();
    let file = options.get_filename();
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let st = rustix::fs::statvfs(dir.as_path()).ok()?;
    Some(FreeSpace { free_bytes: st.f_bavail.saturating_mul(st.f_frsize), total_bytes: st.f_blocks.saturating_mul(st.f_frsize) })
}

/// The free space of the database's filesystem as Settings shows it to admins; `None` when it
/// is not known (PostgreSQL) and for every other team member (it is not theirs to act on).
pub fn space(db: &DatabaseConnection, actor: &crate::Actor) -> crate::Result<Option<models::StorageSpace>> {
    if actor.require_admin().is_err() {
        return Ok(None);
    }
    Ok(free_space(db).map(|s| models::StorageSpace {
        free_bytes: s.free_bytes,
        total_bytes: s.total_bytes,
        low: s.is_low(),
        summary: format!(
            "{} free of {} ({}%)",
            human_bytes(s.free_bytes),
            human_bytes(s.total_bytes),
            s.free_bytes.saturating_mul(100).checked_div(s.total_bytes).unwrap_or(0)
        ),
    }))
}

/// Bytes in decimal units, one decimal under 10 ("850 MB", "1.2 GB").
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 || v >= 10.0 {
        format!("{} {}", v.round(), UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(850_000_000), "850 MB");
        assert_eq!(human_bytes(1_234_000_000), "1.2 GB");
        assert_eq!(human_bytes(512), "512 B");
    }

    use super::*;

    #[test]
    fn low_space_is_under_a_tenth_or_under_a_gibibyte() {
        let gib = 1024 * 1024 * 1024u64;
        assert!(FreeSpace { free_bytes: gib / 2, total_bytes: 2 * gib }.is_low());
        assert!(FreeSpace { free_bytes: 5 * gib, total_bytes: 100 * gib }.is_low());
        assert!(!FreeSpace { free_bytes: 20 * gib, total_bytes: 100 * gib }.is_low());
    }

    #[test]
    fn one_episode_is_logged_once_and_counted_by_kind() {
        let h = StorageHealth::new();
        h.record(FaultKind::Full, &"database or disk is full");
        h.record(FaultKind::Full, &"database or disk is full");
        h.record(FaultKind::Unavailable, &"disk I/O error");
        assert!(h.failing());
        assert_eq!((h.faults(FaultKind::Full), h.faults(FaultKind::Unavailable), h.episodes()), (2, 1, 1));
    }
}
