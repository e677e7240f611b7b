//! The resolved-session cache: a warm authenticated request does no database work.
//!
//! Keyed by the SHA-256 of the session token (raw, so a hit encodes nothing), an entry is
//! the request's [`Resolution`]: the user, the session and the RBAC version read with them,
//! the [`auth_core::revocation::Stamp`] of this process's change counters at the time of
//! the read, and the user's global grants once a guard loaded them. An entry is used only
//! while
//!
//! - nothing that concerns its user changed in this process since (logout, revocation,
//!   password change or reset, deactivation, any user edit, any RBAC change: the storage
//!   functions bump the counters of their [`auth_core::Database`]), and
//! - the session has not expired (idle or absolute).
//!
//! Other instances sharing the database are heard from by a background task that reads
//! `auth_revocations` and the RBAC version once per [`SessionCacheConfig::sync_interval`]
//! (one small query pair per interval per instance, not per request) through an
//! [`auth_core::revocation::Feed`], which bumps this process's counters for what it names
//! (so a request that read the database before that change cannot cache its read), and
//! evicts those entries. The sliding-expiry touch of a cached session is written in the
//! background, at most once per [`auth_core::session::SessionConfig::touch_interval`]; a
//! touch that finds the session gone counts as its revocation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use auth_core::pause::Point;
use auth_core::revocation::{self, Feed};
use auth_core::{Database, UserStore};
use time::PrimitiveDateTime;

use crate::credential::{self, Kind};
use crate::extract::CurrentUser;
use crate::resolution::Resolution;
use auth_core::Credential;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use tokio::sync::OnceCell;

/// Settings of the resolved-session cache ([`crate::HttpConfig::session_cache`]).
#[derive(Debug, Clone)]
pub struct SessionCacheConfig {
    /// How long another instance's change may go unseen here: the cache reads the
    /// revocation log and the RBAC version once per interval. Default 1 s.
    /// `Duration::ZERO` turns the cache off: every request reads the database.
    pub sync_interval: Duration,
    /// Most entries (sessions and API keys) held (default 100,000): every entry weighs at
    /// least `max_bytes / max_entries`, so the cache evicts (the coldest first) rather than
    /// grow past either bound.
    pub max_entries: u64,
    /// Most memory held, estimated per entry from the user's serialized size plus the
    /// credential's (default 64 MiB).
    pub max_bytes: u64,
    /// How long revocation rows are kept before the cache deletes them (default 10
    /// minutes). An instance that could not read the log for half of it drops its whole
    /// cache rather than miss a row.
    pub retention: Duration,
}

impl Default for SessionCacheConfig {
    fn default() -> Self {
        SessionCacheConfig {
            sync_interval: Duration::from_secs(1),
            max_entries: 100_000,
            max_bytes: 64 * 1024 * 1024,
            retention: Duration::from_secs(600),
        }
    }
}

impl SessionCacheConfig {
    /// No cache: every authenticated request reads the session from the database.
    pub fn disabled() -> Self {
        SessionCacheConfig {
            sync_interval: Duration::ZERO,
            ..SessionCacheConfig::default()
        }
    }

    /// Whether the cache is on.
    pub fn enabled(&self) -> bool {
        !self.sync_interval.is_zero()
    }
}

/// The cache's key: the raw SHA-256 of the session token
/// ([`auth_core::session::token_digest`]).
pub(crate) type Digest = [u8; 32];

/// A cached resolution with its estimated memory (computed once, at insertion: the cache
/// weighs entries while evicting).
struct Cached<U> {
    resolution: Arc<Resolution<U>>,
    bytes: u32,
}

impl<U> Clone for Cached<U> {
    fn clone(&self) -> Self {
        Cached {
            resolution: self.resolution.clone(),
            bytes: self.bytes,
        }
    }
}

/// Weighs an entry by its estimated memory.
#[derive(Clone, Copy)]
struct ByBytes;

impl<U> Weighter<Digest, Cached<U>> for ByBytes {
    fn weight(&self, _key: &Digest, entry: &Cached<U>) -> u64 {
        u64::from(entry.bytes)
    }
}

/// Counters for the hit rate.
#[derive(Debug, Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The cache of one [`crate::Auth`].
pub(crate) struct SessionCache<U> {
    entries: Cache<Digest, Cached<U>, ByBytes>,
    config: SessionCacheConfig,
    stats: Stats,
    /// When the log was last read.
    last_ok: std::sync::Mutex<Instant>,
    started: OnceCell<()>,
}

impl<U: UserStore> SessionCache<U> {
    /// A cache for `config`, or `None` when it is off.
    pub(crate) fn new(config: &SessionCacheConfig) -> Option<Arc<SessionCache<U>>> {
        if !config.enabled() {
            return None;
        }
        // Sized for the expected number of entries (about 1.3 KB each), at most max_entries.
        let expected = (config.max_bytes / 1024).clamp(16, config.max_entries.max(16));
        let entries = Cache::with_weighter(
            usize::try_from(expected).unwrap_or(usize::MAX),
            config.max_bytes,
            ByBytes,
        );
        Some(Arc::new(SessionCache {
            entries,
            config: config.clone(),
            stats: Stats::default(),
            last_ok: std::sync::Mutex::new(Instant::now()),
            started: OnceCell::new(),
        }))
    }

    /// The cached resolution of `digest`, presented as `kind`, at `now`, if it is still
    /// good.
    pub(crate) fn get(
        &self,
        db: &Database,
        digest: &Digest,
        kind: Kind,
        now: PrimitiveDateTime,
    ) -> Option<Arc<Resolution<U>>> {
        let found = self.entries.get(digest).map(|c| c.resolution).filter(|e| {
            let credential = &e.current.credential;
            credential::kind(credential) == kind
                && db.changes().is_current(credential.user_id(), e.stamp)
                && credential.is_live(now)
        });
        let (counter, outcome) = match &found {
            Some(_) => (&self.stats.hits, "hit"),
            None => (&self.stats.misses, "miss"),
        };
        let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(10_000) {
            self.report(outcome);
        }
        if found.is_none() {
            self.entries.remove(digest);
        }
        found
    }

    /// Logs the hit rate (every 10,000 hits or misses).
    fn report(&self, outcome: &str) {
        let hits = self.stats.hits.load(Ordering::Relaxed);
        let misses = self.stats.misses.load(Ordering::Relaxed);
        tracing::debug!(
            target: "auth_axum::session_cache",
            hits,
            misses,
            entries = self.entries.len(),
            weighted_bytes = self.entries.weight(),
            hit_rate = hits as f64 / (hits + misses).max(1) as f64,
            last = outcome,
            "session cache"
        );
    }

    /// The resolution of `current` read from the database after
    /// [`auth_core::revocation::Changes::total`] was `before`, cached under `digest` unless
    /// anything changed meanwhile (it may predate the change) or the cache is full.
    pub(crate) fn insert(
        &self,
        db: &Database,
        before: u64,
        digest: Digest,
        current: CurrentUser<U>,
        rbac_version: i64,
    ) -> Arc<Resolution<U>> {
        let user_id = current.credential.user_id();
        let Some(stamp) = db.changes().stamp_since(user_id, before) else {
            let stamp = db.changes().stamp(user_id);
            return Arc::new(Resolution::new(current, rbac_version, stamp));
        };
        let resolution = Arc::new(Resolution::new(current, rbac_version, stamp));
        self.put(digest, resolution.clone());
        resolution
    }

    /// Starts (once) the task that reads the revocation log for this cache: the first
    /// call reads where the log stands, so that nothing written after it is missed.
    pub(crate) async fn start(self: &Arc<Self>, db: &Database) -> auth_core::Result<()> {
        self.started
            .get_or_try_init(|| async {
                let mut conn = db.conn().await?;
                // A skipped id is asked for during half the retention: rows older than
                // the retention are deleted anyway.
                let feed = Feed::new(&mut conn, self.config.retention / 2).await?;
                let weak = Arc::downgrade(self);
                tokio::spawn(poll(weak, db.clone(), feed, self.config.sync_interval));
                Ok::<(), auth_core::Error>(())
            })
            .await?;
        Ok(())
    }

    /// One read of the log: evicts the users named since the last read, everything when
    /// the RBAC version moved (the feed has made their stamps stale already; eviction
    /// frees the memory).
    async fn sync_once(&self, db: &Database, feed: &mut Feed, round: u64) -> auth_core::Result<()> {
        let mut conn = db.conn().await?;
        let heard = feed.read(&mut conn).await?;
        if heard.rbac {
            self.entries.clear();
        } else if !heard.users.is_empty() {
            self.entries.retain(|_, e| {
                !heard
                    .users
                    .contains(&e.resolution.current.credential.user_id())
            });
        }
        if let Ok(mut last_ok) = self.last_ok.lock() {
            *last_ok = Instant::now();
        }
        // Now and then, forget rows every instance has had time to read.
        if round.is_multiple_of(64) {
            let retention = time::Duration::try_from(self.config.retention)
                .unwrap_or(time::Duration::MINUTE * 10);
            revocation::cleanup(&mut conn, auth_core::session::now() - retention, 1000).await?;
        }
        Ok(())
    }

    /// After a failed read: drops everything when the log has been out of reach for half
    /// the retention (rows may be deleted before this instance reads them).
    fn fell_behind(&self, db: &Database) {
        let stale = self
            .last_ok
            .lock()
            .map(|t| t.elapsed() > self.config.retention / 2)
            .unwrap_or(true);
        if stale {
            db.changes().bump_everything();
            self.entries.clear();
        }
    }

    /// Caches `resolution` under `digest`, weighed by its estimated memory but never less
    /// than `max_bytes / max_entries`: the cache's one weight bound then holds both limits,
    /// and its eviction (cold entries first, dead ones among them) makes room.
    fn put(&self, digest: Digest, resolution: Arc<Resolution<U>>) {
        let floor = self.config.max_bytes / self.config.max_entries.max(1);
        let floor = u32::try_from(floor).unwrap_or(u32::MAX);
        let bytes = entry_weight(&resolution).max(floor);
        self.entries.insert(digest, Cached { resolution, bytes });
    }
}

impl<U: UserStore + Clone> SessionCache<U> {
    /// Replaces the cached credential of `digest` (after a touch or a recorded use),
    /// keeping the rest; returns the new resolution.
    pub(crate) fn replaced(
        &self,
        digest: Digest,
        entry: &Resolution<U>,
        credential: Credential,
    ) -> Arc<Resolution<U>> {
        let fresh = Arc::new(entry.with_credential(credential));
        self.put(digest, fresh.clone());
        fresh
    }
}

/// The background reader: runs while the cache lives.
async fn poll<U: UserStore>(
    cache: Weak<SessionCache<U>>,
    db: Database,
    mut feed: Feed,
    every: Duration,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate, and `start` has just read where the log stands.
    ticker.tick().await;
    let mut round: u64 = 0;
    loop {
        ticker.tick().await;
        let Some(cache) = cache.upgrade() else { return };
        round += 1;
        if let Err(e) = cache.sync_once(&db, &mut feed, round).await {
            tracing::warn!(error = %e, "session cache: cannot read the revocation log");
            cache.fell_behind(&db);
        }
        drop(cache);
        db.changes().pause(Point::Polled).await;
    }
}

/// The texts of a session.
fn session_bytes(s: &auth_core::session::Session) -> usize {
    s.token_hash.len()
        + s.platform.len()
        + s.ip.as_ref().map_or(0, String::len)
        + s.user_agent.as_ref().map_or(0, String::len)
        + s.session_info.len()
}

/// The estimated memory of an entry: the fixed part, the user as serialized, the
/// session's texts.
fn entry_weight<U: UserStore>(entry: &Resolution<U>) -> u32 {
    let user = serde_json::to_vec(&entry.current.user).map_or(256, |v| v.len());
    let credential = match &entry.current.credential {
        Credential::Session(s) => session_bytes(s),
        Credential::Jwt(t) => session_bytes(&t.session) + t.jti.len() + 64,
        Credential::ApiKey(k) => {
            k.name.len()
                + k.prefix.len()
                + k.permissions
                    .as_ref()
                    .map_or(0, |p| p.iter().map(|c| c.len() + 24).sum())
        }
    };
    // The entry, the shared resolution, the key and the map's own overhead.
    let fixed = std::mem::size_of::<Resolution<U>>() + std::mem::size_of::<CurrentUser<U>>() + 128;
    u32::try_from(fixed + user + credential).unwrap_or(u32::MAX)
}
