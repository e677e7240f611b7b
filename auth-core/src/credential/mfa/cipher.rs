//! The TOTP secret's encryption at rest: XChaCha20-Poly1305 (RustCrypto) under a 256-bit
//! key from the configuration.
//!
//! A stored secret is `v1.` followed by base64url of a random 192-bit nonce and the
//! ciphertext with its tag. The user id is the associated data, so a ciphertext copied to
//! another user's row does not open.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::{Error, Result};

/// The version tag of the stored format.
const VERSION: &str = "v1.";
/// XChaCha20's nonce length.
const NONCE_LEN: usize = 24;

/// A 256-bit key that encrypts second-factor secrets at rest. Its `Debug` shows nothing
/// of it.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key for another purpose, derived from this one: HMAC-SHA256 of `label` under it.
    /// The backup codes' keyed digests use one, so that no key serves two purposes.
    pub(crate) fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// A key written as 64 hex digits or as base64 (standard or URL-safe, padded or not)
    /// of 32 bytes: the form of `AUTH_MFA_KEY`. The error never repeats the text.
    pub fn parse(text: &str) -> Result<SecretKey> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            let unpadded = text.trim_end_matches('=');
            URL_SAFE_NO_PAD
                .decode(unpadded)
                .ok()
                .or_else(|| STANDARD.decode(text).ok())
        };
        let bytes: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
            Error::Config("the MFA key must be 32 bytes, as 64 hex digits or base64".into())
        })?;
        Ok(SecretKey(bytes))
    }

    /// A new random key (from the operating system's generator), for tests and for
    /// generating a configuration value.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// The key as base64url, the form [`SecretKey::parse`] reads back.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// `plaintext` sealed for `user_id`'s row.
    pub(crate) fn seal(&self, user_id: i64, plaintext: &[u8]) -> Result<String> {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(user_id);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Config("cannot encrypt the MFA secret".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens what [`SecretKey::seal`] stored for `user_id`. A wrong key, a changed text or
    /// another user's row is an error (logged by the caller; the text is never shown).
    pub(crate) fn open(&self, user_id: i64, stored: &str) -> Result<Vec<u8>> {
        let refused = || {
            Error::Config(
                "a stored MFA secret does not open with the configured key (was AUTH_MFA_KEY changed?)"
                    .into(),
            )
        };
        let body = stored.strip_prefix(VERSION).ok_or_else(refused)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| refused())?;
        if raw.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let aad = associated_data(user_id);
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| refused())
    }
}

/// What binds a ciphertext to its row.
fn associated_data(user_id: i64) -> Vec<u8> {
    format!("auth_mfa_totp:{user_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let key = SecretKey::generate();
        let sealed = key.seal(7, b"twenty bytes secret!").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("twenty"));
        assert_eq!(key.open(7, &sealed).unwrap(), b"twenty bytes secret!");
        assert!(key.open(8, &sealed).is_err(), "another user's row");
        assert!(
            SecretKey::generate().open(7, &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(7, &tampered).is_err(), "a changed text");
        assert_ne!(
            key.seal(7, b"x").unwrap(),
            key.seal(7, b"x").unwrap(),
            "fresh nonces"
        );
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_errors_hide_the_text() {
        let key = SecretKey::generate();
        let hex = hex::encode(key.0);
        assert_eq!(SecretKey::parse(&hex).unwrap().0, key.0);
        assert_eq!(SecretKey::parse(&key.to_base64()).unwrap().0, key.0);
        assert_eq!(SecretKey::parse(&STANDARD.encode(key.0)).unwrap().0, key.0);
        let err = SecretKey::parse("c2hvcnQtc2VjcmV0")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("c2hvcnQtc2VjcmV0"), "{err}");
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
    }
}
