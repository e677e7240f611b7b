//! The credentials: how a request proves who it is (passwords, cookie sessions, API keys,
//! JWT access tokens and their refresh tokens, passkeys, second factors) and the single-use
//! tokens of account mail, with the feed that tells other instances what was revoked.

pub mod account_token;
pub mod api_key;
pub mod jwt;
pub mod mfa;
pub mod passkey;
pub mod password;
// Public to tests only (`test-support`); the rest of the crate reaches it directly.
#[cfg_attr(not(feature = "test-support"), allow(unreachable_pub))]
pub mod refresh_token;
pub mod revocation;
pub mod session;

use time::PrimitiveDateTime;

use api_key::ApiKey;
use jwt::AccessToken;
use session::Session;

/// The credential a request authenticated with (auth-axum's `CurrentUser::credential`).
#[derive(Debug, Clone)]
pub enum Credential {
    /// A session, from the session cookie.
    Session(Session),
    /// An API key, from `Authorization: Bearer` or `X-API-Key`.
    ApiKey(ApiKey),
    /// A JWT access token, from `Authorization: Bearer`, with the session of its login.
    Jwt(AccessToken),
}

impl Credential {
    /// The session: the cookie's, or the one a JWT's login opened (its refresh family).
    /// `None` for an API key. Both are full logins: they may manage the user's credentials
    /// (`CurrentUser::require_session` in auth-axum), and ending the session ends them.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Credential::Session(s) => Some(s),
            Credential::Jwt(t) => Some(&t.session),
            Credential::ApiKey(_) => None,
        }
    }

    /// The API key, for a request authenticated by one.
    pub fn api_key(&self) -> Option<&ApiKey> {
        match self {
            Credential::ApiKey(k) => Some(k),
            Credential::Session(_) | Credential::Jwt(_) => None,
        }
    }

    /// The access token, for a request authenticated by a JWT.
    pub fn access_token(&self) -> Option<&AccessToken> {
        match self {
            Credential::Jwt(t) => Some(t),
            Credential::Session(_) | Credential::ApiKey(_) => None,
        }
    }

    /// The user it belongs to.
    pub fn user_id(&self) -> i64 {
        match self {
            Credential::Session(s) => s.user_id,
            Credential::ApiKey(k) => k.user_id,
            Credential::Jwt(t) => t.session.user_id,
        }
    }

    /// The permission codes the credential is limited to, `None` for all of the user's. A
    /// limited credential holds no roles and gets no superuser bypass: exactly the listed
    /// permissions the user holds (a superuser holds all of them).
    pub fn permission_limit(&self) -> Option<&[String]> {
        match self {
            Credential::ApiKey(k) => k.permissions.as_deref(),
            Credential::Session(_) | Credential::Jwt(_) => None,
        }
    }

    /// Whether it still works at `now`.
    pub fn is_live(&self, now: PrimitiveDateTime) -> bool {
        match self {
            Credential::Session(s) => s.is_live(now),
            Credential::ApiKey(k) => k.is_live(now),
            Credential::Jwt(t) => t.is_live(now),
        }
    }
}
