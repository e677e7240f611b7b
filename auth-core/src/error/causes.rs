//! The causes an [`AuthError`](super::AuthError) can carry from the layers below it (the
//! password hasher, the password policy, the mailer, account tokens, passkey ceremonies,
//! OAuth). They live here so that the error module depends on nothing above it; each
//! layer re-exports its own.

use super::Error;

/// The most bytes bcrypt can use.
pub const BCRYPT_MAX_BYTES: usize = 72;

/// Why a password could not be hashed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// More than [`BCRYPT_MAX_BYTES`] bytes.
    #[error("password: at most {BCRYPT_MAX_BYTES} bytes")]
    TooLong,
    /// Contains a NUL byte.
    #[error("password: must not contain NUL")]
    Nul,
    /// The stored hash is not a bcrypt hash this library can read.
    #[error("stored password hash is not in a supported format")]
    UnsupportedHash,
    /// The hashing task failed (cancelled runtime, invalid cost).
    #[error("password hashing failed")]
    Internal,
    /// Every hashing slot is busy and the wait queue is full: try again shortly.
    #[error("the server is busy; try again shortly")]
    Busy,
}

/// The rule a password broke. `Display` is safe to show to clients and names the rule;
/// [`PolicyViolation::rule`] is the stable name to branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    #[error("password: at least {min} characters")]
    TooShort {
        /// The configured minimum.
        min: usize,
    },
    /// More characters than the maximum.
    #[error("password: at most {max} characters")]
    TooLong {
        /// The configured maximum.
        max: usize,
    },
    /// In the list of common passwords.
    #[error("password: too common, choose a less guessable one")]
    Common,
    /// Equal to the account name, or containing it (possibly reversed).
    #[error("password: must not contain the account name")]
    ContainsAccount,
}

impl PolicyViolation {
    /// The stable rule name: `min_length`, `max_length`, `common` or `contains_account`.
    pub fn rule(&self) -> &'static str {
        match self {
            PolicyViolation::TooShort { .. } => "min_length",
            PolicyViolation::TooLong { .. } => "max_length",
            PolicyViolation::Common => "common",
            PolicyViolation::ContainsAccount => "contains_account",
        }
    }
}

/// Why a mail could not be built or sent. No variant ever carries the mail body.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL given to `SmtpMailer::from_url` is not usable.
    #[error("invalid SMTP URL: {0}")]
    InvalidUrl(String),
    /// An address (the configured sender or a recipient) does not parse.
    #[error("invalid {role} address {address:?}: {reason}")]
    InvalidAddress {
        /// Which address: `from` or `to`.
        role: &'static str,
        /// The address as given.
        address: String,
        /// Why it was refused.
        reason: String,
    },
    /// The message could not be assembled (e.g. a line break in the subject).
    #[error("cannot build the mail: {0}")]
    InvalidMessage(String),
    /// The SMTP server could not be reached, refused the mail, or the session failed.
    #[error("mail transport failed: {0}")]
    Transport(String),
    /// Delivery did not finish within the mailer's timeout.
    #[error("mail transport timed out after {0:?}")]
    Timeout(std::time::Duration),
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown, already used, replaced by a newer one, or of another purpose.
    #[error("the token is invalid or was already used")]
    Invalid,
    /// The token existed but its time ran out.
    #[error("the token has expired")]
    Expired,
    /// Storage failure.
    #[error(transparent)]
    Storage(#[from] Error),
}

/// Why a ceremony could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// No ceremony under this token (never started, used already, of another kind or
    /// another user).
    #[error("no passkey ceremony under way in this browser: start again")]
    Invalid,
    /// The ceremony is older than `CEREMONY_TTL`.
    #[error("the passkey ceremony has expired: start again")]
    Expired,
}

/// Why an OAuth2 / OpenID Connect login or link was refused. `Display` is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// No provider of this name is configured.
    #[error("unknown identity provider {0:?}")]
    UnknownProvider(String),
    /// `next` is not a local path (it would redirect off this site).
    #[error("next must be a local path starting with a single /")]
    InvalidNext,
    /// The `state` is unknown, used already, another browser's, or another provider's.
    #[error("the login state is invalid or was already used: start again")]
    InvalidState,
    /// The authorization took longer than its time.
    #[error("the login took too long: start again")]
    StateExpired,
    /// The provider answered with an error (the user refused, the code was rejected).
    /// The code is the provider's OAuth2 error code, reduced to `[a-z0-9_]`.
    #[error("the identity provider refused the login ({0})")]
    Provider(String),
    /// The ID token's nonce is not the one this login sent.
    #[error("the ID token's nonce does not match this login")]
    InvalidNonce,
    /// The ID token failed verification (signature, issuer, audience, expiry), or the
    /// provider's answer lacks what the login needs (no ID token, no subject).
    #[error("the identity provider's token was not accepted ({0})")]
    InvalidToken(&'static str),
    /// The provider's identity is linked to another user.
    #[error("this identity is linked to another account")]
    IdentityTaken,
    /// No local user matches and the configuration does not create users.
    #[error("no account is linked to this identity")]
    NoAccount,
    /// A re-authentication at a provider that cannot prove a fresh login (plain OAuth2 has
    /// no `auth_time`), or for a user with no identity linked at it.
    #[error("this provider cannot re-authenticate this account")]
    NoFreshLogin,
    /// The provider did not prove a login made after the re-authentication began
    /// (`auth_time` missing or older), or proved another identity than the account's.
    #[error("the identity provider did not prove a fresh login of this account")]
    StaleLogin,
}
