//! API keys: bearer credentials a user creates for scripts and services (SPEC C9.1).
//!
//! A key reads `ak_<8 characters>_<43 characters>`: 256 random bits after a public prefix.
//! It is shown once, at creation; only its SHA-256 is stored (the same hash as session
//! tokens, [`crate::session::hash_token`]), with the prefix for display. A key may be limited
//! to a list of permission codes: it then carries the owner's permissions intersected with
//! that list, else all of the owner's. Deleting a key (or its owner) ends it on the next
//! request on every instance ([`crate::revocation`]).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use time::PrimitiveDateTime;

use crate::db::DbConn;
use crate::db::delete_batch;
use crate::error::{Error, Result};
use crate::revocation;
use crate::schema::auth_api_keys as k;
use crate::session::{hash_token, new_token, now};
use crate::with_conn;

/// What every API key starts with (tells keys from other bearer tokens).
pub const KEY_PREFIX: &str = "ak_";

/// How often, at most, a key's `last_used_at` is written.
pub const LAST_USED_INTERVAL: time::Duration = time::Duration::MINUTE;

/// A stored API key (never the key itself, nor its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiKey {
    /// Row id, to list and revoke.
    pub id: i64,
    /// Owner.
    #[serde(skip)]
    pub user_id: i64,
    /// The owner's label for it.
    pub name: String,
    /// The key's public start (`ak_` and 8 characters), for display.
    pub prefix: String,
    /// The permission codes it is limited to; `None`: all of the owner's.
    pub permissions: Option<Vec<String>>,
    /// When it stops working (UTC); `None`: never.
    #[serde(with = "crate::timefmt::option")]
    pub expires_at: Option<PrimitiveDateTime>,
    /// Creation time (UTC).
    #[serde(with = "crate::timefmt")]
    pub created_at: PrimitiveDateTime,
    /// Last use (UTC, written at most once per [`LAST_USED_INTERVAL`]).
    #[serde(with = "crate::timefmt::option")]
    pub last_used_at: Option<PrimitiveDateTime>,
}

/// The stored row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = k)]
struct Row {
    id: i64,
    user_id: i64,
    name: String,
    prefix: String,
    permissions: Option<String>,
    expires_at: Option<PrimitiveDateTime>,
    created_at: PrimitiveDateTime,
    last_used_at: Option<PrimitiveDateTime>,
}

impl Row {
    fn into_key(self) -> Result<ApiKey> {
        let permissions = match self.permissions {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                Error::Config(format!("api key {}: unreadable permissions: {e}", self.id))
            })?),
            None => None,
        };
        Ok(ApiKey {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            prefix: self.prefix,
            permissions,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

impl ApiKey {
    /// Whether the key works at `now` (not expired).
    pub fn is_live(&self, now: PrimitiveDateTime) -> bool {
        self.expires_at.is_none_or(|end| end > now)
    }

    /// Whether `last_used_at` is due to be written at `now`.
    pub fn use_due(&self, now: PrimitiveDateTime) -> bool {
        self.last_used_at
            .is_none_or(|last| now - last >= LAST_USED_INTERVAL)
    }
}

/// Whether `token` has the shape of an API key (as opposed to another bearer token).
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// Owner.
    pub user_id: i64,
    /// Label.
    pub name: &'a str,
    /// The permission codes to limit it to (checked by the caller against the owner's);
    /// `None`: all of the owner's.
    pub permissions: Option<&'a [String]>,
    /// When it stops working; `None`: never.
    pub expires_at: Option<PrimitiveDateTime>,
}

/// Creates a key; returns the key itself (to show once) and the stored record.
pub async fn create(conn: &mut DbConn, new: NewApiKey<'_>) -> Result<(String, ApiKey)> {
    let public = new_token();
    let prefix = format!("{KEY_PREFIX}{}", &public[..8]);
    let key = format!("{prefix}_{}", new_token());
    let key_hash = hash_token(&key);
    let permissions = match new.permissions {
        Some(codes) => Some(
            serde_json::to_string(codes)
                .map_err(|e| Error::Config(format!("api key permissions: {e}")))?,
        ),
        None => None,
    };
    let row = (
        k::user_id.eq(new.user_id),
        k::name.eq(new.name),
        k::prefix.eq(&prefix),
        k::key_hash.eq(&key_hash),
        k::permissions.eq(permissions),
        k::expires_at.eq(new.expires_at),
        k::created_at.eq(now()),
    );
    let stored: Row = with_conn!(conn, |c| {
        diesel::insert_into(k::table).values(row).execute(c).await?;
        k::table
            .filter(k::key_hash.eq(&key_hash))
            .select(Row::as_select())
            .first(c)
            .await
    })?;
    Ok((key, stored.into_key()?))
}

/// The key whose hash ([`crate::session::hash_token`]) is `key_hash`, live or not.
pub async fn find_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<Option<ApiKey>> {
    let row: Option<Row> = with_conn!(conn, |c| {
        k::table
            .filter(k::key_hash.eq(key_hash))
            .select(Row::as_select())
            .first(c)
            .await
            .optional()
    })?;
    row.map(Row::into_key).transpose()
}

/// A user's keys, newest first.
pub async fn list_for_user(conn: &mut DbConn, user_id: i64) -> Result<Vec<ApiKey>> {
    let rows: Vec<Row> = with_conn!(conn, |c| {
        k::table
            .filter(k::user_id.eq(user_id))
            .order(k::id.desc())
            .select(Row::as_select())
            .load(c)
            .await
    })?;
    rows.into_iter().map(Row::into_key).collect()
}

/// Deletes key `id` if `user_id` owns it; `true` if it did. Caches hear of it.
pub async fn revoke_for_user(conn: &mut DbConn, user_id: i64, id: i64) -> Result<bool> {
    conn.transaction(async |conn: &mut DbConn| {
        let deleted = with_conn!(conn, |c| {
            diesel::delete(k::table.filter(k::id.eq(id)).filter(k::user_id.eq(user_id)))
                .execute(c)
                .await
        })?;
        if deleted > 0 {
            revocation::user_changed(conn, user_id).await?;
        }
        Ok(deleted > 0)
    })
    .await
}

/// Deletes every key of `user_id` (with the user); returns how many. Caches hear of it.
pub async fn delete_for_user(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    let deleted = with_conn!(conn, |c| {
        diesel::delete(k::table.filter(k::user_id.eq(user_id)))
            .execute(c)
            .await
    })?;
    if deleted > 0 {
        revocation::user_changed(conn, user_id).await?;
    }
    Ok(deleted)
}

/// Deletes at most `batch` expired keys; returns how many (call until it returns less than
/// `batch`). An expired key authenticates nobody already, and a cache entry past its
/// key's expiry is never used, so no cache needs telling.
pub async fn cleanup_expired(conn: &mut DbConn, batch: i64) -> Result<usize> {
    let now = now();
    delete_batch!(conn, k, k::expires_at.le(now), batch)
}

/// Records a use of key `id` at `now`. `false` when the key is gone (revoked since it was
/// read).
pub async fn record_use(conn: &mut DbConn, id: i64, at: PrimitiveDateTime) -> Result<bool> {
    let updated = with_conn!(conn, |c| {
        diesel::update(k::table.find(id))
            .set(k::last_used_at.eq(Some(at)))
            .execute(c)
            .await
    })?;
    // MySQL counts changed rows only: tell "same second" apart from a deleted key.
    Ok(updated > 0
        || with_conn!(conn, |c| {
            k::table
                .find(id)
                .select(k::id)
                .first::<i64>(c)
                .await
                .optional()
        })?
        .is_some())
}
