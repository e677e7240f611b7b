//! JWT access tokens (SPEC C9.2): signing keys, key rotation, verification and the JWKS.
//!
//! An access token is a signed JWT (`sub`, `sid`, `iat`, `exp`, `jti`, `iss`, and `kid` in
//! the header), short-lived ([`JwtConfig::access_ttl`], 15 minutes by default). `sid` names
//! the session its refresh family belongs to (the refresh-token store): ending that session
//! (logout, revocation, a password change elsewhere, deactivation) ends the token on its
//! next request, and the token carries no permissions: guards read the user's current
//! ones.
//!
//! Signing and verification are [`jsonwebtoken`]'s (pure-Rust crypto). EdDSA (Ed25519) is
//! the default; HS256 and RS256 can be configured. One key signs, several may verify
//! ([`JwtConfig::verify_also`]): to rotate, publish the new key as verify-only everywhere,
//! then make it the signing key and keep the old one verify-only until the last token it
//! signed has expired, then drop it. A token is verified only with the key its `kid`
//! names and only with that key's algorithm: `alg: none`, an unknown `kid` and algorithm
//! confusion (an HS256 token "signed" with a public key) are refused.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The signature algorithms a key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// Ed25519 signatures (the default): small keys, fast, no parameter choices to get wrong.
    EdDSA,
    /// HMAC-SHA256 with a shared secret: every verifier can also sign; never published in
    /// the JWKS.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, for verifiers that know nothing else.
    RS256,
}

impl JwtAlgorithm {
    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            JwtAlgorithm::EdDSA => Algorithm::EdDSA,
            JwtAlgorithm::HS256 => Algorithm::HS256,
            JwtAlgorithm::RS256 => Algorithm::RS256,
        }
    }

    /// The JOSE name (`EdDSA`, `HS256`, `RS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::EdDSA => "EdDSA",
            JwtAlgorithm::HS256 => "HS256",
            JwtAlgorithm::RS256 => "RS256",
        }
    }
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtKeyError {
    /// The key material is not what the constructor expects; the message says what.
    #[error("JWT key {kid:?}: {message}")]
    Invalid {
        /// The key's id.
        kid: String,
        /// What is wrong (never the key material).
        message: String,
    },
    /// Two keys share a `kid`.
    #[error("JWT key {0:?}: another key has the same kid")]
    DuplicateKid(String),
    /// The signing key holds no private part.
    #[error("JWT key {0:?}: a verify-only key cannot sign")]
    CannotSign(String),
}

/// One key: its id (`kid`), algorithm, the private part when it can sign, and the public
/// JWK when it has one to publish. `Debug` never shows key material.
#[derive(Clone)]
pub struct JwtKey {
    kid: String,
    algorithm: JwtAlgorithm,
    signing: Option<EncodingKey>,
    verifying: DecodingKey,
    public: Option<Jwk>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.signing.is_some())
            .finish_non_exhaustive()
    }
}

/// Shortest HS256 secret accepted: 256 bits, the hash's own size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET: usize = 32;

impl JwtKey {
    fn invalid(kid: &str, message: impl Into<String>) -> JwtKeyError {
        JwtKeyError::Invalid {
            kid: kid.to_owned(),
            message: message.into(),
        }
    }

    /// The public JWK of an asymmetric key, with its `kid`, `alg` and `use: sig`.
    fn publish(
        kid: &str,
        algorithm: JwtAlgorithm,
        verifying: &DecodingKey,
    ) -> Result<Jwk, JwtKeyError> {
        let mut jwk = Jwk::from_decoding_key(verifying, Some(algorithm.to_jsonwebtoken()))
            .map_err(|e| JwtKey::invalid(kid, format!("no public key to publish: {e}")))?;
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match algorithm {
            JwtAlgorithm::EdDSA => KeyAlgorithm::EdDSA,
            JwtAlgorithm::HS256 => KeyAlgorithm::HS256,
            JwtAlgorithm::RS256 => KeyAlgorithm::RS256,
        });
        Ok(jwk)
    }

    /// An Ed25519 key from its 32-byte seed.
    fn ed25519_from_signing(
        kid: String,
        key: ed25519_dalek::SigningKey,
    ) -> Result<Self, JwtKeyError> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| JwtKey::invalid(&kid, format!("cannot encode the key: {e}")))?;
        let verifying = DecodingKey::from_ed_der(key.verifying_key().as_bytes());
        let public = JwtKey::publish(&kid, JwtAlgorithm::EdDSA, &verifying)?;
        Ok(JwtKey {
            signing: Some(EncodingKey::from_ed_der(der.as_bytes())),
            verifying,
            public: Some(public),
            algorithm: JwtAlgorithm::EdDSA,
            kid,
        })
    }

    /// A new random Ed25519 signing key. It lives in memory only: tokens it signed stop
    /// verifying when the process exits, and other instances cannot verify them. Use
    /// [`JwtKey::ed25519_pem`] with a stored key in production.
    pub fn generate_ed25519(kid: impl Into<String>) -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let kid = kid.into();
        // A fresh 32-byte seed always encodes.
        JwtKey::ed25519_from_signing(kid, ed25519_dalek::SigningKey::from_bytes(&seed))
            .expect("a generated Ed25519 key encodes")
    }

    /// An Ed25519 signing key from a PKCS#8 PEM (`openssl genpkey -algorithm ed25519`).
    pub fn ed25519_pem(kid: impl Into<String>, private_pem: &str) -> Result<Self, JwtKeyError> {
        let kid = kid.into();
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(private_pem)
            .map_err(|_| JwtKey::invalid(&kid, "not an Ed25519 private key in PKCS#8 PEM"))?;
        JwtKey::ed25519_from_signing(kid, key)
    }

    /// A verify-only Ed25519 key from its public PEM (`openssl pkey -pubout`).
    pub fn ed25519_public_pem(
        kid: impl Into<String>,
        public_pem: &str,
    ) -> Result<Self, JwtKeyError> {
        let kid = kid.into();
        let verifying = DecodingKey::from_ed_pem(public_pem.as_bytes())
            .map_err(|_| JwtKey::invalid(&kid, "not an Ed25519 public key in PEM"))?;
        let public = JwtKey::publish(&kid, JwtAlgorithm::EdDSA, &verifying)?;
        Ok(JwtKey {
            kid,
            algorithm: JwtAlgorithm::EdDSA,
            signing: None,
            verifying,
            public: Some(public),
        })
    }

    /// An HS256 key: a shared secret of at least [`MIN_HMAC_SECRET`] bytes. It signs and
    /// verifies, and is never published.
    pub fn hs256(kid: impl Into<String>, secret: &[u8]) -> Result<Self, JwtKeyError> {
        let kid = kid.into();
        if secret.len() < MIN_HMAC_SECRET {
            return Err(JwtKey::invalid(
                &kid,
                format!("an HS256 secret needs at least {MIN_HMAC_SECRET} bytes"),
            ));
        }
        let signing =
            EncodingKey::from_secret(secret).map_err(|e| JwtKey::invalid(&kid, e.to_string()))?;
        let verifying =
            DecodingKey::from_secret(secret).map_err(|e| JwtKey::invalid(&kid, e.to_string()))?;
        Ok(JwtKey {
            kid,
            algorithm: JwtAlgorithm::HS256,
            signing: Some(signing),
            verifying,
            public: None,
        })
    }

    /// An RS256 signing key from an RSA private key in PEM (PKCS#1 or PKCS#8).
    pub fn rs256_pem(kid: impl Into<String>, private_pem: &str) -> Result<Self, JwtKeyError> {
        let kid = kid.into();
        let signing = EncodingKey::from_rsa_pem(private_pem.as_bytes())
            .map_err(|_| JwtKey::invalid(&kid, "not an RSA private key in PEM"))?;
        let jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256)
            .map_err(|_| JwtKey::invalid(&kid, "not a usable RSA private key"))?;
        let verifying = DecodingKey::from_jwk(&jwk)
            .map_err(|_| JwtKey::invalid(&kid, "not a usable RSA private key"))?;
        let public = JwtKey::publish(&kid, JwtAlgorithm::RS256, &verifying)?;
        Ok(JwtKey {
            kid,
            algorithm: JwtAlgorithm::RS256,
            signing: Some(signing),
            verifying,
            public: Some(public),
        })
    }

    /// A verify-only RS256 key from an RSA public key in PEM.
    pub fn rs256_public_pem(kid: impl Into<String>, public_pem: &str) -> Result<Self, JwtKeyError> {
        let kid = kid.into();
        let verifying = DecodingKey::from_rsa_pem(public_pem.as_bytes())
            .map_err(|_| JwtKey::invalid(&kid, "not an RSA public key in PEM"))?;
        let public = JwtKey::publish(&kid, JwtAlgorithm::RS256, &verifying)?;
        Ok(JwtKey {
            kid,
            algorithm: JwtAlgorithm::RS256,
            signing: None,
            verifying,
            public: Some(public),
        })
    }

    /// The same key without its private part (to keep verifying after rotation).
    pub fn verify_only(mut self) -> Self {
        self.signing = None;
        self
    }

    /// The key's id, sent as `kid` in the token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Whether it holds a private part.
    pub fn can_sign(&self) -> bool {
        self.signing.is_some()
    }
}

/// Settings of JWT access tokens ([`crate::service::AuthServiceBuilder::jwt`]).
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// Lifetime of an access token. Default 15 minutes.
    pub access_ttl: Duration,
    /// The `iss` claim written and required. Default `axum-auth`.
    pub issuer: String,
    /// The `aud` claim written and required, if any. Default none.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp` and `iat`. Default 5 s.
    pub leeway: Duration,
    signing: JwtKey,
    verify_only: Vec<JwtKey>,
}

impl JwtConfig {
    /// Tokens signed with `signing` (which must hold a private part), with the defaults.
    pub fn new(signing: JwtKey) -> Result<Self, JwtKeyError> {
        if !signing.can_sign() {
            return Err(JwtKeyError::CannotSign(signing.kid));
        }
        Ok(JwtConfig {
            access_ttl: Duration::from_secs(15 * 60),
            issuer: "axum-auth".into(),
            audience: None,
            leeway: Duration::from_secs(5),
            signing,
            verify_only: Vec::new(),
        })
    }

    /// A random in-memory Ed25519 key ([`JwtKey::generate_ed25519`]): for development and
    /// single-process tests only (tokens die with the process).
    pub fn ephemeral() -> Self {
        let mut id = [0u8; 6];
        rand::rng().fill_bytes(&mut id);
        let kid = format!("ephemeral-{}", URL_SAFE_NO_PAD.encode(id));
        // A generated key can always sign.
        JwtConfig::new(JwtKey::generate_ed25519(kid)).expect("a generated key signs")
    }

    /// Also accepts tokens signed by `key` (a retired signing key, or the next one before it
    /// signs). Its private part, if any, is dropped.
    pub fn verify_also(mut self, key: JwtKey) -> Result<Self, JwtKeyError> {
        let taken = std::iter::once(&self.signing)
            .chain(&self.verify_only)
            .any(|k| k.kid == key.kid);
        if taken {
            return Err(JwtKeyError::DuplicateKid(key.kid));
        }
        self.verify_only.push(key.verify_only());
        Ok(self)
    }

    /// The signing key.
    pub fn signing_key(&self) -> &JwtKey {
        &self.signing
    }

    /// Every key that verifies: the signing key first.
    pub fn keys(&self) -> impl Iterator<Item = &JwtKey> {
        std::iter::once(&self.signing).chain(&self.verify_only)
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's id, as a string (RFC 7519).
    pub sub: String,
    /// The session (refresh family) the token belongs to.
    pub sid: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Unique id of this token.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl AccessClaims {
    /// The user id `sub` names, if it is one.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Why an access token was refused (the answer is the same 401 for each; the reason goes
/// to the audit log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Past `exp` (beyond the leeway).
    Expired,
    /// Anything else: malformed, bad signature, unknown `kid`, wrong algorithm, wrong
    /// issuer or audience, missing claims, issued in the future.
    Invalid,
}

impl Refusal {
    /// The reason recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Expired => "expired",
            Refusal::Invalid => "invalid",
        }
    }
}

/// Longest token text looked at; anything longer is refused unread.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Signs and verifies access tokens with a [`JwtConfig`]'s keys.
#[derive(Debug, Clone)]
pub struct Jwt {
    config: JwtConfig,
    jwks: serde_json::Value,
}

impl Jwt {
    /// The signer and verifier of `config`.
    pub fn new(config: JwtConfig) -> Self {
        let keys = JwkSet {
            keys: config.keys().filter_map(|k| k.public.clone()).collect(),
        };
        // A JwkSet is plain data: it always serializes.
        let jwks = serde_json::to_value(keys).unwrap_or_else(|_| serde_json::json!({"keys": []}));
        Jwt { config, jwks }
    }

    /// The settings.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The public keys, as the JWKS document `{"keys": [...]}` (HS256 secrets never appear).
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// A new access token for `user_id` in session `session_id`, issued at `now` (Unix
    /// seconds), with its claims.
    pub fn issue(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
    ) -> crate::Result<(String, AccessClaims)> {
        let mut jti = [0u8; 16];
        rand::rng().fill_bytes(&mut jti);
        let ttl = i64::try_from(self.config.access_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = AccessClaims {
            sub: user_id.to_string(),
            sid: session_id,
            iat: now,
            exp: now.saturating_add(ttl),
            jti: URL_SAFE_NO_PAD.encode(jti),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
        };
        let key = &self.config.signing;
        let mut header = Header::new(key.algorithm.to_jsonwebtoken());
        header.kid = Some(key.kid.clone());
        let signing = key
            .signing
            .as_ref()
            .ok_or_else(|| crate::Error::Config(format!("JWT key {:?} cannot sign", key.kid)))?;
        let token = jsonwebtoken::encode(&header, &claims, signing)
            .map_err(|e| crate::Error::Config(format!("JWT signing with {:?}: {e}", key.kid)))?;
        Ok((token, claims))
    }

    /// The claims of `token` if it is one of ours and valid at `now` (Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, Refusal> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Refusal::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Invalid)?;
        let kid = header.kid.as_deref().ok_or(Refusal::Invalid)?;
        let key = self
            .config
            .keys()
            .find(|k| k.kid == kid)
            .ok_or(Refusal::Invalid)?;
        let algorithm = key.algorithm.to_jsonwebtoken();
        if header.alg != algorithm {
            return Err(Refusal::Invalid);
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway.as_secs();
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        match &self.config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.verifying, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => Refusal::Expired,
                _ => Refusal::Invalid,
            })?;
        let claims = data.claims;
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(0);
        // `exp` is checked above with the leeway; this is the same check at our clock, and
        // a token from the future is not ours.
        if claims.exp.saturating_add(leeway) <= now {
            return Err(Refusal::Expired);
        }
        if claims.iat > now.saturating_add(leeway) || claims.user_id().is_none() {
            return Err(Refusal::Invalid);
        }
        Ok(claims)
    }
}

/// An access token presented with a request, once verified: its claims and the session it
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The session (refresh family) of the token.
    pub session: crate::session::Session,
    /// The token's id.
    pub jti: String,
    /// When it was issued (UTC).
    pub issued_at: time::PrimitiveDateTime,
    /// When it expires (UTC).
    pub expires_at: time::PrimitiveDateTime,
}

impl AccessToken {
    /// The verified `claims` with their `session`.
    pub fn new(claims: &AccessClaims, session: crate::session::Session) -> Self {
        let at = |secs: i64| {
            time::OffsetDateTime::from_unix_timestamp(secs)
                .map(|t| time::PrimitiveDateTime::new(t.date(), t.time()))
                .unwrap_or(time::PrimitiveDateTime::MIN)
        };
        AccessToken {
            session,
            jti: claims.jti.clone(),
            issued_at: at(claims.iat),
            expires_at: at(claims.exp),
        }
    }

    /// Whether the token and its session still work at `now`.
    pub fn is_live(&self, now: time::PrimitiveDateTime) -> bool {
        self.expires_at > now
            && self.session.idle_expires_at > now
            && self.session.absolute_expires_at > now
    }
}

/// The current time in Unix seconds.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt() -> Jwt {
        Jwt::new(JwtConfig::new(JwtKey::generate_ed25519("k1")).unwrap())
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let jwt = jwt();
        let now = unix_now();
        let (token, claims) = jwt.issue(7, 3, now).unwrap();
        assert_eq!(jwt.verify(&token, now), Ok(claims.clone()));
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(jwt.verify(&token, claims.exp + 6), Err(Refusal::Expired));
    }

    #[test]
    fn only_the_named_key_and_its_algorithm_verify() {
        let a = jwt();
        let b = jwt(); // the same kid, another key
        let (token, _) = a.issue(1, 1, unix_now()).unwrap();
        assert_eq!(b.verify(&token, unix_now()), Err(Refusal::Invalid));
        let hs = Jwt::new(JwtConfig::new(JwtKey::hs256("k1", &[7; 32]).unwrap()).unwrap());
        assert_eq!(hs.verify(&token, unix_now()), Err(Refusal::Invalid));
    }

    #[test]
    fn hmac_secrets_are_long_and_never_published() {
        assert!(JwtKey::hs256("h", &[1; 31]).is_err());
        let jwt = Jwt::new(JwtConfig::new(JwtKey::hs256("h", &[1; 32]).unwrap()).unwrap());
        assert_eq!(jwt.jwks(), &serde_json::json!({"keys": []}));
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = JwtKey::hs256("h", b"0123456789abcdef0123456789abcdef").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
    }
}
