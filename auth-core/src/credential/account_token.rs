//! Single-use account tokens: password reset and e-mail verification (table `auth_tokens`).
//!
//! A token is 256 random bits (the same generator as session tokens) sent to the user by
//! mail; the database stores only its SHA-256. Consuming a token deletes its row in the
//! same statement that proves it existed, so two concurrent uses cannot both succeed. An
//! expired token is refused (and deleted); issuing a new token of a purpose replaces the
//! user's earlier ones of that purpose, so only the latest mail works.

pub use crate::error::TokenError;

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use time::PrimitiveDateTime;

use crate::db::delete_batch;
use crate::db::{Backend, DbConn};
use crate::error::{Error, Result};
use crate::schema::auth_tokens as t;
use crate::session::{hash_token, new_token, now};
use crate::with_conn;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Setting a new password without the old one.
    PasswordReset,
    /// Proving the e-mail address belongs to the user.
    VerifyEmail,
    /// Confirming a new e-mail address (the token's `email`): following its link makes it
    /// the account's.
    EmailChange,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "reset",
            Purpose::VerifyEmail => "verify",
            Purpose::EmailChange => "email_change",
        }
    }
}

/// Token lifetimes. Defaults: reset 1 hour, verification 24 hours.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// How long a password-reset token is valid.
    pub reset_ttl: Duration,
    /// How long a verification token is valid (and a new address's confirmation).
    pub verify_ttl: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            reset_ttl: Duration::from_secs(3600),
            verify_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl TokenConfig {
    /// The lifetime of tokens of `purpose`.
    pub fn ttl(&self, purpose: Purpose) -> Duration {
        match purpose {
            Purpose::PasswordReset => self.reset_ttl,
            Purpose::VerifyEmail | Purpose::EmailChange => self.verify_ttl,
        }
    }
}

/// A consumed token: whose it was and the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// The user.
    pub user_id: i64,
    /// The e-mail address the token was mailed to.
    pub email: Option<String>,
}

/// Issues a token of `purpose` for `user_id` (mailed to `email`), replacing the user's
/// earlier tokens of that purpose. Returns the token to mail; only its hash is stored.
///
/// Two issues for one user must not overlap (both could read no earlier token, and both
/// new tokens would stay valid): run it inside a transaction that first locks the user's
/// row ([`crate::UserStore::lock`]), as the service's token mails do. Issues for different
/// users do not wait for each other.
pub async fn issue(
    conn: &mut DbConn,
    purpose: Purpose,
    user_id: i64,
    email: Option<&str>,
    ttl: Duration,
) -> Result<String> {
    let token = new_token();
    let hash = hash_token(&token);
    let now = now();
    // MySQL/MariaDB: the earlier tokens are read, then deleted by primary key. A DELETE
    // searching (user_id, purpose) would also lock the index gap it searched, the gap other
    // users' new tokens go into, and two such issues at once (for two users, each under its
    // own row lock) would deadlock on their inserts. SQLite must write first (a read would
    // start a snapshot it cannot upgrade once another writer has committed); PostgreSQL
    // takes no gap locks.
    let by_key = conn.backend() == Backend::Mysql;
    with_conn!(conn, |c| {
        c.transaction::<_, Error, _>(async |c| {
            let mine = t::table
                .filter(t::user_id.eq(user_id))
                .filter(t::purpose.eq(purpose.as_str()));
            if by_key {
                let earlier: Vec<i64> = mine.select(t::id).load(c).await?;
                if !earlier.is_empty() {
                    diesel::delete(t::table.filter(t::id.eq_any(&earlier)))
                        .execute(c)
                        .await?;
                }
            } else {
                diesel::delete(mine).execute(c).await?;
            }
            diesel::insert_into(t::table)
                .values((
                    t::token_hash.eq(&hash),
                    t::purpose.eq(purpose.as_str()),
                    t::user_id.eq(user_id),
                    t::email.eq(email),
                    t::created_at.eq(now),
                    t::expires_at.eq(now + ttl),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
    })?;
    Ok(token)
}

/// Checks a token without using it: who it is for, or why it is refused.
pub async fn peek(
    conn: &mut DbConn,
    purpose: Purpose,
    token: &str,
) -> Result<Redeemed, TokenError> {
    let hash = hash_token(token);
    let row: Option<(i64, Option<String>, PrimitiveDateTime)> = with_conn!(conn, |c| {
        t::table
            .filter(t::token_hash.eq(&hash))
            .filter(t::purpose.eq(purpose.as_str()))
            .select((t::user_id, t::email, t::expires_at))
            .first(c)
            .await
            .optional()
    })
    .map_err(Error::from)?;
    let (user_id, email, expires_at) = row.ok_or(TokenError::Invalid)?;
    if expires_at <= now() {
        return Err(TokenError::Expired);
    }
    Ok(Redeemed { user_id, email })
}

/// Uses a token up: it is deleted whatever the outcome, and only the one caller that
/// deleted it gets its owner back.
pub async fn redeem(
    conn: &mut DbConn,
    purpose: Purpose,
    token: &str,
) -> Result<Redeemed, TokenError> {
    let hash = hash_token(token);
    let found: Option<(i64, i64, Option<String>, PrimitiveDateTime)> = with_conn!(conn, |c| {
        t::table
            .filter(t::token_hash.eq(&hash))
            .filter(t::purpose.eq(purpose.as_str()))
            .select((t::id, t::user_id, t::email, t::expires_at))
            .first(c)
            .await
            .optional()
    })
    .map_err(Error::from)?;
    let (id, user_id, email, expires_at) = found.ok_or(TokenError::Invalid)?;
    let deleted = with_conn!(conn, |c| {
        diesel::delete(t::table.find(id)).execute(c).await
    })
    .map_err(Error::from)?;
    if deleted == 0 {
        // Another request used it between the read and the delete.
        return Err(TokenError::Invalid);
    }
    if expires_at <= now() {
        return Err(TokenError::Expired);
    }
    Ok(Redeemed { user_id, email })
}

/// Deletes every token of `user_id` of `purpose` (after a reset, the other reset mails
/// die too).
pub async fn revoke_for_user(conn: &mut DbConn, user_id: i64, purpose: Purpose) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(
            t::table
                .filter(t::user_id.eq(user_id))
                .filter(t::purpose.eq(purpose.as_str())),
        )
        .execute(c)
        .await
    })?)
}

/// Deletes up to `batch` expired tokens; returns how many.
pub async fn cleanup_expired(conn: &mut DbConn, batch: i64) -> Result<usize> {
    let now = now();
    delete_batch!(conn, t, t::expires_at.le(now), batch)
}
