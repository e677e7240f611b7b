//! Effective grants cached per (user, scope), tagged with the RBAC version they were
//! computed at.
//!
//! A lookup compares the cached version with the current one (read with the session); a
//! mismatch recomputes. So a change made through [`super::manage`] on any instance is seen
//! by every instance on its next request, and nothing is ever served from a stale version.
//! The cache is concurrent (moka, sharded, no global lock) and bounded (LRU-ish eviction).

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
    fn default() -> Self {
        GrantCache::new(10_000)
    }
}

impl GrantCache {
    /// A cache holding at most `capacity` (user, scope) entries; entries unused for ten
    /// minutes are dropped.
    pub fn new(capacity: u64) -> Self {
        GrantCache {
            inner: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
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
