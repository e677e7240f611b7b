//! TOTP authenticators (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), by `totp-rs`.
//!
//! A setup stores a new 160-bit secret, encrypted ([`super::SecretKey`]), with
//! `enabled_at` unset; the first right code confirms it. A code is accepted for the
//! current step and one step either side, and never twice: the last accepted step is
//! stored, and a code is taken only by the one `UPDATE` that moves it forward (two
//! requests racing with the same code cannot both pass).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use time::PrimitiveDateTime;
use totp_rs::{Builder, Secret, Totp};

use super::MfaConfig;
use crate::db::DbConn;
use crate::error::{AuthError, Error, Result};
use crate::schema::auth_mfa_totp as t;
use crate::with_conn;

/// The secret's length: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// What a setup shows the user once: the secret for manual entry, the `otpauth://` URI
/// for authenticator apps, and that URI as an SVG QR code.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = TotpSetup)]
pub struct Setup {
    /// The secret, base32 without padding (32 characters).
    pub secret: String,
    /// `otpauth://totp/<issuer>:<account>?secret=..&issuer=..&algorithm=SHA1&digits=6&period=30`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// The TOTP of a secret.
fn totp(secret: &[u8]) -> Result<Totp> {
    Builder::new()
        .with_secret(Secret::from(secret.to_vec()))
        .build()
        .map_err(|e| Error::Config(format!("TOTP parameters: {e}")))
}

/// The code of `secret` (base32, at least 128 bits) at `unix` seconds, for tests and
/// tools that act as the authenticator; `None` for a secret that is not base32 or too
/// short.
pub fn code_at(secret_base32: &str, unix: u64) -> Option<String> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    let totp = totp(secret.as_ref()).ok()?;
    Some(totp.generate(unix).to_string())
}

/// Seconds since the Unix epoch of a UTC timestamp (0 before the epoch).
fn unix(now: PrimitiveDateTime) -> u64 {
    u64::try_from(now.assume_utc().unix_timestamp()).unwrap_or(0)
}

/// The code's shape: 6 digits, spaces allowed between them (as apps show `123 456`).
fn normalized(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The step `code` is right for at `now`, within one step either side.
fn matching_step(secret: &[u8], code: &str, now: PrimitiveDateTime) -> Result<Option<i64>> {
    let Some(code) = normalized(code) else {
        return Ok(None);
    };
    let step = totp(secret)?.check(&code, unix(now));
    Ok(step.and_then(|s| i64::try_from(s).ok()))
}

/// `otpauth://totp/...` for `account` under `issuer`, with every parameter spelled out
/// (some apps do not assume the defaults).
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{issuer_enc}:{account}?secret={secret_base32}&issuer={issuer_enc}&algorithm=SHA1&digits=6&period=30",
        issuer_enc = enc(issuer),
        account = enc(account),
    )
}

/// The QR code of `text` as an SVG document.
fn qr_svg(text: &str) -> Result<String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| Error::Config(format!("QR code: {e}")))?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// One user's stored authenticator.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = t)]
struct Row {
    secret: String,
    enabled_at: Option<PrimitiveDateTime>,
    last_step: i64,
}

async fn row(conn: &mut DbConn, user_id: i64) -> Result<Option<Row>> {
    Ok(with_conn!(conn, |c| {
        t::table
            .find(user_id)
            .select(Row::as_select())
            .first(c)
            .await
            .optional()
    })?)
}

/// Whether `user_id` has a confirmed authenticator.
pub async fn is_enabled(conn: &mut DbConn, user_id: i64) -> Result<bool> {
    Ok(row(conn, user_id)
        .await?
        .is_some_and(|r| r.enabled_at.is_some()))
}

/// Starts a setup for `user_id`: a new secret replaces any unconfirmed one.
/// [`AuthError::MfaAlreadyEnabled`] when an authenticator is on (disable it first).
pub async fn begin(
    conn: &mut DbConn,
    config: &MfaConfig,
    user_id: i64,
    account: &str,
    now: PrimitiveDateTime,
) -> std::result::Result<Setup, AuthError> {
    if row(conn, user_id)
        .await?
        .is_some_and(|r| r.enabled_at.is_some())
    {
        return Err(AuthError::MfaAlreadyEnabled);
    }
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let sealed = config.key.seal(user_id, &bytes)?;
    let secret = Secret::from(bytes.to_vec()).to_base32();
    let otpauth_uri = otpauth_uri(&config.issuer, account, &secret);
    let qr_svg = qr_svg(&otpauth_uri)?;
    let stored: std::result::Result<usize, Error> = async {
        Ok(with_conn!(conn, |c| {
            // Only a pending setup is replaced: the filter keeps a confirmed one that a
            // concurrent confirm just enabled.
            diesel::delete(t::table.find(user_id).filter(t::enabled_at.is_null()))
                .execute(c)
                .await?;
            diesel::insert_into(t::table)
                .values((
                    t::user_id.eq(user_id),
                    t::secret.eq(&sealed),
                    t::enabled_at.eq(None::<PrimitiveDateTime>),
                    t::last_step.eq(0i64),
                    t::created_at.eq(now),
                ))
                .execute(c)
                .await
        })?)
    }
    .await;
    stored.map_err(|e| match e {
        Error::Conflict { .. } => AuthError::MfaAlreadyEnabled,
        other => other.into(),
    })?;
    Ok(Setup {
        secret,
        otpauth_uri,
        qr_svg,
    })
}

/// Takes `code` for `user_id`'s authenticator, pending (`confirming`) or enabled: `true`
/// when it is right for the current step (±1) and that step is later than the last one
/// accepted. A pending setup is enabled by its first right code.
pub async fn accept(
    conn: &mut DbConn,
    config: &MfaConfig,
    user_id: i64,
    code: &str,
    now: PrimitiveDateTime,
    confirming: bool,
) -> std::result::Result<bool, AuthError> {
    let Some(found) = row(conn, user_id).await? else {
        return Err(AuthError::MfaNotEnabled);
    };
    if found.enabled_at.is_some() == confirming {
        return Err(if confirming {
            AuthError::MfaAlreadyEnabled
        } else {
            AuthError::MfaNotEnabled
        });
    }
    let secret = config.key.open(user_id, &found.secret).inspect_err(|e| {
        tracing::error!(user_id, error = %e, "TOTP secret does not open");
    })?;
    let Some(step) = matching_step(&secret, code, now)? else {
        return Ok(false);
    };
    if step <= found.last_step {
        tracing::info!(user_id, "TOTP code replayed");
        return Ok(false);
    }
    let taken = with_conn!(conn, |c| {
        let target = t::table
            .find(user_id)
            .filter(t::last_step.lt(step))
            .filter(t::secret.eq(&found.secret));
        if confirming {
            diesel::update(target)
                .set((t::last_step.eq(step), t::enabled_at.eq(Some(now))))
                .execute(c)
                .await
        } else {
            diesel::update(target)
                .set(t::last_step.eq(step))
                .execute(c)
                .await
        }
    })
    .map_err(Error::from)?;
    Ok(taken == 1)
}

/// Removes `user_id`'s authenticator (pending or enabled). `true` if there was one.
pub async fn remove(conn: &mut DbConn, user_id: i64) -> Result<bool> {
    let n = with_conn!(conn, |c| {
        diesel::delete(t::table.find(user_id)).execute(c).await
    })?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1, last 6 digits of the 8-digit values.
        let secret = b"12345678901234567890";
        let base32 = Secret::from(secret.to_vec()).to_base32();
        for (unix, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(&base32, unix).as_deref(), Some(code), "at {unix}");
        }
    }

    #[test]
    fn window_is_one_step_either_side() {
        let secret = b"12345678901234567890";
        let base32 = Secret::from(secret.to_vec()).to_base32();
        let at = |unix: i64| {
            let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
            PrimitiveDateTime::new(t.date(), t.time())
        };
        let now = 1_700_000_015;
        for (offset, ok) in [
            (-60, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let code = code_at(&base32, u64::try_from(now + offset).unwrap()).unwrap();
            let step = matching_step(secret, &code, at(now)).unwrap();
            assert_eq!(step.is_some(), ok, "offset {offset}");
        }
        let code = code_at(&base32, 1_700_000_015).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(matching_step(secret, &spaced, at(now)).unwrap().is_some());
        assert!(matching_step(secret, "12345", at(now)).unwrap().is_none());
        assert!(matching_step(secret, "abcdef", at(now)).unwrap().is_none());
    }

    #[test]
    fn otpauth_uri_spells_out_every_parameter() {
        let uri = otpauth_uri("My App", "alice@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/My%20App:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=My%20App&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }
}
