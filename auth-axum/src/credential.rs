//! How a request authenticated: a cookie session, a bearer API key or a JWT access token.

use auth_core::api_key::ApiKey;
use auth_core::jwt::AccessToken;
use auth_core::session::Session;
use time::PrimitiveDateTime;

/// The credential a request authenticated with ([`crate::CurrentUser::credential`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credential {
    /// A session, from the session cookie.
    Session(Session),
    /// An API key, from `Authorization: Bearer` or `X-API-Key`.
    ApiKey(ApiKey),
    /// A JWT access token, from `Authorization: Bearer`, with the session of its login.
    Jwt(AccessToken),
}

/// Where a presented credential came from: a digest found under one kind never stands
/// for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cookie,
    ApiKey,
    Jwt,
}

impl Credential {
    /// The session: the cookie's, or the one a JWT's login opened (its refresh family).
    /// `None` for an API key. Both are full logins: they may manage the user's credentials
    /// ([`crate::CurrentUser::require_session`]), and ending the session ends them.
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
    pub(crate) fn is_live(&self, now: PrimitiveDateTime) -> bool {
        match self {
            Credential::Session(s) => s.is_live(now),
            Credential::ApiKey(k) => k.is_live(now),
            Credential::Jwt(t) => t.is_live(now),
        }
    }

    /// The kind it was presented as.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Credential::Session(_) => Kind::Cookie,
            Credential::ApiKey(_) => Kind::ApiKey,
            Credential::Jwt(_) => Kind::Jwt,
        }
    }
}
