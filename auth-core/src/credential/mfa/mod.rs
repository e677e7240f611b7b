//! Multi-factor authentication (SPEC C10.1): TOTP authenticators with single-use backup
//! codes, and the second step of a login.
//!
//! - [`totp`]: the authenticator (RFC 6238), its secret encrypted at rest with the
//!   configured [`SecretKey`] (XChaCha20-Poly1305), replay-proof.
//! - [`backup_codes`]: ten single-use codes, stored hashed.
//! - [`challenge`]: the `mfa_token` between a login's password and its code.
//!
//! The flows (setup, confirm, the login step, disable, regenerate, the admin reset), with
//! their throttling and audit records, are the service's: see
//! [`crate::service::AuthService::mfa_setup`] and the methods after it. A session records
//! when it passed a second factor ([`crate::session::Session::mfa_at`]); the guards'
//! `mfa` option asks for it.

pub mod backup_codes;
pub mod challenge;
mod cipher;
pub mod totp;

use std::time::Duration;

pub use cipher::SecretKey;

use crate::db::DbConn;
use crate::error::Result;

/// How long an `mfa_token` lives unless configured otherwise: 5 minutes.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// MFA settings: the key that encrypts TOTP secrets, the issuer name authenticator apps
/// show, and how long a login waits for its code.
#[derive(Debug, Clone)]
pub struct MfaConfig {
    /// Encrypts the TOTP secrets at rest. Changing it makes the stored secrets unreadable
    /// (their users then log in with a backup code, or an admin resets their MFA).
    pub key: SecretKey,
    /// The issuer in the `otpauth://` URI (the name apps list the account under).
    pub issuer: String,
    /// How long an `mfa_token` lives. Default 5 minutes.
    pub challenge_ttl: Duration,
}

impl MfaConfig {
    /// A configuration with `key`, issuer `issuer` and the default challenge lifetime.
    pub fn new(key: SecretKey, issuer: impl Into<String>) -> MfaConfig {
        MfaConfig {
            key,
            issuer: issuer.into(),
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
        }
    }

    /// With an `mfa_token` lifetime of `ttl`.
    pub fn with_challenge_ttl(mut self, ttl: Duration) -> MfaConfig {
        self.challenge_ttl = ttl;
        self
    }
}

/// A way to pass the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A code from the TOTP authenticator.
    Totp,
    /// One of the backup codes.
    BackupCode,
    /// A passkey (WebAuthn).
    Passkey,
    /// A second factor an identity provider checked and said so in its ID token's `amr`
    /// (trusted only when configured: [`crate::oauth::ProviderConfig::trust_amr`]).
    /// Recorded, never offered as a way to finish a login.
    Provider,
}

impl Method {
    /// The name used in answers and audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::BackupCode => "backup_code",
            Method::Passkey => "passkey",
            Method::Provider => "provider",
        }
    }
}

/// Whether `user_id` has MFA on (a confirmed TOTP authenticator): their password logins
/// then need a second step.
pub async fn is_enabled(conn: &mut DbConn, user_id: i64) -> Result<bool> {
    totp::is_enabled(conn, user_id).await
}

/// The methods `user_id` can finish a login's second step with.
pub async fn methods(conn: &mut DbConn, user_id: i64) -> Result<Vec<Method>> {
    let mut out = Vec::new();
    if totp::is_enabled(conn, user_id).await? {
        out.push(Method::Totp);
        if backup_codes::remaining(conn, user_id).await? > 0 {
            out.push(Method::BackupCode);
        }
    }
    Ok(out)
}

/// Deletes everything MFA keeps for `user_id` (the authenticator, backup codes, open
/// challenges): an admin reset, or the user's deletion (in its transaction).
pub async fn forget_user(conn: &mut DbConn, user_id: i64) -> Result<bool> {
    let had = totp::remove(conn, user_id).await?;
    backup_codes::remove(conn, user_id).await?;
    challenge::revoke_for_user(conn, user_id).await?;
    Ok(had)
}
