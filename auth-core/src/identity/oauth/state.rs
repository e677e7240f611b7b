//! OAuth2 / OpenID Connect authorizations under way.
//!
//! Starting a login stores, under the SHA-256 of the random `state` sent to the provider:
//! the SHA-256 of the browser's binding token (an `HttpOnly` cookie), the PKCE verifier,
//! the nonce, `next` and, for linking, the user asking. The callback [`take`]s it: the row
//! is deleted by the request that wins, so a `state` works once, and only in the browser
//! that started it (a login CSRF, where an attacker's code and state are sent to the
//! victim's browser, finds the attacker's binding, not the victim's).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use subtle::ConstantTimeEq;
use time::{Duration, PrimitiveDateTime};

use super::OAuthError;
use crate::db::DbConn;
use crate::error::Result;
use crate::schema::auth_oauth_states as st;
use crate::session::hash_token;
use crate::with_conn;

/// How long an authorization may take by default (the user may have to log in at the
/// provider and consent).
pub const DEFAULT_STATE_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// An authorization under way, as stored.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = st)]
pub struct Pending {
    /// SHA-256 of the `state`.
    pub state_hash: String,
    /// SHA-256 of the browser binding token.
    pub browser_hash: String,
    /// The provider's configured name.
    pub provider: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// Where to send the browser afterwards (a checked local path).
    pub next: String,
    /// The logged-in user linking this provider; `None` for a login.
    pub link_user_id: Option<i64>,
    /// When it stops working (UTC).
    pub expires_at: PrimitiveDateTime,
    /// The session this login re-authenticates (sudo mode); `None` for a login or a link.
    pub reauth_session_id: Option<i64>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("provider", &self.provider)
            .field("next", &self.next)
            .field("link_user_id", &self.link_user_id)
            .field("reauth_session_id", &self.reauth_session_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What to store for a new authorization.
#[derive(Clone)]
pub struct NewPending<'a> {
    /// The `state` sent to the provider (only its hash is stored).
    pub state: &'a str,
    /// The browser binding token (only its hash is stored).
    pub browser_token: &'a str,
    /// The provider's configured name.
    pub provider: &'a str,
    /// The PKCE code verifier.
    pub pkce_verifier: &'a str,
    /// The nonce.
    pub nonce: &'a str,
    /// The checked `next`.
    pub next: &'a str,
    /// The user linking, or re-authenticating, if any.
    pub link_user_id: Option<i64>,
    /// The session re-authenticating, if any (with its user in `link_user_id`).
    pub reauth_session_id: Option<i64>,
}

/// Stores an authorization valid until `now + ttl`, deleting the expired ones first.
pub async fn store(
    conn: &mut DbConn,
    new: NewPending<'_>,
    now: PrimitiveDateTime,
    ttl: std::time::Duration,
) -> Result<()> {
    let ttl = Duration::try_from(ttl).unwrap_or(Duration::minutes(10));
    let row = (
        st::state_hash.eq(hash_token(new.state)),
        st::browser_hash.eq(hash_token(new.browser_token)),
        st::provider.eq(new.provider),
        st::pkce_verifier.eq(new.pkce_verifier),
        st::nonce.eq(new.nonce),
        st::next.eq(new.next),
        st::link_user_id.eq(new.link_user_id),
        st::expires_at.eq(now + ttl),
        st::reauth_session_id.eq(new.reauth_session_id),
    );
    // Expired authorizations are swept on the way (by their index): `authorize` is
    // public, so the table holds at most one state lifetime of starts, whoever floods it.
    with_conn!(conn, |c| {
        diesel::delete(st::table.filter(st::expires_at.le(now)))
            .execute(c)
            .await?;
        diesel::insert_into(st::table).values(row).execute(c).await
    })?;
    Ok(())
}

/// Takes the authorization of `state` for `provider` in the browser holding
/// `browser_token`: deleted by the request that wins. Unknown, used, another browser's or
/// another provider's: [`OAuthError::InvalidState`] (and a row another browser holds
/// stays for it); past its time: [`OAuthError::StateExpired`].
pub async fn take(
    conn: &mut DbConn,
    provider: &str,
    state: &str,
    browser_token: &str,
    now: PrimitiveDateTime,
) -> Result<std::result::Result<Pending, OAuthError>> {
    let state_hash = hash_token(state);
    let found: Option<Pending> = with_conn!(conn, |c| {
        st::table
            .filter(st::state_hash.eq(&state_hash))
            .select(Pending::as_select())
            .first(c)
            .await
            .optional()
    })?;
    let Some(pending) = found else {
        return Ok(Err(OAuthError::InvalidState));
    };
    let browser = hash_token(browser_token);
    let same_browser: bool = pending
        .browser_hash
        .as_bytes()
        .ct_eq(browser.as_bytes())
        .into();
    if browser_token.is_empty() || !same_browser || pending.provider != provider {
        return Ok(Err(OAuthError::InvalidState));
    }
    let deleted = with_conn!(conn, |c| {
        diesel::delete(st::table.filter(st::state_hash.eq(&state_hash)))
            .execute(c)
            .await
    })?;
    if deleted == 0 {
        // Another request with the same state won.
        return Ok(Err(OAuthError::InvalidState));
    }
    if pending.expires_at <= now {
        return Ok(Err(OAuthError::StateExpired));
    }
    Ok(Ok(pending))
}

/// Deletes the authorizations past their time; returns how many.
pub async fn cleanup_expired(conn: &mut DbConn, now: PrimitiveDateTime) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(st::table.filter(st::expires_at.le(now)))
            .execute(c)
            .await
    })?)
}

/// Deletes the authorizations a user started to link a provider (with the user).
pub async fn delete_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(st::table.filter(st::link_user_id.eq(user_id)))
            .execute(c)
            .await
    })?)
}
