//! How a request authenticated: a cookie session or a bearer API key.

use auth_core::api_key::ApiKey;
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
}

/// Where a presented credential came from: a digest found under one kind never stands
/// for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Cookie,
    ApiKey,
}

impl Credential {
    /// The session, for a cookie-authenticated request.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Credential::Session(s) => Some(s),
            Credential::ApiKey(_) => None,
        }
    }

    /// The API key, for a request authenticated by one.
    pub fn api_key(&self) -> Option<&ApiKey> {
        match self {
            Credential::ApiKey(k) => Some(k),
            Credential::Session(_) => None,
        }
    }

    /// The user it belongs to.
    pub fn user_id(&self) -> i64 {
        match self {
            Credential::Session(s) => s.user_id,
            Credential::ApiKey(k) => k.user_id,
        }
    }

    /// The permission codes the credential is limited to, `None` for all of the user's. A
    /// limited credential holds no roles and gets no superuser bypass: exactly the listed
    /// permissions the user holds (a superuser holds all of them).
    pub fn permission_limit(&self) -> Option<&[String]> {
        match self {
            Credential::ApiKey(k) => k.permissions.as_deref(),
            Credential::Session(_) => None,
        }
    }

    /// Whether it still works at `now`.
    pub(crate) fn is_live(&self, now: PrimitiveDateTime) -> bool {
        match self {
            Credential::Session(s) => s.idle_expires_at > now && s.absolute_expires_at > now,
            Credential::ApiKey(k) => k.is_live(now),
        }
    }

    /// The kind it was presented as.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Credential::Session(_) => Kind::Cookie,
            Credential::ApiKey(_) => Kind::ApiKey,
        }
    }
}
