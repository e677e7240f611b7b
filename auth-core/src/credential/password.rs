//! Password hashing: bcrypt, off the async executor. No database, no HTTP.
//!
//! - Cost is configurable ([`PasswordHasher::new`]); the default is
//!   [`DEFAULT_BCRYPT_COST`] (12).
//! - bcrypt reads at most 72 bytes. Longer passwords are **refused** with
//!   [`PasswordError::TooLong`] rather than silently truncated (two passwords sharing a
//!   72-byte prefix would otherwise be interchangeable). Set the policy's maximum length to
//!   72 bytes or fewer. A NUL byte is refused too ([`PasswordError::Nul`]): bcrypt
//!   implementations stop at the first NUL, so it would end the password early. Within these
//!   limits bcrypt uses every byte of the password.
//! - [`PasswordHasher::verify_unknown`] spends the time of a real verification for an
//!   account that does not exist, so response times do not reveal which accounts exist.
//! - [`PasswordHasher::needs_rehash`] tells when a stored hash was made with another cost;
//!   the login flow then stores a new hash.
//! - Hashing and verification run on tokio's blocking pool: a flood of logins does not stall
//!   the executor. At most [`HashLimits::permits`] run at once (by default one per core);
//!   at most [`HashLimits::queue`] more wait for a turn, and past that a hash is refused at
//!   once with [`PasswordError::Busy`] (the HTTP layer answers 503 `busy` with
//!   `Retry-After`), so a flood of logins is shed instead of piling up. Every bcrypt call
//!   goes through the limit, the dummy verification of an unknown account included.
//! - The caller must not hold a pooled database connection while it hashes (the service
//!   flows take a [`crate::Database`] and check a connection out per step).

pub use crate::error::{BCRYPT_MAX_BYTES, PasswordError};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OnceCell, Semaphore};

/// bcrypt cost used when none is configured.
pub const DEFAULT_BCRYPT_COST: u32 = 12;

/// The queue allowed per permit when [`HashLimits::queue`] is not set explicitly.
pub const DEFAULT_QUEUE_PER_PERMIT: usize = 32;

/// How many hashes run at once and how many may wait for a turn.
///
/// The defaults: one permit per core ([`std::thread::available_parallelism`]), and a queue
/// of [`DEFAULT_QUEUE_PER_PERMIT`] (32) per permit, so that a burst of a few dozen logins
/// or registrations is served rather than refused. A queued request waits at most about
/// `queue / permits` hash times: at cost 12, about 0.3 s each on a current core, so about
/// 10 s. Lower the queue when clients should rather get a quick 503 `busy` than wait that
/// long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    /// Hashes (or verifications) running at once. At least 1.
    pub permits: usize,
    /// Hashes that may wait for a permit; one more is refused with
    /// [`PasswordError::Busy`]. 0 refuses whenever every permit is taken.
    pub queue: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits::with_permits(
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
        )
    }
}

impl HashLimits {
    /// `permits` at once, with the default queue of [`DEFAULT_QUEUE_PER_PERMIT`] per permit.
    pub fn with_permits(permits: usize) -> Self {
        let permits = permits.max(1);
        HashLimits {
            permits,
            queue: permits.saturating_mul(DEFAULT_QUEUE_PER_PERMIT),
        }
    }
}

/// The semaphore and the count of waiters behind it.
struct Limiter {
    limits: HashLimits,
    permits: Semaphore,
    waiting: AtomicUsize,
}

impl Limiter {
    fn new(limits: HashLimits) -> Self {
        let limits = HashLimits {
            permits: limits.permits.max(1),
            ..limits
        };
        Limiter {
            limits,
            permits: Semaphore::new(limits.permits),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A permit now, or after waiting in the bounded queue; [`PasswordError::Busy`] when the
    /// queue is full.
    async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, PasswordError> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let result = if queued >= self.limits.queue {
            Err(PasswordError::Busy)
        } else {
            self.permits
                .acquire()
                .await
                .map_err(|_| PasswordError::Internal)
        };
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

/// Hashes and verifies passwords with a fixed bcrypt cost. Cheap to clone.
/// Clones share one limit ([`HashLimits`]).
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    dummy: Arc<OnceCell<String>>,
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .field("limits", &self.limiter.limits)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new(DEFAULT_BCRYPT_COST)
    }
}

impl PasswordHasher {
    /// A hasher with bcrypt cost `cost` (clamped to bcrypt's 4..=31) and the default
    /// [`HashLimits`].
    pub fn new(cost: u32) -> Self {
        PasswordHasher::with_limits(cost, HashLimits::default())
    }

    /// A hasher with bcrypt cost `cost` and explicit concurrency limits.
    pub fn with_limits(cost: u32, limits: HashLimits) -> Self {
        PasswordHasher {
            cost: cost.clamp(4, 31),
            dummy: Arc::new(OnceCell::new()),
            limiter: Arc::new(Limiter::new(limits)),
        }
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// The concurrency limits.
    pub fn limits(&self) -> HashLimits {
        self.limiter.limits
    }

    /// Runs `f` on the blocking pool once a permit is free (see [`HashLimits`]).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self.limiter.acquire().await?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| PasswordError::Internal)?
    }

    /// The hash the dummy verifications check against (made once, under the limit).
    async fn dummy_hash(&self) -> Result<String, PasswordError> {
        let cost = self.cost;
        self.dummy
            .get_or_try_init(|| async move {
                self.blocking(move || {
                    bcrypt::hash("dummy password for timing", cost)
                        .map_err(|_| PasswordError::Internal)
                })
                .await
            })
            .await
            .cloned()
    }

    /// Hashes `password` (refusing more than 72 bytes).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        ensure_hashable(password)?;
        let (password, cost) = (password.to_owned(), self.cost);
        self.blocking(move || bcrypt::hash(password, cost).map_err(|_| PasswordError::Internal))
            .await
    }

    /// Whether `password` matches `hash`. A password over 72 bytes never matches.
    ///
    /// A stored hash bcrypt cannot read (imported from elsewhere, disabled with `!`) is
    /// [`PasswordError::UnsupportedHash`], returned only after spending the time of a real
    /// verification (against the dummy hash), so that such accounts do not answer faster.
    /// [`PasswordError::Busy`] when the hashing queue is full (nothing was checked).
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PasswordError> {
        if ensure_hashable(password).is_err() {
            // Same cost as a real check, so the length does not show in the timing.
            self.verify_unknown(password).await?;
            return Ok(false);
        }
        let dummy = if bcrypt_parts(hash).is_some() {
            None
        } else {
            Some(self.dummy_hash().await?)
        };
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.blocking(move || match bcrypt::verify(&password, &hash) {
            Ok(ok) => Ok(ok),
            Err(_) => {
                // Unreadable after all: spend the verification's time anyway.
                if let Some(dummy) = dummy {
                    let _ = bcrypt::verify(&password, &dummy);
                }
                Err(PasswordError::UnsupportedHash)
            }
        })
        .await
    }

    /// Spends the time of one verification: call it when the account does not exist.
    /// [`PasswordError::Busy`] when the hashing queue is full.
    pub async fn verify_unknown(&self, password: &str) -> Result<(), PasswordError> {
        let dummy = self.dummy_hash().await?;
        let password = password.as_bytes();
        let truncated = password[..password.len().min(BCRYPT_MAX_BYTES)].to_vec();
        self.blocking(move || {
            let _ = bcrypt::verify(truncated, &dummy);
            Ok(())
        })
        .await
    }

    /// Whether `hash` was made with another cost than the configured one (or is not bcrypt)
    /// and should be replaced after a successful login.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        hash_cost(hash) != Some(self.cost)
    }
}

/// Refuses what bcrypt would silently shorten: over 72 bytes, or a NUL byte. (bcrypt drops
/// only its own NUL terminator from a 72-byte password, which changes nothing.)
/// [`PasswordHasher::hash`] applies it; call it to check a password before hashing.
pub fn ensure_hashable(password: &str) -> Result<(), PasswordError> {
    if password.len() > BCRYPT_MAX_BYTES {
        Err(PasswordError::TooLong)
    } else if password.contains('\0') {
        Err(PasswordError::Nul)
    } else {
        Ok(())
    }
}

/// Whether `hash` has the shape of a bcrypt hash: `$2b$<cost>$` and 53 more characters.
fn bcrypt_parts(hash: &str) -> Option<()> {
    let cost = hash_cost(hash)?;
    ((4..=31).contains(&cost) && hash.len() == 60).then_some(())
}

/// The cost recorded in a bcrypt hash (`$2b$12$...`).
pub fn hash_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    let (Some(""), Some(version), Some(cost)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if !matches!(version, "2a" | "2b" | "2x" | "2y") {
        return None;
    }
    cost.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = PasswordHasher::new(4);
        let hash = h.hash("correct horse").await.unwrap();
        assert!(hash.starts_with("$2b$04$"));
        assert!(h.verify("correct horse", &hash).await.unwrap());
        assert!(!h.verify("correct horsf", &hash).await.unwrap());
        assert!(!h.needs_rehash(&hash));
        assert!(PasswordHasher::new(5).needs_rehash(&hash));
    }

    #[tokio::test]
    async fn no_silent_truncation() {
        let h = PasswordHasher::new(4);
        let long = "a".repeat(73);
        assert_eq!(h.hash(&long).await, Err(PasswordError::TooLong));
        let hash = h.hash(&"a".repeat(72)).await.unwrap();
        assert!(h.verify(&"a".repeat(72), &hash).await.unwrap());
        assert!(
            !h.verify(&long, &hash).await.unwrap(),
            "a 73-byte password must not match its 72-byte prefix"
        );
        assert_eq!(h.hash("ab\0c").await, Err(PasswordError::Nul));
        let ab = h.hash("ab").await.unwrap();
        assert!(!h.verify("ab\0c", &ab).await.unwrap());
    }

    #[tokio::test]
    async fn bad_hashes_are_errors_not_panics() {
        let h = PasswordHasher::new(4);
        assert_eq!(
            h.verify("x", "not a hash").await,
            Err(PasswordError::UnsupportedHash)
        );
        assert!(h.needs_rehash("pbkdf2_sha256$1$x$y"));
        assert_eq!(hash_cost("$2b$12$abc"), Some(12));
        h.verify_unknown("anything").await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_is_busy() {
        let h = PasswordHasher::with_limits(
            4,
            HashLimits {
                permits: 1,
                queue: 0,
            },
        );
        let held = h.limiter.acquire().await.unwrap();
        assert_eq!(h.hash("x").await, Err(PasswordError::Busy));
        assert_eq!(h.verify_unknown("x").await, Err(PasswordError::Busy));
        drop(held);
        assert!(h.hash("x").await.is_ok());
        assert_eq!(
            HashLimits::with_permits(3).queue,
            3 * DEFAULT_QUEUE_PER_PERMIT
        );
    }
}
