//! Effective grants cached per (user, scope), tagged with the RBAC version they were
//! computed at.
//!
//! A lookup compares the cached version with the current one (read with the session); a
//! mismatch recomputes. So a change made through [`super::manage`] on any instance is seen
//! by every instance on its next request, and nothing is ever served from a stale version.
//! The cache is concurrent (moka, sharded, no global lock) and bounded by the memory its
//! entries hold (estimated per entry from its scope, role names and permission codes), so
//! users with hundreds of permissions, or many scopes, cannot grow it past its budget.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::query::{Grants, grants};
use crate::db::DbConn;
use crate::error::Result;

/// The grants cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct GrantCache {
    inner: Cache<(i64, Option<String>), (i64, Arc<Grants>)>,
}

impl std::fmt::Debug for GrantCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantCache")
            .field("entries", &self.inner.entry_count())
            .finish()
    }
}

impl Default for GrantCache {
    /// 16 MiB.
    fn default() -> Self {
        GrantCache::new(16 * 1024 * 1024)
    }
}

/// The bookkeeping of one entry beside its texts: the key, the version, the `Arc`, the two
/// sets' nodes (moka's own per-entry overhead is about as much again).
const ENTRY_OVERHEAD: usize = 160;

/// The estimated memory of one entry: its fixed part, the scope, and each name with a set
/// node (about 48 bytes: the `String` and its share of a B-tree node).
fn weight(key: &(i64, Option<String>), grants: &Grants) -> u32 {
    let texts: usize = grants
        .roles
        .iter()
        .chain(grants.permissions.iter())
        .map(|name| name.len() + 48)
        .sum();
    let scope = key.1.as_ref().map_or(0, String::len);
    u32::try_from(ENTRY_OVERHEAD + scope + texts).unwrap_or(u32::MAX)
}

impl GrantCache {
    /// A cache holding at most about `max_bytes` of grants (estimated per entry); entries
    /// unused for ten minutes are dropped.
    pub fn new(max_bytes: u64) -> Self {
        GrantCache {
            inner: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key, (_, grants): &(i64, Arc<Grants>)| weight(key, grants))
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The estimated memory held now (after moka's pending housekeeping).
    pub fn weighted_bytes(&self) -> u64 {
        self.inner.run_pending_tasks();
        self.inner.weighted_size()
    }

    /// The cached grants of `user_id` in `scope` if they were computed at `version`.
    pub fn cached(&self, user_id: i64, scope: Option<&str>, version: i64) -> Option<Arc<Grants>> {
        let key = (user_id, super::lookup_scope(scope).map(str::to_owned));
        match self.inner.get(&key) {
            Some((cached_version, grants)) if cached_version == version => Some(grants),
            _ => None,
        }
    }

    /// The grants of `user_id` in `scope` at RBAC version `version`: from the cache when
    /// computed at that version, else from the database (and cached).
    pub async fn get(
        &self,
        conn: &mut DbConn,
        user_id: i64,
        scope: Option<&str>,
        version: i64,
    ) -> Result<Arc<Grants>> {
        if let Some(grants) = self.cached(user_id, scope, version) {
            return Ok(grants);
        }
        // A scope past the columns' width holds the global grants: one key for them all,
        // so long paths cannot fill the cache with entries of their own.
        let scope = super::lookup_scope(scope);
        let key = (user_id, scope.map(str::to_owned));
        let fresh = Arc::new(grants(conn, user_id, scope).await?);
        self.inner.insert(key, (version, fresh.clone()));
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn grants(n: usize, len: usize) -> Arc<Grants> {
        Arc::new(Grants {
            roles: BTreeSet::from(["member".to_owned()]),
            permissions: (0..n).map(|i| format!("{i:0len$}")).collect(),
        })
    }

    #[test]
    fn the_budget_holds_in_bytes_whatever_the_entries_weigh() {
        let budget = 256 * 1024;
        let cache = GrantCache::new(budget);
        // Heavy entries: 300 permissions of 180 characters, about 68 KB each.
        for user in 0..50 {
            cache
                .inner
                .insert((user, Some("x".repeat(190))), (1, grants(300, 180)));
        }
        assert!(
            cache.weighted_bytes() <= budget,
            "{} > {budget}",
            cache.weighted_bytes()
        );
        assert!(cache.inner.entry_count() <= 4);
        // Light entries: many fit in the same budget.
        let cache = GrantCache::new(budget);
        for user in 0..500 {
            cache.inner.insert((user, None), (1, grants(2, 12)));
        }
        assert!(cache.weighted_bytes() <= budget);
        assert!(cache.inner.entry_count() >= 400);
    }
}
