//! Telling session caches that something they hold is stale.
//!
//! A session cache (see `auth_axum`'s layer) answers a warm request without the database,
//! so every change that ends a session or changes a user must reach it:
//!
//! - **In this process, at once.** Each [`Database`](crate::Database) has one [`Changes`]:
//!   counters shared by its connections. The storage functions that end sessions or write
//!   users (and the generated `UserStore` writes) bump the user's counter through the
//!   [`DbConn`] they were given, and RBAC changes bump the RBAC counter. A cache entry
//!   remembers the counters it was made at ([`Stamp`]) and is used only while they are
//!   unchanged, so the very next request of this instance sees the change.
//! - **In other processes, within their sync interval.** The same functions append a row
//!   to `auth_revocations` ([`user_changed`]) in the transaction of the change. Each
//!   instance reads the log through a [`Feed`] once per interval, with the RBAC version,
//!   and the feed bumps this process's counters for what it names.
//!
//! Three orderings make this exact rather than nearly so:
//!
//! - **Counters move after the commit.** Inside a [`DbConn::transaction`] the bump waits
//!   for the outermost transaction to end: a request that read the old row between the
//!   bump and the commit would otherwise cache what the change is about to remove.
//! - **The feed bumps the counters too**, not only evicts: a request of this instance that
//!   read the database before another instance's commit, and caches after the feed has
//!   read that commit's row, then finds its stamp stale and caches nothing.
//! - **Ids are not commit order.** An id is taken at insert; a transaction that inserted
//!   id 5 may commit after one that inserted id 6. The feed remembers the ids it skipped
//!   (gaps) and asks for them again until they appear or age out
//!   ([`Feed::new`]'s `gap_life`; a rolled-back insert leaves a gap that never fills).
//!
//! Counters are striped by user id (a bump may also drop other users' entries in the same
//! stripe: a few needless re-reads, never a stale answer).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::db::delete_batch;
use crate::error::Result;
use crate::schema::auth_revocations as r;
use crate::with_conn;

const STRIPES: usize = 256;

/// Most skipped ids a [`Feed`] keeps asking for; past it the oldest are given up (logged).
const MAX_GAPS: usize = 1000;

/// Rows read per query.
const PAGE: i64 = 1000;

/// Change counters of one [`Database`](crate::Database) in this process.
#[derive(Debug)]
pub struct Changes {
    total: AtomicU64,
    everything: AtomicU64,
    rbac: AtomicU64,
    users: [AtomicU64; STRIPES],
    #[cfg(feature = "test-support")]
    pauses: crate::pause::Slot,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            total: AtomicU64::new(0),
            everything: AtomicU64::new(0),
            rbac: AtomicU64::new(0),
            users: std::array::from_fn(|_| AtomicU64::new(0)),
            #[cfg(feature = "test-support")]
            pauses: crate::pause::Slot::default(),
        }
    }
}

/// The counters a cache entry was made at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    everything: u64,
    rbac: u64,
    user: u64,
}

fn stripe(user_id: i64) -> usize {
    (user_id as u64 % STRIPES as u64) as usize
}

impl Changes {
    /// The counters that concern `user_id` now.
    pub fn stamp(&self, user_id: i64) -> Stamp {
        Stamp {
            everything: AtomicU64::load(&self.everything, Ordering::SeqCst),
            rbac: AtomicU64::load(&self.rbac, Ordering::SeqCst),
            user: AtomicU64::load(&self.users[stripe(user_id)], Ordering::SeqCst),
        }
    }

    /// How many changes were counted so far (of any kind): take it before reading what a
    /// cache entry will hold, then make the entry's stamp with [`Changes::stamp_since`].
    pub fn total(&self) -> u64 {
        AtomicU64::load(&self.total, Ordering::SeqCst)
    }

    /// The stamp of `user_id` now, if no change at all was counted since `before` (from
    /// [`Changes::total`]); `None` when one was: what was read in between may predate it,
    /// so it must not be cached.
    pub fn stamp_since(&self, user_id: i64, before: u64) -> Option<Stamp> {
        // The stamp first, the total after; a bump counts the total first, then its
        // counter. So a bump the stamp saw is seen by the total check.
        let stamp = self.stamp(user_id);
        (self.total() == before).then_some(stamp)
    }

    /// Whether nothing concerning `user_id` changed since `stamp` was taken.
    pub fn is_current(&self, user_id: i64, stamp: Stamp) -> bool {
        self.stamp(user_id) == stamp
    }

    /// A session of `user_id` ended or the user changed.
    pub fn bump_user(&self, user_id: i64) {
        self.total.fetch_add(1, Ordering::SeqCst);
        self.users[stripe(user_id)].fetch_add(1, Ordering::SeqCst);
    }

    /// Roles, permissions or their assignments changed.
    pub fn bump_rbac(&self) {
        self.total.fetch_add(1, Ordering::SeqCst);
        self.rbac.fetch_add(1, Ordering::SeqCst);
    }

    /// Anything may have changed (a cache that fell behind its log).
    pub fn bump_everything(&self) {
        self.total.fetch_add(1, Ordering::SeqCst);
        self.everything.fetch_add(1, Ordering::SeqCst);
    }

    /// Waits at a test pause point, when a test set one (feature `test-support`); does
    /// nothing otherwise.
    #[doc(hidden)]
    #[inline]
    pub async fn pause(&self, point: crate::pause::Point) {
        #[cfg(feature = "test-support")]
        self.pauses.wait(point).await;
        #[cfg(not(feature = "test-support"))]
        let _ = point;
    }

    /// Sets the function that test pause points call (replacing any).
    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn set_pauses(&self, pauses: crate::pause::PauseFn) {
        self.pauses.set(pauses);
    }
}

/// Records that the sessions of `user_id` ended or the user changed: this process's caches
/// at once, other instances through `auth_revocations`. Call it in the transaction of the
/// change when there is one.
///
/// This process's counter moves once the change is committed: at once outside a
/// transaction, when the outermost [`DbConn::transaction`] ends inside one.
pub async fn user_changed(conn: &mut DbConn, user_id: i64) -> Result<()> {
    let now = crate::session::now();
    with_conn!(conn, |c| {
        diesel::insert_into(r::table)
            .values((r::user_id.eq(user_id), r::created_at.eq(now)))
            .execute(c)
            .await
    })?;
    conn.user_changed(user_id);
    Ok(())
}

/// The rows after `after_id` or among `gaps`, oldest first, at most [`PAGE`]:
/// `(id, user_id)`.
async fn rows(conn: &mut DbConn, after_id: i64, gaps: &[i64]) -> Result<Vec<(i64, i64)>> {
    Ok(with_conn!(conn, |c| {
        let mut query = r::table
            .filter(r::id.gt(after_id))
            .order(r::id.asc())
            .limit(PAGE)
            .select((r::id, r::user_id))
            .into_boxed();
        if !gaps.is_empty() {
            query = query.or_filter(r::id.eq_any(gaps));
        }
        query.load(c).await
    })?)
}

/// What one read of the feed heard.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Heard {
    /// The users named by new rows.
    pub users: HashSet<i64>,
    /// Whether the RBAC version moved.
    pub rbac: bool,
}

/// One instance's reader of the revocation log and the RBAC version.
///
/// [`Feed::read`] returns what changed since the last read and bumps this process's
/// counters for it ([`Changes`]), so that no cache entry made from an earlier read of the
/// database stays current. See the module docs for why it tracks gaps.
#[derive(Debug)]
pub struct Feed {
    last_id: i64,
    rbac_version: i64,
    /// Skipped ids, with when they were first missed.
    gaps: BTreeMap<i64, Instant>,
    gap_life: Duration,
}

impl Feed {
    /// A feed that starts where the log and the RBAC version stand now. A skipped id is
    /// asked for again during `gap_life`: longer than any transaction that writes a
    /// revocation stays open.
    pub async fn new(conn: &mut DbConn, gap_life: Duration) -> Result<Feed> {
        Ok(Feed {
            last_id: latest_id(conn).await?,
            rbac_version: crate::rbac::query::version(conn).await?,
            gaps: BTreeMap::new(),
            gap_life,
        })
    }

    /// Reads the rows committed since the last read (new ones and skipped ones that
    /// appeared) and the RBAC version, and bumps this process's counters for them.
    pub async fn read(&mut self, conn: &mut DbConn) -> Result<Heard> {
        let mut heard = Heard::default();
        self.forget_old_gaps(Instant::now());
        loop {
            let gaps: Vec<i64> = self.gaps.keys().copied().collect();
            let rows = rows(conn, self.last_id, &gaps).await?;
            let full = rows.len() as i64 >= PAGE;
            self.note(&rows, Instant::now());
            heard.users.extend(rows.iter().map(|&(_, user)| user));
            if !full {
                break;
            }
        }
        let version = crate::rbac::query::version(conn).await?;
        heard.rbac = std::mem::replace(&mut self.rbac_version, version) != version;
        let changes = conn.changes();
        for &user in &heard.users {
            changes.bump_user(user);
        }
        if heard.rbac {
            changes.bump_rbac();
        }
        Ok(heard)
    }

    /// Takes `rows` (id order) in: fills the gaps they close, opens the ones they skip.
    fn note(&mut self, rows: &[(i64, i64)], now: Instant) {
        for &(id, _) in rows {
            if self.gaps.remove(&id).is_some() {
                continue;
            }
            if id > self.last_id {
                // The nearest skipped ids are the likeliest to be in flight.
                let from = (self.last_id + 1).max(id - MAX_GAPS as i64);
                for skipped in from..id {
                    self.gaps.insert(skipped, now);
                }
                self.last_id = id;
            }
        }
        while self.gaps.len() > MAX_GAPS {
            if let Some((id, _)) = self.gaps.pop_first() {
                tracing::warn!(id, "revocation log: too many skipped ids; giving one up");
            }
        }
    }

    /// Gives up the gaps older than the gap life (a rolled-back insert never fills).
    fn forget_old_gaps(&mut self, now: Instant) {
        let life = self.gap_life;
        self.gaps
            .retain(|_, first| now.saturating_duration_since(*first) < life);
    }

    /// The skipped ids still asked for.
    pub fn gaps(&self) -> usize {
        self.gaps.len()
    }
}

/// The newest row's id (0 when there is none): where a new cache starts reading.
pub async fn latest_id(conn: &mut DbConn) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        r::table
            .select(diesel::dsl::max(r::id))
            .first::<Option<i64>>(c)
            .await
    })?
    .unwrap_or(0))
}

/// Deletes rows made before `before`, at most `batch`; returns how many.
pub async fn cleanup(conn: &mut DbConn, before: PrimitiveDateTime, batch: i64) -> Result<usize> {
    delete_batch!(conn, r, r::created_at.lt(before), batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_counters() {
        let c = Changes::default();
        let a = c.stamp(1);
        assert!(c.is_current(1, a));
        c.bump_user(2);
        assert!(c.is_current(1, a), "another stripe");
        c.bump_user(1);
        assert!(!c.is_current(1, a));
        let b = c.stamp(1);
        c.bump_rbac();
        assert!(!c.is_current(1, b));
        let d = c.stamp(7);
        c.bump_everything();
        assert!(!c.is_current(7, d));
        let before = c.total();
        assert!(c.stamp_since(3, before).is_some());
        c.bump_user(99);
        assert!(
            c.stamp_since(3, before).is_none(),
            "a change in between: do not cache"
        );
    }

    fn feed() -> Feed {
        Feed {
            last_id: 10,
            rbac_version: 0,
            gaps: BTreeMap::new(),
            gap_life: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_late_commit_is_read_through_its_gap() {
        let mut f = feed();
        let t0 = Instant::now();
        // Ids 11 and 12 are in flight when 13 commits.
        f.note(&[(13, 1)], t0);
        assert_eq!(f.last_id, 13);
        assert_eq!(f.gaps.keys().copied().collect::<Vec<_>>(), [11, 12]);
        // 12 commits: the gap closes, the last id stays.
        f.note(&[(12, 2), (14, 3)], t0);
        assert_eq!(f.last_id, 14);
        assert_eq!(f.gaps.keys().copied().collect::<Vec<_>>(), [11]);
        // 11 was rolled back: it is given up after the gap life.
        f.forget_old_gaps(t0 + Duration::from_secs(61));
        assert_eq!(f.gaps(), 0);
    }

    #[test]
    fn gaps_are_bounded() {
        let mut f = feed();
        f.note(&[(1_000_000, 1)], Instant::now());
        assert_eq!(f.gaps(), MAX_GAPS);
        assert_eq!(f.gaps.keys().next(), Some(&(1_000_000 - MAX_GAPS as i64)));
        f.note(&[(1_000_005, 1)], Instant::now());
        assert_eq!(f.gaps(), MAX_GAPS, "the oldest are given up");
        assert!(f.gaps.contains_key(&1_000_004));
    }
}
