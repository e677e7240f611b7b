//! Server-side sessions: token generation, hashing, expiry, rotation, revocation.
//!
//! The cookie carries an opaque token of 256 random bits (base64url, 43 characters). The
//! database stores only its SHA-256, so a leaked `auth_sessions` table cannot be replayed.
//! Each session has a sliding idle expiry (renewed on use, at most once per
//! [`SessionConfig::touch_interval`] to keep reads free of writes) and an absolute expiry
//! that use never extends.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::db::delete_batch;
use crate::db::{DbConn, storable_text as cut};
use crate::error::Result;
use crate::revocation;
use crate::schema::auth_sessions as s;
use crate::with_conn;

/// Session lifetimes.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A session unused for this long ends. Default 2 weeks.
    pub idle_timeout: Duration,
    /// A session ends this long after login, used or not. Default 30 days.
    pub absolute_timeout: Duration,
    /// Minimum time between two renewals of the idle expiry. Default 60 s.
    pub touch_interval: Duration,
    /// Sudo mode: how recent the session's last proof of identity (the login, a second
    /// factor, `POST reauthenticate`) must be for the actions that add or remove a way in
    /// (an API key, a passkey, TOTP, an external identity). Default 10 minutes.
    pub sudo_window: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle_timeout: Duration::from_secs(14 * 24 * 3600),
            absolute_timeout: Duration::from_secs(30 * 24 * 3600),
            touch_interval: Duration::from_secs(60),
            sudo_window: Duration::from_secs(10 * 60),
        }
    }
}

impl SessionConfig {
    /// The OWASP ASVS level 2 profile (V3.3): a session ends after 30 minutes unused and
    /// 12 hours after login, whatever its use; the touch interval and the sudo window stay
    /// at their defaults. `AUTH_SESSION_PROFILE=asvs_l2` picks it.
    pub fn asvs_l2() -> SessionConfig {
        SessionConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            ..SessionConfig::default()
        }
    }
}

/// A stored session (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = s)]
pub struct Session {
    /// Row id, used to list and revoke sessions.
    pub id: i64,
    /// SHA-256 of the token, hex. Not serialized.
    #[serde(skip)]
    pub token_hash: String,
    /// Owner.
    pub user_id: i64,
    /// Backend that authenticated it (`default`, `jwt`, ...).
    pub platform: String,
    /// Login time (UTC).
    #[serde(with = "crate::timefmt")]
    pub created_at: PrimitiveDateTime,
    /// Last use (UTC, renewed at most once per touch interval).
    #[serde(with = "crate::timefmt")]
    pub last_seen_at: PrimitiveDateTime,
    /// End if unused (UTC).
    #[serde(with = "crate::timefmt")]
    pub idle_expires_at: PrimitiveDateTime,
    /// End regardless of use (UTC).
    #[serde(with = "crate::timefmt")]
    pub absolute_expires_at: PrimitiveDateTime,
    /// Client IP at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
    /// Backend data (JSON text).
    #[serde(skip)]
    pub session_info: String,
    /// When the login passed a second factor (a TOTP or backup code, a passkey); `None`
    /// for a password-only login.
    #[serde(with = "crate::timefmt::option")]
    pub mfa_at: Option<PrimitiveDateTime>,
    /// When the user last proved who they are again in this session
    /// (`POST reauthenticate`), if ever.
    #[serde(with = "crate::timefmt::option")]
    pub reauthenticated_at: Option<PrimitiveDateTime>,
}

/// What a new session records about its client.
#[derive(Debug, Clone, Default)]
pub struct NewSession<'a> {
    /// The authenticated user.
    pub user_id: i64,
    /// The backend that authenticated it.
    pub platform: &'a str,
    /// Client IP.
    pub ip: Option<&'a str>,
    /// Client user agent (cut to 512 characters).
    pub user_agent: Option<&'a str>,
    /// Backend `session_info` as JSON.
    pub session_info: Option<serde_json::Value>,
    /// Whether the login passed a second factor (recorded as the session's `mfa_at`).
    pub mfa: bool,
}

/// The current time in UTC, at microsecond precision (what every backend stores).
pub fn now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_nanosecond(now.microsecond() * 1000)
        .unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// A new random token: 32 bytes from a CSPRNG (rand's thread generator, seeded by the OS),
/// base64url without padding.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex: the only form stored.
pub fn hash_token(token: &str) -> String {
    hex_digest(&token_digest(token))
}

/// SHA-256 of a token, raw: what [`hash_token`] encodes (the session cache's key).
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A [`token_digest`] as [`hash_token`] writes it (lowercase hex).
pub fn hex_digest(digest: &[u8; 32]) -> String {
    let mut out = [0u8; 64];
    // 64 bytes of output for 32 of input: the length always fits.
    hex::encode_to_slice(digest, &mut out).expect("64 hex digits for 32 bytes");
    out.iter().map(|&b| char::from(b)).collect()
}

/// Creates a session and returns the cookie token with the stored row.
pub async fn create(
    conn: &mut DbConn,
    new: NewSession<'_>,
    config: &SessionConfig,
) -> Result<(String, Session)> {
    let token = new_token();
    let token_hash = hash_token(&token);
    let now = now();
    let row = (
        s::token_hash.eq(&token_hash),
        s::user_id.eq(new.user_id),
        s::platform.eq(cut(new.platform, 64)),
        s::created_at.eq(now),
        s::last_seen_at.eq(now),
        s::idle_expires_at.eq(now + config.idle_timeout),
        s::absolute_expires_at.eq(now + config.absolute_timeout),
        s::ip.eq(new.ip.map(|ip| cut(ip, 64))),
        s::user_agent.eq(new.user_agent.map(|ua| cut(ua, 512))),
        s::session_info.eq(new
            .session_info
            .unwrap_or_else(|| serde_json::json!({}))
            .to_string()),
        s::mfa_at.eq(new.mfa.then_some(now)),
    );
    let session = with_conn!(conn, |c| {
        diesel::insert_into(s::table).values(row).execute(c).await?;
        s::table
            .filter(s::token_hash.eq(&token_hash))
            .select(Session::as_select())
            .first(c)
            .await
    })?;
    Ok((token, session))
}

/// The live session for a cookie token, renewing its idle expiry when due. Expired sessions
/// are deleted and reported as absent.
pub async fn load(
    conn: &mut DbConn,
    token: &str,
    config: &SessionConfig,
) -> Result<Option<Session>> {
    let hash = hash_token(token);
    let found: Option<Session> = with_conn!(conn, |c| {
        s::table
            .filter(s::token_hash.eq(&hash))
            .select(Session::as_select())
            .first(c)
            .await
            .optional()
    })?;
    match found {
        Some(session) => keep_alive(conn, session, config).await,
        None => Ok(None),
    }
}

/// Session `id`, live or not.
pub async fn find_by_id(conn: &mut DbConn, id: i64) -> Result<Option<Session>> {
    Ok(with_conn!(conn, |c| {
        s::table
            .find(id)
            .select(Session::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

impl Session {
    /// Whether it is live at `now` (neither idle nor absolute expiry passed).
    pub fn is_live(&self, now: PrimitiveDateTime) -> bool {
        self.idle_expires_at > now && self.absolute_expires_at > now
    }

    /// Whether the login passed a second factor.
    pub fn passed_mfa(&self) -> bool {
        self.mfa_at.is_some()
    }

    /// The user's last proof of identity in this session: the login, a second factor, or
    /// a reauthentication, whichever came last.
    pub fn proven_at(&self) -> PrimitiveDateTime {
        [self.mfa_at, self.reauthenticated_at]
            .into_iter()
            .flatten()
            .fold(self.created_at, PrimitiveDateTime::max)
    }

    /// Whether the last proof of identity ([`Session::proven_at`]) is at most `max_age`
    /// old at `now`.
    pub fn is_fresh(&self, max_age: Duration, now: PrimitiveDateTime) -> bool {
        now - self.proven_at() <= max_age
    }
}

/// Records that the user of session `id` proved who they are again at `now` (and, with
/// `mfa`, passed a second factor). Session caches hear of it ([`crate::revocation`]), so
/// the next request sees the fresh session.
pub async fn reauthenticated(
    conn: &mut DbConn,
    id: i64,
    user_id: i64,
    now: PrimitiveDateTime,
    mfa: bool,
) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        let target = s::table.filter(s::id.eq(id)).filter(s::user_id.eq(user_id));
        if mfa {
            diesel::update(target)
                .set((s::reauthenticated_at.eq(now), s::mfa_at.eq(now)))
                .execute(c)
                .await
        } else {
            diesel::update(target)
                .set(s::reauthenticated_at.eq(now))
                .execute(c)
                .await
        }
    })?;
    if n > 0 {
        revocation::user_changed(conn, user_id).await?;
    }
    Ok(n > 0)
}

/// A session just looked up, if it is still live: an expired one is deleted and reported
/// as absent; a live one has its idle expiry renewed when due (at most one `UPDATE` per
/// [`SessionConfig::touch_interval`]).
pub async fn keep_alive(
    conn: &mut DbConn,
    mut session: Session,
    config: &SessionConfig,
) -> Result<Option<Session>> {
    let now = now();
    if session.idle_expires_at <= now || session.absolute_expires_at <= now {
        delete_by_id(conn, session.id).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= config.touch_interval
        && !touch(conn, &mut session, now, config).await?
    {
        // Ended between the read and the touch.
        return Ok(None);
    }
    Ok(Some(session))
}

/// Renews the idle expiry of a session in use (never past its absolute expiry). `false`
/// when the session is gone (ended since it was read): treat it as revoked.
pub async fn touch(
    conn: &mut DbConn,
    session: &mut Session,
    now: PrimitiveDateTime,
    config: &SessionConfig,
) -> Result<bool> {
    let idle = (now + config.idle_timeout).min(session.absolute_expires_at);
    let id = session.id;
    let updated = with_conn!(conn, |c| {
        diesel::update(s::table.find(id))
            .set((s::last_seen_at.eq(now), s::idle_expires_at.eq(idle)))
            .execute(c)
            .await
    })?;
    session.last_seen_at = now;
    session.idle_expires_at = idle;
    // MySQL counts changed rows only: a second touch within the same second changes
    // nothing. Tell that apart from a deleted row.
    Ok(updated > 0 || exists(conn, id).await?)
}

/// Whether session `id` still exists.
async fn exists(conn: &mut DbConn, id: i64) -> Result<bool> {
    Ok(with_conn!(conn, |c| {
        s::table
            .find(id)
            .select(s::id)
            .first::<i64>(c)
            .await
            .optional()
    })?
    .is_some())
}

/// Ends the session of a cookie token. `true` if one existed. Session caches hear of it
/// ([`crate::revocation`]).
pub async fn delete_by_token(conn: &mut DbConn, token: &str) -> Result<bool> {
    let hash = hash_token(token);
    let id: Option<i64> = with_conn!(conn, |c| {
        s::table
            .filter(s::token_hash.eq(&hash))
            .select(s::id)
            .first(c)
            .await
            .optional()
    })?;
    match id {
        Some(id) => delete_by_id(conn, id).await,
        None => Ok(false),
    }
}

/// Ends one session by id. Session caches hear of it ([`crate::revocation`]).
pub async fn delete_by_id(conn: &mut DbConn, id: i64) -> Result<bool> {
    let owner: Option<i64> = with_conn!(conn, |c| {
        s::table
            .find(id)
            .select(s::user_id)
            .first(c)
            .await
            .optional()
    })?;
    let Some(user_id) = owner else {
        return Ok(false);
    };
    let n = with_conn!(conn, |c| diesel::delete(s::table.find(id)).execute(c).await)?;
    revocation::user_changed(conn, user_id).await?;
    Ok(n > 0)
}

/// Ends one of a user's sessions by id; `false` if the user has no session with that id
/// (so one user cannot end another's).
pub async fn revoke_for_user(conn: &mut DbConn, user_id: i64, id: i64) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        diesel::delete(s::table.filter(s::id.eq(id)).filter(s::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    if n > 0 {
        revocation::user_changed(conn, user_id).await?;
    }
    Ok(n > 0)
}

/// Ends every session of a user except `keep` (the current one, if any). Returns how many.
/// Session caches hear of it ([`crate::revocation`]).
pub async fn delete_for_user(conn: &mut DbConn, user_id: i64, keep: Option<i64>) -> Result<usize> {
    let keep = keep.unwrap_or(-1);
    let n = with_conn!(conn, |c| {
        diesel::delete(
            s::table
                .filter(s::user_id.eq(user_id))
                .filter(s::id.ne(keep)),
        )
        .execute(c)
        .await
    })?;
    revocation::user_changed(conn, user_id).await?;
    Ok(n)
}

/// A user's live sessions, most recently used first.
pub async fn list_for_user(conn: &mut DbConn, user_id: i64) -> Result<Vec<Session>> {
    let now = now();
    Ok(with_conn!(conn, |c| {
        s::table
            .filter(s::user_id.eq(user_id))
            .filter(s::idle_expires_at.gt(now))
            .filter(s::absolute_expires_at.gt(now))
            .order((s::last_seen_at.desc(), s::id.desc()))
            .select(Session::as_select())
            .load(c)
            .await
    })?)
}

/// Deletes at most `batch` expired sessions; call until it returns less than `batch`.
/// Bounded so that cleanup never holds long locks.
pub async fn cleanup_expired(conn: &mut DbConn, batch: i64) -> Result<usize> {
    let now = now();
    delete_batch!(
        conn,
        s,
        s::idle_expires_at
            .le(now)
            .or(s::absolute_expires_at.le(now)),
        batch
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "256 bits in base64url");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
