//! Backup codes: ten single-use codes shown once when MFA is turned on (or regenerated),
//! for when the authenticator is lost.
//!
//! A code is 10 characters from a 31-letter alphabet without look-alikes (about 50 bits),
//! shown as `xxxxx-xxxxx`. What is stored is a keyed digest of the user id and the
//! normalized code: HMAC-SHA256 under a key derived from the MFA key ([`CodeKey`]),
//! written `h1:` and 43 base64url characters. About 50 bits would not resist a brute force
//! of a plain hash taken from a database dump; without the key, a digest reveals nothing.
//! Codes stored by earlier versions (the plain SHA-256, 64 hex digits) still verify until
//! they are used or replaced. A code is used up by the one `UPDATE` that sets its
//! `used_at`: two requests racing with the same code cannot both pass.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;

use super::MfaConfig;
use crate::db::DbConn;
use crate::error::Result;
use crate::schema::auth_mfa_backup_codes as b;
use crate::with_conn;

/// How many codes a user gets.
pub const COUNT: usize = 10;
/// The letters a code is made of: lowercase letters and digits without `0 o 1 l i`.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Characters per code (without the dash).
const LEN: usize = 10;

/// A new code, `xxxxx-xxxxx`.
fn new_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("{}-{}", &chars[..LEN / 2], &chars[LEN / 2..])
}

/// The code as typed, cleaned: case, spaces and dashes do not matter. `None` when it
/// cannot be a code.
fn normalized(code: &str) -> Option<String> {
    let clean: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (clean.len() == LEN && clean.bytes().all(|b| ALPHABET.contains(&b))).then_some(clean)
}

/// The key of the backup codes' digests, derived from the MFA key
/// ([`MfaConfig::key`]): changing that key makes the stored codes unusable, as it does
/// the TOTP secrets.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

impl CodeKey {
    /// The key of `config`'s backup codes.
    pub fn of(config: &MfaConfig) -> CodeKey {
        CodeKey(config.key.derive("auth-core mfa backup codes v1"))
    }
}

/// The prefix of a keyed digest.
const KEYED: &str = "h1:";

/// What is stored of a code: the keyed digest.
fn digest(key: &CodeKey, user_id: i64, normalized: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    mac.update(format!("{user_id}:{normalized}").as_bytes());
    format!(
        "{KEYED}{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// What earlier versions stored: the plain SHA-256 (still accepted until used).
fn legacy_digest(user_id: i64, normalized: &str) -> String {
    hex::encode(Sha256::digest(format!("{user_id}:{normalized}").as_bytes()))
}

/// Replaces `user_id`'s codes with [`COUNT`] new ones and returns them (the only time
/// they are seen). Run it in the transaction that turns MFA on or regenerates.
pub async fn replace(
    conn: &mut DbConn,
    key: &CodeKey,
    user_id: i64,
    now: PrimitiveDateTime,
) -> Result<Vec<String>> {
    let codes: Vec<String> = (0..COUNT).map(|_| new_code()).collect();
    let rows: Vec<_> = codes
        .iter()
        .map(|code| {
            let clean = normalized(code).unwrap_or_default();
            (
                b::user_id.eq(user_id),
                b::code_hash.eq(digest(key, user_id, &clean)),
                b::used_at.eq(None::<PrimitiveDateTime>),
                b::created_at.eq(now),
            )
        })
        .collect();
    with_conn!(conn, |c| {
        diesel::delete(b::table.filter(b::user_id.eq(user_id)))
            .execute(c)
            .await?;
        // One row per statement: SQLite's Diesel has no multi-row insert of these.
        for row in &rows {
            diesel::insert_into(b::table)
                .values(row.clone())
                .execute(c)
                .await?;
        }
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(codes)
}

/// Uses `code` up for `user_id`: `true` when it was one of their unused codes. Without a
/// `key` (a server without MFA configured) only codes stored by earlier versions can match.
pub async fn redeem(
    conn: &mut DbConn,
    key: Option<&CodeKey>,
    user_id: i64,
    code: &str,
    now: PrimitiveDateTime,
) -> Result<bool> {
    let Some(clean) = normalized(code) else {
        return Ok(false);
    };
    let mut hashes = vec![legacy_digest(user_id, &clean)];
    if let Some(key) = key {
        hashes.push(digest(key, user_id, &clean));
    }
    let found: Option<i64> = with_conn!(conn, |c| {
        b::table
            .filter(b::user_id.eq(user_id))
            .filter(b::code_hash.eq_any(&hashes))
            .filter(b::used_at.is_null())
            .select(b::id)
            .first(c)
            .await
            .optional()
    })?;
    let Some(id) = found else {
        return Ok(false);
    };
    let n = with_conn!(conn, |c| {
        diesel::update(b::table.find(id).filter(b::used_at.is_null()))
            .set(b::used_at.eq(Some(now)))
            .execute(c)
            .await
    })?;
    Ok(n == 1)
}

/// How many of `user_id`'s codes are still unused.
pub async fn remaining(conn: &mut DbConn, user_id: i64) -> Result<i64> {
    Ok(with_conn!(conn, |c| {
        b::table
            .filter(b::user_id.eq(user_id))
            .filter(b::used_at.is_null())
            .count()
            .get_result(c)
            .await
    })?)
}

/// Deletes all of `user_id`'s codes.
pub async fn remove(conn: &mut DbConn, user_id: i64) -> Result<usize> {
    Ok(with_conn!(conn, |c| {
        diesel::delete(b::table.filter(b::user_id.eq(user_id)))
            .execute(c)
            .await
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape_and_normalize() {
        let code = new_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let clean = normalized(&code).unwrap();
        assert_eq!(
            normalized(&code.to_uppercase()).as_deref(),
            Some(clean.as_str())
        );
        assert_eq!(
            normalized(&format!(" {} ", clean)).as_deref(),
            Some(clean.as_str())
        );
        assert!(normalized("123456").is_none());
        assert!(
            normalized("abcde-fghi0").is_none(),
            "0 is not in the alphabet"
        );
        let key = CodeKey([7; 32]);
        assert_ne!(
            digest(&key, 1, &clean),
            digest(&key, 2, &clean),
            "bound to the user"
        );
        assert_ne!(
            digest(&key, 1, &clean),
            digest(&CodeKey([8; 32]), 1, &clean),
            "bound to the key"
        );
        let stored = digest(&key, 1, &clean);
        assert!(stored.starts_with(KEYED) && stored.len() <= 64, "{stored}");
        assert_ne!(stored, legacy_digest(1, &clean));
    }
}
