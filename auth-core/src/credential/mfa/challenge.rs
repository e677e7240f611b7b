//! The second step of a login: after the password of a user with MFA, an `mfa_token`
//! (256 random bits; only its SHA-256 is stored) that `POST login/mfa` redeems with a code.
//!
//! A challenge lives [`super::MfaConfig::challenge_ttl`] (5 minutes by default) and is used
//! once: it is deleted by the request that completes the login, and only the request whose
//! `DELETE` removed it gets the session. A wrong code leaves it (the code throttle counts
//! the guesses).

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::PrimitiveDateTime;

use crate::db::{DbConn, delete_batch, storable_text};
use crate::error::Result;
use crate::schema::auth_mfa_challenges as m;
use crate::session::{hash_token, new_token};
use crate::with_conn;

/// How the login that started the challenge finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// A cookie session (`POST login`).
    Session,
    /// The user with a token pair (`POST login` with `platform: "jwt"`).
    JwtLogin,
    /// A token pair (`POST token`).
    Tokens,
}

impl Finish {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Session => "session",
            Finish::JwtLogin => "jwt_login",
            Finish::Tokens => "tokens",
        }
    }

    fn parse(s: &str) -> Option<Finish> {
        match s {
            "session" => Some(Finish::Session),
            "jwt_login" => Some(Finish::JwtLogin),
            "tokens" => Some(Finish::Tokens),
            _ => None,
        }
    }
}

/// A live challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Row id.
    pub id: i64,
    /// Whose login it is.
    pub user_id: i64,
    /// How it finishes.
    pub finish: Finish,
    /// The platform (backend) the password was checked by, recorded on the session.
    pub platform: String,
    /// When it stops working.
    pub expires_at: PrimitiveDateTime,
}

/// Opens a challenge for `user_id`; returns the `mfa_token` and its expiry.
pub async fn issue(
    conn: &mut DbConn,
    user_id: i64,
    finish: Finish,
    platform: &str,
    ttl: Duration,
    now: PrimitiveDateTime,
) -> Result<(String, PrimitiveDateTime)> {
    let token = new_token();
    let hash = hash_token(&token);
    let expires_at = now + ttl;
    with_conn!(conn, |c| {
        diesel::insert_into(m::table)
            .values((
                m::token_hash.eq(&hash),
                m::user_id.eq(user_id),
                m::finish.eq(finish.as_str()),
                m::platform.eq(storable_text(platform, 64)),
                m::created_at.eq(now),
                m::expires_at.eq(expires_at),
            ))
            .execute(c)
            .await
    })?;
    Ok((token, expires_at))
}

/// The live challenge of `token`, if any (it is not used up).
pub async fn find(
    conn: &mut DbConn,
    token: &str,
    now: PrimitiveDateTime,
) -> Result<Option<Challenge>> {
    let hash = hash_token(token);
    let row: Option<(i64, i64, String, String, PrimitiveDateTime)> = with_conn!(conn, |c| {
        m::table
            .filter(m::token_hash.eq(&hash))
            .filter(m::expires_at.gt(now))
            .select((m::id, m::user_id, m::finish, m::platform, m::expires_at))
            .first(c)
            .await
            .optional()
    })?;
    Ok(row.and_then(|(id, user_id, finish, platform, expires_at)| {
        Some(Challenge {
            id,
            user_id,
            finish: Finish::parse(&finish)?,
            platform,
            expires_at,
        })
    }))
}

/// Uses challenge `id` up: `true` for the one caller whose `DELETE` removed it.
pub async fn consume(conn: &mut DbConn, id: i64) -> Result<bool> {
    let n = with_conn!(conn, |c| diesel::delete(m::table.find(id)).execute(c).await)?;
    Ok(n == 1)
}

/// Ends every open challenge of `user_id` (MFA turned off or reset, the user deleted).
pub async fn revoke_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(m::table.filter(m::user_id.eq(user_id)))
            .execute(c)
            .await
    })?)
}

/// Deletes up to `batch` expired challenges; returns how many.
pub async fn cleanup_expired(conn: &mut DbConn, batch: i64) -> Result<usize> {
    let now = crate::session::now();
    delete_batch!(conn, m, m::expires_at.le(now), batch)
}
