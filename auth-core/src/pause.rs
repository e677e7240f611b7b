//! Pause points for tests of orderings (feature `test-support` sets them; without it a
//! point costs nothing).
//!
//! A race between two instances (a commit and another instance's read, say) cannot be
//! tested with sleeps without being flaky. Instead the code names the points where the
//! order matters, and a test installs a function (`Database::set_pauses`, feature `test-support`) that
//! each point awaits: it can hold one party at its point until the other has passed its
//! own.

/// A place where the order of events matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Point {
    /// A transaction that ends a session or changes a user (the first such user given) is
    /// about to commit.
    Commit {
        /// The first user the transaction changed.
        user_id: i64,
    },
    /// A session cache read the revocation log (once per sync interval).
    Polled,
    /// A cache hit's background write (a session's idle-expiry touch, a key's recorded
    /// use) of `user_id`'s credential is done, and its outcome acted on.
    Written {
        /// The user the credential belongs to.
        user_id: i64,
    },
    /// The background purge of expired rows ran once.
    Purged,
    /// A request read a credential of `user_id` from the database and is about to cache
    /// it.
    Resolved {
        /// The user the credential belongs to.
        user_id: i64,
    },
}

/// The function a pause point awaits.
#[cfg(feature = "test-support")]
pub type PauseFn = std::sync::Arc<
    dyn Fn(Point) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// Where a [`crate::Database`] keeps its pause function.
#[cfg(feature = "test-support")]
#[derive(Default)]
pub(crate) struct Slot(std::sync::RwLock<Option<PauseFn>>);

#[cfg(feature = "test-support")]
impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

#[cfg(feature = "test-support")]
impl Slot {
    pub(crate) fn set(&self, pauses: PauseFn) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(pauses);
        }
    }

    pub(crate) async fn wait(&self, point: Point) {
        let waiting = self
            .0
            .read()
            .ok()
            .and_then(|slot| slot.as_ref().map(|f| f(point)));
        if let Some(waiting) = waiting {
            waiting.await;
        }
    }
}
