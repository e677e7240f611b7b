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
//!   the executor.

use std::sync::Arc;

use tokio::sync::OnceCell;

/// bcrypt cost used when none is configured.
pub const DEFAULT_BCRYPT_COST: u32 = 12;
/// The most bytes bcrypt can use.
pub const BCRYPT_MAX_BYTES: usize = 72;

/// Why a password could not be hashed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// More than [`BCRYPT_MAX_BYTES`] bytes.
    #[error("password is longer than {BCRYPT_MAX_BYTES} bytes")]
    TooLong,
    /// Contains a NUL byte.
    #[error("password contains a NUL byte")]
    Nul,
    /// The stored hash is not a bcrypt hash this library can read.
    #[error("stored password hash is not in a supported format")]
    UnsupportedHash,
    /// The hashing task failed (cancelled runtime, invalid cost).
    #[error("password hashing failed")]
    Internal,
}

/// Hashes and verifies passwords with a fixed bcrypt cost. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    dummy: Arc<OnceCell<String>>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .finish()
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new(DEFAULT_BCRYPT_COST)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
) -> Result<T, PasswordError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| PasswordError::Internal)?
}

impl PasswordHasher {
    /// A hasher with bcrypt cost `cost` (clamped to bcrypt's 4..=31).
    pub fn new(cost: u32) -> Self {
        PasswordHasher {
            cost: cost.clamp(4, 31),
            dummy: Arc::new(OnceCell::new()),
        }
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Hashes `password` (refusing more than 72 bytes).
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        ensure_hashable(password)?;
        let (password, cost) = (password.to_owned(), self.cost);
        blocking(move || bcrypt::hash(password, cost).map_err(|_| PasswordError::Internal)).await
    }

    /// Whether `password` matches `hash`. A password over 72 bytes never matches.
    pub async fn verify(&self, password: &str, hash: &str) -> Result<bool, PasswordError> {
        if ensure_hashable(password).is_err() {
            // Same cost as a real check, so the length does not show in the timing.
            self.verify_unknown(password).await;
            return Ok(false);
        }
        let (password, hash) = (password.to_owned(), hash.to_owned());
        blocking(move || {
            bcrypt::verify(password, &hash).map_err(|_| PasswordError::UnsupportedHash)
        })
        .await
    }

    /// Spends the time of one verification and returns nothing: call it when the account
    /// does not exist.
    pub async fn verify_unknown(&self, password: &str) {
        let cost = self.cost;
        let dummy = self
            .dummy
            .get_or_try_init(|| async move {
                blocking(move || {
                    bcrypt::hash("dummy password for timing", cost)
                        .map_err(|_| PasswordError::Internal)
                })
                .await
            })
            .await;
        if let Ok(dummy) = dummy {
            let (password, dummy) = (password.as_bytes().to_vec(), dummy.clone());
            let truncated = password[..password.len().min(BCRYPT_MAX_BYTES)].to_vec();
            let _ = blocking(move || {
                let _ = bcrypt::verify(truncated, &dummy);
                Ok(())
            })
            .await;
        }
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
        h.verify_unknown("anything").await;
    }
}
