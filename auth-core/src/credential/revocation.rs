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
//!   instance reads the rows after the last one it saw ([`since`]) and the RBAC version
//!   once per interval, and evicts what they name.
//!
//! Counters are striped by user id (a bump may also drop other users' entries in the same
//! stripe: a few needless re-reads, never a stale answer).

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::db::delete_batch;
use crate::error::Result;
use crate::schema::auth_revocations as r;
use crate::with_conn;

const STRIPES: usize = 256;

/// Change counters of one [`Database`](crate::Database) in this process.
#[derive(Debug)]
pub struct Changes {
    total: AtomicU64,
    everything: AtomicU64,
    rbac: AtomicU64,
    users: [AtomicU64; STRIPES],
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            total: AtomicU64::new(0),
            everything: AtomicU64::new(0),
            rbac: AtomicU64::new(0),
            users: std::array::from_fn(|_| AtomicU64::new(0)),
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
}

/// Records that the sessions of `user_id` ended or the user changed: this process's caches
/// at once, other instances through `auth_revocations`. Call it in the transaction of the
/// change when there is one.
pub async fn user_changed(conn: &mut DbConn, user_id: i64) -> Result<()> {
    conn.changes().bump_user(user_id);
    let now = crate::session::now();
    with_conn!(conn, |c| {
        diesel::insert_into(r::table)
            .values((r::user_id.eq(user_id), r::created_at.eq(now)))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// The rows after `after_id`, oldest first, at most `limit`: `(id, user_id)`.
pub async fn since(conn: &mut DbConn, after_id: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
    Ok(with_conn!(conn, |c| {
        r::table
            .filter(r::id.gt(after_id))
            .order(r::id.asc())
            .limit(limit)
            .select((r::id, r::user_id))
            .load(c)
            .await
    })?)
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
}
