//! **Tracking**: links and clicks (this file), conversions with attribution, refunds and their
//! ledger entries ([`conversions`]), the per-partner 90-day stats ([`partner_stats`]) and CSV
//! imports of partners and conversions ([`imports`]).
//!
//! Tracking links and clicks. The redirect must not wait on the database: link codes are
//! cached in memory and clicks are buffered and written in batches (with their rollups)
//! within a second, and once more on shutdown.

pub mod conversions;
pub mod import_rows;
pub mod imports;
pub mod partner_stats;
pub mod refunds;

use crate::entities::{click, link, partner};
use crate::programs;
use crate::rollups::{self, Delta};
use crate::{Clock, Error, Result};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Clicks from one IP inside a minute above which they are flagged as a burst.
pub const BURST_CLICKS_PER_MINUTE: u32 = 30;

/// Characters of link codes: unambiguous letters and digits.
const CODE_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| alphabet[rng.random_range(0..alphabet.len())] as char).collect()
}

/// A new click id (about 100 random bits).
pub fn new_click_id() -> String {
    random_string(b"abcdefghijklmnopqrstuvwxyz234567", 20)
}

/// A new visitor id for the `trellis_vid` cookie.
pub fn new_visitor_id() -> String {
    random_string(b"abcdefghijklmnopqrstuvwxyz234567", 26)
}

/// True when `vid` has the shape of a visitor id we issued (anything else is replaced).
pub fn is_visitor_id(vid: &str) -> bool {
    vid.len() == 26 && vid.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// A link as created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedLink {
    /// Row id.
    pub id: i64,
    /// The short code.
    pub code: String,
    /// The tracking URL (`{public_url}/r/{code}`).
    pub url: String,
    /// Where it leads.
    pub destination: String,
}

/// Creates a tracking link for a partner, on behalf of a team member: relationship owners only
/// for the partners they own, program managers only in the programs they manage (admins
/// anywhere). Then as [`create_link`].
pub async fn create_link_for(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &crate::Actor,
    public_url: &str,
    partner_id: i64,
    program_id: i64,
    destination: Option<&str>,
) -> Result<CreatedLink> {
    actor.require_any(&[models::Role::ProgramManager, models::Role::RelationshipOwner])?;
    let p = crate::db::find_in_account(db, partner::Column::AccountId, actor.account_id, partner_id, "partner").await?;
    let owner = actor.has_any(&[models::Role::RelationshipOwner]) && p.owner_user_id == Some(actor.user_id);
    let manager = crate::programs::settings::can_edit(db, actor, program_id).await?;
    if !(owner || manager) {
        return Err(Error::Forbidden);
    }
    create_link(db, clock, actor.account_id, public_url, partner_id, program_id, destination).await
}

/// Creates a tracking link for a partner's enrollment in a program. The destination defaults to
/// the program's website and must be an http(s) URL on an allowed host (no open redirect).
pub async fn create_link(
    db: &DatabaseConnection,
    clock: &Clock,
    account_id: i64,
    public_url: &str,
    partner_id: i64,
    program_id: i64,
    destination: Option<&str>,
) -> Result<CreatedLink> {
    let program = programs::load(db, account_id, program_id).await?;
    program.require_open()?;
    crate::db::find_in_account(db, partner::Column::AccountId, account_id, partner_id, "partner").await?;
    let e = crate::db::enrollment_of(db, partner_id, program_id)
        .await?
        .ok_or_else(|| Error::invalid("partner_id", "the partner is not enrolled in this program"))?;
    if e.status != "active" {
        return Err(Error::invalid("partner_id", format!("the enrollment is {}; links are for active partners only", e.status)));
    }
    let destination = destination.map(str::trim).filter(|d| !d.is_empty()).unwrap_or(&program.row.website).to_string();
    let (url, host) = programs::parse_web_url("destination", &destination)?;
    if !program.allows_host(&host) {
        return Err(Error::invalid("destination", format!("{host} is not one of the program's allowed domains ({})", program.hosts.join(", "))));
    }
    let destination = url.to_string();
    for _ in 0..8 {
        let code = random_string(CODE_ALPHABET, 8);
        let saved = link::ActiveModel {
            account_id: Set(account_id),
            program_id: Set(program_id),
            enrollment_id: Set(e.id),
            partner_id: Set(partner_id),
            code: Set(code.clone()),
            destination: Set(destination.clone()),
            created_at: Set(clock.now()),
            ..Default::default()
        }
        .insert(db)
        .await;
        match saved {
            Ok(l) => return Ok(CreatedLink { id: l.id, url: format!("{public_url}/r/{code}"), code, destination }),
            Err(err) if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal("could not find a free link code".into()))
}

/// What a link code resolves to, cached.
#[derive(Debug)]
pub struct LinkTarget {
    /// Link row id.
    pub link_id: i64,
    /// Account.
    pub account_id: i64,
    /// Program.
    pub program_id: i64,
    /// Enrollment credited with the click.
    pub enrollment_id: i64,
    /// The stored destination.
    pub destination: url::Url,
}

impl LinkTarget {
    /// The redirect target: the stored destination with `trellis_click` appended. Nothing from
    /// the request goes into it.
    pub fn location(&self, click_id: &str) -> String {
        let mut u = self.destination.clone();
        u.query_pairs_mut().append_pair("trellis_click", click_id);
        u.to_string()
    }
}

/// A click as seen by the redirect.
pub struct ClickMeta<'a> {
    /// The visitor id (cookie).
    pub visitor_id: &'a str,
    /// `Referer`, if any.
    pub referrer: Option<&'a str>,
    /// `User-Agent`, if any.
    pub user_agent: Option<&'a str>,
    /// Client IP.
    pub ip: &'a str,
}

/// The link cache and the click buffer.
pub struct ClickRecorder {
    db: DatabaseConnection,
    clock: Clock,
    links: RwLock<HashMap<String, Option<Arc<LinkTarget>>>>,
    buffer: Mutex<Vec<click::ActiveModel>>,
    /// Most clicks kept while the database cannot take them; beyond it clicks are shed.
    max_buffered: usize,
    /// Clicks shed since start because the buffer was full (on `/metrics`).
    shed: std::sync::atomic::AtomicU64,
    bursts: Mutex<Bursts>,
    bots: isbot::Bots,
    /// Held while a batch is being written, so a flush returns only after every click
    /// buffered before it is in the database (whoever took the batch).
    flushing: tokio::sync::Mutex<()>,
}

/// A batch taken out of the buffer; unless it was written, dropping it (on an error) puts it
/// back, ahead of newer clicks.
struct Unwritten<'a> {
    recorder: &'a ClickRecorder,
    clicks: Option<Vec<click::ActiveModel>>,
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if let Some(batch) = self.clicks.take() {
            let mut buf = self.recorder.buffer.lock().expect("not poisoned");
            let newer = std::mem::take(&mut *buf);
            *buf = batch;
            buf.extend(newer);
        }
    }
}

/// Clicks per address in the current and the previous minute. The two maps swap once a
/// minute, so forgetting old addresses costs nothing per click (no scan of every address).
struct Bursts {
    current: HashMap<String, (Instant, u32)>,
    previous: HashMap<String, (Instant, u32)>,
    rotated: Instant,
}

impl Bursts {
    /// Counts a click of `key`; true when it is over the burst limit of its minute.
    fn count(&mut self, key: &str, now: Instant) -> bool {
        let minute = Duration::from_secs(60);
        if now.duration_since(self.rotated) >= minute {
            self.previous = std::mem::take(&mut self.current);
            self.rotated = now;
        }
        let carried = self.previous.remove(key).filter(|(start, _)| now.duration_since(*start) < minute);
        let entry = self.current.entry(key.to_string()).or_insert_with(|| carried.unwrap_or((now, 0)));
        if now.duration_since(entry.0) >= minute {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 > BURST_CLICKS_PER_MINUTE
    }
}

/// Clicks kept in memory at most while the database is down (about 1 kB each), unless
/// `TRELLIS_MAX_BUFFERED_CLICKS` says otherwise; beyond it, clicks are shed and counted
/// (`trellis_clicks_shed` on `/metrics`) while visitors are still redirected.
pub const MAX_BUFFERED_CLICKS: usize = 200_000;

/// Unknown codes remembered at most, so random probing cannot grow memory without bound.
const NEGATIVE_CACHE: usize = 10_000;

impl ClickRecorder {
    /// A recorder writing to `db`, keeping at most `TRELLIS_MAX_BUFFERED_CLICKS` (default
    /// [`MAX_BUFFERED_CLICKS`]) clicks while the database cannot take them.
    pub fn new(db: DatabaseConnection, clock: Clock) -> Arc<Self> {
        let max = std::env::var("TRELLIS_MAX_BUFFERED_CLICKS").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_BUFFERED_CLICKS);
        Self::with_limit(db, clock, max)
    }

    /// A recorder keeping at most `max_buffered` unwritten clicks.
    pub fn with_limit(db: DatabaseConnection, clock: Clock, max_buffered: usize) -> Arc<Self> {
        Arc::new(Self {
            db,
            clock,
            links: RwLock::new(HashMap::new()),
            buffer: Mutex::new(Vec::new()),
            max_buffered,
            shed: std::sync::atomic::AtomicU64::new(0),
            bursts: Mutex::new(Bursts { current: HashMap::new(), previous: HashMap::new(), rotated: Instant::now() }),
            bots: isbot::Bots::default(),
            flushing: tokio::sync::Mutex::new(()),
        })
    }

    /// Resolves a code, from memory when it was seen before.
    pub async fn resolve(&self, code: &str) -> Result<Option<Arc<LinkTarget>>> {
        if let Some(hit) = self.links.read().expect("not poisoned").get(code) {
            return Ok(hit.clone());
        }
        if code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let found = link::Entity::find().filter(link::Column::Code.eq(code)).one(&self.db).await?;
        let target = match found {
            Some(l) => Some(Arc::new(LinkTarget {
                link_id: l.id,
                account_id: l.account_id,
                program_id: l.program_id,
                enrollment_id: l.enrollment_id,
                destination: url::Url::parse(&l.destination).map_err(|e| Error::Internal(e.to_string()))?,
            })),
            None => None,
        };
        let mut cache = self.links.write().expect("not poisoned");
        if target.is_none() && cache.len() >= NEGATIVE_CACHE {
            cache.retain(|_, v| v.is_some());
        }
        if target.is_some() || cache.len() < NEGATIVE_CACHE {
            cache.insert(code.to_string(), target.clone());
        }
        Ok(target)
    }

    /// Forgets a cached code (a link created after a miss on the same code).
    pub fn forget(&self, code: &str) {
        self.links.write().expect("not poisoned").remove(code);
    }

    /// Records a click in the buffer and returns its id. Bots and bursts are flagged here.
    pub fn record(&self, target: &LinkTarget, meta: ClickMeta<'_>) -> String {
        let id = new_click_id();
        let ip_hash = hex::encode(Sha256::digest(format!("trellis-ip:{}", meta.ip).as_bytes()));
        let is_bot = meta.user_agent.is_none_or(|ua| ua.trim().is_empty() || self.bots.is_bot(ua));
        let burst = self.bursts.lock().expect("not poisoned").count(&ip_hash, Instant::now());
        let flag = if is_bot {
            Some("bot".to_string())
        } else if burst {
            Some("click_burst".to_string())
        } else {
            None
        };
        let clip = |s: Option<&str>| s.map(|s| s.chars().take(1000).collect::<String>());
        let row = click::ActiveModel {
            id: Set(id.clone()),
            account_id: Set(target.account_id),
            program_id: Set(target.program_id),
            link_id: Set(target.link_id),
            enrollment_id: Set(target.enrollment_id),
            visitor_id: Set(meta.visitor_id.to_string()),
            at: Set(self.clock.now()),
            referrer: Set(clip(meta.referrer)),
            user_agent: Set(clip(meta.user_agent)),
            ip_hash: Set(ip_hash),
            is_bot: Set(is_bot),
            flag: Set(flag),
        };
        let mut buffer = self.buffer.lock().expect("not poisoned");
        if buffer.len() >= self.max_buffered {
            drop(buffer);
            self.shed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return id;
        }
        buffer.push(row);
        id
    }

    /// Clicks shed since start because the buffer was full.
    pub fn shed(&self) -> u64 {
        self.shed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Clicks waiting in the buffer.
    pub fn pending(&self) -> usize {
        self.buffer.lock().expect("not poisoned").len()
    }

    /// Writes every buffered click and its rollups in one transaction; on failure the clicks go
    /// back into the buffer for the next attempt. The write runs as its own task, so a caller
    /// that is cancelled (a dropped request) never interrupts it half-way: a write either
    /// commits or puts its clicks back, and no click is lost or written twice.
    pub async fn flush(self: &Arc<Self>) -> Result<usize> {
        let me = self.clone();
        tokio::spawn(async move { me.flush_now().await }).await.map_err(|e| Error::Internal(format!("click flush task: {e}")))?
    }

    async fn flush_now(&self) -> Result<usize> {
        let _writing = self.flushing.lock().await;
        let taken = std::mem::take(&mut *self.buffer.lock().expect("not poisoned"));
        if taken.is_empty() {
            return Ok(0);
        }
        let mut batch = Unwritten { recorder: self, clicks: Some(taken) };
        let n = batch.clicks.as_ref().map_or(0, Vec::len);
        self.write(batch.clicks.as_deref().unwrap_or_default()).await?;
        batch.clicks = None;
        Ok(n)
    }

    async fn write(&self, batch: &[click::ActiveModel]) -> Result<()> {
        let mut per_day: HashMap<(i64, i64, i64, chrono::NaiveDate), i64> = HashMap::new();
        for c in batch {
            let key = (*c.account_id.as_ref(), *c.program_id.as_ref(), *c.enrollment_id.as_ref(), c.at.as_ref().date_naive());
            *per_day.entry(key).or_default() += 1;
        }
        let txn = crate::db::begin_write(&self.db).await?;
        // 12 columns a row: 2,000 rows stay under SQLite's and PostgreSQL's parameter limits.
        for chunk in batch.chunks(2000) {
            click::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
        }
        for ((account_id, program_id, enrollment_id, day), clicks) in per_day {
            rollups::add(&txn, account_id, program_id, enrollment_id, day, Delta { clicks, ..Default::default() }).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Flushes every `period` until `stop` turns true; a flush under way always completes
    /// (never cancelled mid-write), so stopping loses nothing. A flush refused by a storage fault
    /// goes to `storage` (logged once per episode) instead of a warning every period.
    pub fn spawn_flusher(
        self: Arc<Self>,
        period: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
        storage: Option<Arc<crate::storage::StorageHealth>>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => {}
                }
                if let Err(e) = self.flush().await {
                    if storage.as_ref().and_then(|s| s.record_error(&e)).is_none() {
                        tracing::warn!(error = %e, pending = self.pending(), "click flush failed; will retry");
                    }
                }
                if *stop.borrow() {
                    return;
                }
            }
        })
    }
}

/// A partner's links with clicks and conversions, newest first. Partner users see their own;
/// team members any partner of the account.
pub async fn links_of(db: &DatabaseConnection, actor: &crate::Actor, partner_id: i64, public_url: &str) -> Result<Vec<models::LinkRow>> {
    use crate::entities::{conversion, program};
    use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect, QueryTrait};
    match actor.partner_id {
        Some(own) if own != partner_id => return Err(Error::NotFound("partner")),
        Some(_) => {}
        None => actor.require_team()?,
    }
    let links = link::Entity::find()
        .filter(link::Column::AccountId.eq(actor.account_id))
        .filter(link::Column::PartnerId.eq(partner_id))
        .order_by_desc(link::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let programs: HashMap<i64, String> =
        crate::db::names(db, (program::Column::Id, program::Column::Name), program::Column::AccountId.eq(actor.account_id), program::Column::Id)
            .await?;
    let mut out = Vec::with_capacity(links.len());
    for l in links {
        let clicks = click::Entity::find().filter(click::Column::LinkId.eq(l.id)).count(db).await?;
        let through_link = click::Entity::find().select_only().column(click::Column::Id).filter(click::Column::LinkId.eq(l.id)).into_query();
        let conversions = conversion::Entity::find()
            .filter(conversion::Column::ClickId.in_subquery(through_link))
            .filter(conversion::Column::Status.eq("attributed"))
            .count(db)
            .await?;
        out.push(models::LinkRow {
            url: format!("{public_url}/r/{}", l.code),
            code: l.code,
            destination: l.destination,
            program: programs.get(&l.program_id).cloned().unwrap_or_default(),
            clicks,
            conversions,
            created: l.created_at.format("%Y-%m-%d").to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_location_is_the_stored_destination_plus_the_click_id() {
        let t = LinkTarget {
            link_id: 1,
            account_id: 1,
            program_id: 1,
            enrollment_id: 1,
            destination: url::Url::parse("https://shop.example/p?x=1#top").unwrap(),
        };
        assert_eq!(t.location("abc"), "https://shop.example/p?x=1&trellis_click=abc#top");
    }

    #[test]
    fn visitor_ids_are_recognised_by_shape() {
        assert!(is_visitor_id(&new_visitor_id()));
        assert!(!is_visitor_id("../../etc"));
    }

    #[tokio::test]
    async fn a_full_buffer_sheds_clicks_and_counts_them() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let r = ClickRecorder::with_limit(db, Clock::system(), 3);
        let t =
            LinkTarget { link_id: 1, account_id: 1, program_id: 1, enrollment_id: 1, destination: url::Url::parse("https://shop.example/").unwrap() };
        let ids: Vec<String> = (0..5)
            .map(|i| r.record(&t, ClickMeta { visitor_id: "v", referrer: None, user_agent: Some("Mozilla/5.0"), ip: &format!("10.0.0.{i}") }))
            .collect();
        assert_eq!(ids.len(), 5, "every visitor still gets a click id and the redirect");
        assert_eq!((r.pending(), r.shed()), (3, 2));
    }

    #[test]
    fn bursts_count_per_minute_and_old_addresses_go_without_a_scan() {
        let t0 = Instant::now();
        let mut b = Bursts { current: HashMap::new(), previous: HashMap::new(), rotated: t0 };
        for _ in 0..BURST_CLICKS_PER_MINUTE {
            assert!(!b.count("a", t0));
        }
        assert!(b.count("a", t0 + Duration::from_secs(59)), "one over the limit inside the minute");
        let t1 = t0 + Duration::from_secs(61);
        assert!(!b.count("a", t1), "a new minute starts over");
        for i in 0..1000 {
            b.count(&i.to_string(), t1);
        }
        // Two rotations later the addresses of that minute are gone, without a sweep.
        b.count("x", t1 + Duration::from_secs(61));
        b.count("y", t1 + Duration::from_secs(122));
        assert_eq!(b.current.len() + b.previous.len(), 2);
    }
}
