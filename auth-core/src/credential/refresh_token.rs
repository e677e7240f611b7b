//! Refresh tokens of JWT logins (SPEC C9.2): opaque, stored hashed, single use, in families.
//!
//! A JWT login opens a session like any login (platform `jwt`); that session is the token
//! family. Each refresh marks its token used and issues the next one in the family. A
//! token presented again after its use (a copy in a thief's hands, or the client's) ends
//! the whole family, so the newest token also stops working (reuse detection). Ending the
//! session by any path (logout, revocation, a password change or reset elsewhere, an
//! administrator) ends the family too: a refresh must find its session live.
//!
//! A token reads `rt_<43 characters>` (256 random bits); only its SHA-256 is stored.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::db::delete_batch;
use crate::error::Result;
use crate::schema::auth_refresh_tokens as r;
use crate::session::{self, hash_token, new_token, now};
use crate::with_conn;

/// What every refresh token starts with.
pub const TOKEN_PREFIX: &str = "rt_";

/// Longest refresh token text looked at.
const MAX_TOKEN_LEN: usize = 128;

/// A stored refresh token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = r)]
pub struct RefreshToken {
    /// Row id.
    pub id: i64,
    /// The family: the session the login opened.
    pub session_id: i64,
    /// Issue time (UTC).
    pub created_at: PrimitiveDateTime,
    /// When it stops working (UTC).
    pub expires_at: PrimitiveDateTime,
    /// When it was used to refresh, if it was.
    pub used_at: Option<PrimitiveDateTime>,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// Unused and unexpired: now marked used; issue the next one.
    Fresh(RefreshToken),
    /// Already used (or used by a concurrent refresh just now): the family must end.
    Reused(RefreshToken),
    /// Past its expiry.
    Expired(RefreshToken),
    /// No such token.
    Unknown,
}

/// Issues a new token in family `session_id`, working until `expires_at`; returns the
/// token (to hand to the client once).
pub async fn issue(
    conn: &mut DbConn,
    session_id: i64,
    expires_at: PrimitiveDateTime,
) -> Result<String> {
    let token = format!("{TOKEN_PREFIX}{}", new_token());
    let row = (
        r::session_id.eq(session_id),
        r::token_hash.eq(hash_token(&token)),
        r::created_at.eq(now()),
        r::expires_at.eq(expires_at),
    );
    with_conn!(conn, |c| diesel::insert_into(r::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(token)
}

/// The stored record of `token`, used or not.
pub async fn find(conn: &mut DbConn, token: &str) -> Result<Option<RefreshToken>> {
    if token.len() > MAX_TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = hash_token(token);
    Ok(with_conn!(conn, |c| {
        r::table
            .filter(r::token_hash.eq(&hash))
            .select(RefreshToken::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Presents `token` for a refresh at `at`: marks a fresh one used, exactly once even under
/// concurrent refreshes (the loser sees [`Redeemed::Reused`]). Run it in the transaction
/// that issues the next token.
///
/// The mark comes first and the read after it: the write lock taken by the first statement
/// serializes racing refreshes on every backend (SQLite cannot upgrade a read transaction
/// to a write one under contention, and MariaDB's snapshot would be fixed by an earlier
/// read), and the read then sees what the winner wrote.
pub async fn redeem(conn: &mut DbConn, token: &str, at: PrimitiveDateTime) -> Result<Redeemed> {
    if token.len() > MAX_TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
        return Ok(Redeemed::Unknown);
    }
    let hash = hash_token(token);
    let marked = with_conn!(conn, |c| {
        diesel::update(
            r::table
                .filter(r::token_hash.eq(&hash))
                .filter(r::used_at.is_null())
                .filter(r::expires_at.gt(at)),
        )
        .set(r::used_at.eq(Some(at)))
        .execute(c)
        .await
    })?;
    let Some(found) = find(conn, token).await? else {
        return Ok(Redeemed::Unknown);
    };
    Ok(match (marked, found.used_at) {
        (1, _) => Redeemed::Fresh(found),
        (_, Some(_)) => Redeemed::Reused(found),
        (_, None) => Redeemed::Expired(found),
    })
}

/// Ends family `session_id`: its session (caches hear of it) and every token of it.
pub async fn end_family(conn: &mut DbConn, session_id: i64) -> Result<()> {
    session::delete_by_id(conn, session_id).await?;
    with_conn!(conn, |c| {
        diesel::delete(r::table.filter(r::session_id.eq(session_id)))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Deletes at most `batch` tokens that expired before `now`; call until it returns less
/// than `batch`.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub async fn cleanup_expired(conn: &mut DbConn, batch: i64) -> Result<usize> {
    let now = now();
    delete_batch!(conn, r, r::expires_at.le(now), batch)
}
