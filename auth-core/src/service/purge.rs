//! Deleting what has expired: sessions, account tokens, API keys, refresh tokens, MFA
//! challenges, OAuth logins and passkey ceremonies under way, and idle throttle rows.
//!
//! Run by the `cleanup` command and, in the background, by auth-axum every
//! `HttpConfig::purge_interval`, so that rows written by unauthenticated requests (a login
//! started at a provider, a passkey ceremony) do not wait for an operator.

use crate::db::Database;
use crate::error::Result;
use crate::user::UserStore;
use crate::{account_token, api_key, passkey, refresh_token, session, throttle};

use super::AuthService;

/// What [`AuthService::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purged {
    /// Expired sessions.
    pub sessions: usize,
    /// Expired password-reset and verification tokens.
    pub tokens: usize,
    /// Expired API keys.
    pub api_keys: usize,
    /// Expired refresh tokens of JWT logins.
    pub refresh_tokens: usize,
    /// Throttle rows whose keys saw no attempt for [`throttle::retention`] and hold no
    /// lock.
    pub throttle: usize,
    /// Expired MFA login challenges.
    pub mfa_challenges: usize,
    /// Expired OAuth logins under way.
    pub oauth_states: usize,
    /// Expired passkey ceremonies (registrations and logins under way).
    pub ceremonies: usize,
}

impl Purged {
    /// How many rows in all.
    pub fn total(&self) -> usize {
        self.sessions
            + self.tokens
            + self.api_keys
            + self.refresh_tokens
            + self.throttle
            + self.mfa_challenges
            + self.oauth_states
            + self.ceremonies
    }
}

/// Runs a batch delete until it deletes nothing; evaluates to the total. (A macro, not a
/// function over an async closure: the purge runs in a spawned task, and such closures
/// borrowing the connection are not `Send` for every lifetime.)
macro_rules! drain {
    ($step:expr) => {{
        let mut total = 0;
        loop {
            match $step.await? {
                0 => break total,
                n => total += n,
            }
        }
    }};
}

impl<U: UserStore> AuthService<U> {
    /// Deletes what has expired, `batch` rows per statement (short statements, no long
    /// locks), until none is left. Nothing live is touched: a row deleted here would have
    /// been refused or ignored anyway.
    pub async fn purge_expired(&self, db: &Database, batch: i64) -> Result<Purged> {
        let batch = batch.max(1);
        let mut conn = db.conn().await?;
        let c = &mut conn;
        let now = session::now();
        let retention = throttle::retention(self.throttle_config(), self.mail_throttle_config());
        Ok(Purged {
            sessions: drain!(session::cleanup_expired(c, batch)),
            tokens: drain!(account_token::cleanup_expired(c, batch)),
            api_keys: drain!(api_key::cleanup_expired(c, batch)),
            refresh_tokens: drain!(refresh_token::cleanup_expired(c, batch)),
            throttle: drain!(throttle::cleanup(c, now - retention, batch)),
            mfa_challenges: drain!(crate::mfa::challenge::cleanup_expired(c, batch)),
            oauth_states: crate::oauth::state::cleanup_expired(c, now).await?,
            ceremonies: passkey::cleanup_ceremonies(c, now).await?,
        })
    }
}
