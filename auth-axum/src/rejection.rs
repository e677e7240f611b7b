//! Typed rejections of the extractors ([`crate::CurrentUser`], [`crate::MaybeUser`]) and
//! of the guards, gathered in [`AuthRejection`] the way axum-core gathers its own: a handler
//! that takes `Result<CurrentUser<User>, AuthRejection>` can match on the kind, and each
//! answers as it is, in the envelope with its stable code.
//!
//! | rejection | status | code |
//! |---|---|---|
//! | [`LoginRequired`] | 401 | `unauthenticated` |
//! | [`PermissionDenied`] | 403 | `forbidden` |
//! | [`SessionRequired`] | 403 | `session_required` |
//! | [`MfaRequired`] | 403 | `mfa_required` |
//! | [`ReauthenticationRequired`] | 403 | `reauthentication_required` |
//! | [`MissingAuthLayer`] | 500 | `internal` (the cause is logged, never sent) |
//! | [`AuthRejection::Failed`] | 503 `unavailable` or 500 `internal` | |

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::response::{ApiError, ErrorCode};

macro_rules! simple_rejection {
    ($(#[$doc:meta])* $name:ident, $status:ident, $code:ident, $message:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name;

        impl $name {
            /// The HTTP status it answers with.
            pub fn status(&self) -> StatusCode {
                StatusCode::$status
            }

            /// The stable error code of its answer.
            pub fn code(&self) -> ErrorCode {
                ErrorCode::$code
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($message)
            }
        }

        impl std::error::Error for $name {}

        impl From<$name> for ApiError {
            fn from(rejection: $name) -> ApiError {
                ApiError::new(rejection.status(), rejection.code(), $message)
            }
        }

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                ApiError::from(self).into_response()
            }
        }
    };
}

simple_rejection!(
    /// No valid credential: no session cookie, bearer token or API key, or one that is
    /// unknown, expired, revoked, or belongs to a deactivated user. 401 `unauthenticated`.
    LoginRequired,
    UNAUTHORIZED,
    Unauthenticated,
    "authentication required"
);

simple_rejection!(
    /// Logged in, but without the permission or role the guard requires. 403 `forbidden`.
    PermissionDenied,
    FORBIDDEN,
    Forbidden,
    "you do not have permission to do this"
);

simple_rejection!(
    /// The action manages credentials and needs a login (a session or a JWT login); an API
    /// key is not enough ([`crate::CurrentUser::require_session`]). 403 `session_required`.
    SessionRequired,
    FORBIDDEN,
    SessionRequired,
    "this needs a logged-in session, not an API key"
);

simple_rejection!(
    /// The guard asks for a second factor (`#[login_required(mfa)]`,
    /// `#[permission_required("..", mfa)]`) and the session did not pass one (a password
    /// login, an API key). 403 `mfa_required`.
    MfaRequired,
    FORBIDDEN,
    MfaRequired,
    "this needs a login with a second factor"
);

simple_rejection!(
    /// The guard asks for a recent proof of identity (`fresh = "10m"`) and the session's
    /// last one (login, second factor, `POST reauthenticate`) is older, or the credential
    /// is an API key. 403 `reauthentication_required`.
    ReauthenticationRequired,
    FORBIDDEN,
    ReauthenticationRequired,
    "this needs a recent login: reauthenticate"
);

/// An auth extractor or guard ran without the auth layer (or under a layer for another
/// user type): a wiring mistake of the application. 500 `internal`; the message that says
/// what to fix goes to the log only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingAuthLayer {
    /// What is missing, and how to fix it (for the log).
    pub detail: String,
}

impl MissingAuthLayer {
    /// The rejection, with what to fix.
    pub fn new(detail: impl Into<String>) -> Self {
        MissingAuthLayer {
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for MissingAuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for MissingAuthLayer {}

impl From<MissingAuthLayer> for ApiError {
    fn from(rejection: MissingAuthLayer) -> ApiError {
        ApiError::internal(&rejection.detail)
    }
}

impl IntoResponse for MissingAuthLayer {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// Why an auth extractor or guard refused the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthRejection {
    /// See [`LoginRequired`].
    LoginRequired(LoginRequired),
    /// See [`PermissionDenied`].
    PermissionDenied(PermissionDenied),
    /// See [`SessionRequired`].
    SessionRequired(SessionRequired),
    /// See [`MfaRequired`].
    MfaRequired(MfaRequired),
    /// See [`ReauthenticationRequired`].
    ReauthenticationRequired(ReauthenticationRequired),
    /// See [`MissingAuthLayer`].
    MissingAuthLayer(MissingAuthLayer),
    /// The check could not be made: the database is unreachable (503 `unavailable`) or
    /// failed (500 `internal`, the cause logged). Never a silent allow or deny.
    Failed(ApiError),
}

impl AuthRejection {
    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthRejection::LoginRequired(r) => r.status(),
            AuthRejection::PermissionDenied(r) => r.status(),
            AuthRejection::SessionRequired(r) => r.status(),
            AuthRejection::MfaRequired(r) => r.status(),
            AuthRejection::ReauthenticationRequired(r) => r.status(),
            AuthRejection::MissingAuthLayer(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AuthRejection::Failed(e) => e.status,
        }
    }

    /// The stable error code of its answer.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthRejection::LoginRequired(r) => r.code(),
            AuthRejection::PermissionDenied(r) => r.code(),
            AuthRejection::SessionRequired(r) => r.code(),
            AuthRejection::MfaRequired(r) => r.code(),
            AuthRejection::ReauthenticationRequired(r) => r.code(),
            AuthRejection::MissingAuthLayer(_) => ErrorCode::Internal,
            AuthRejection::Failed(e) => e.code,
        }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthRejection::LoginRequired(r) => r.fmt(f),
            AuthRejection::PermissionDenied(r) => r.fmt(f),
            AuthRejection::SessionRequired(r) => r.fmt(f),
            AuthRejection::MfaRequired(r) => r.fmt(f),
            AuthRejection::ReauthenticationRequired(r) => r.fmt(f),
            AuthRejection::MissingAuthLayer(r) => r.fmt(f),
            AuthRejection::Failed(e) => f.write_str(&e.message),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl From<AuthRejection> for ApiError {
    fn from(rejection: AuthRejection) -> ApiError {
        match rejection {
            AuthRejection::LoginRequired(r) => r.into(),
            AuthRejection::PermissionDenied(r) => r.into(),
            AuthRejection::SessionRequired(r) => r.into(),
            AuthRejection::MfaRequired(r) => r.into(),
            AuthRejection::ReauthenticationRequired(r) => r.into(),
            AuthRejection::MissingAuthLayer(r) => r.into(),
            AuthRejection::Failed(e) => e,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

macro_rules! into_auth_rejection {
    ($($name:ident),*) => {$(
        impl From<$name> for AuthRejection {
            fn from(rejection: $name) -> AuthRejection {
                AuthRejection::$name(rejection)
            }
        }
    )*};
}

into_auth_rejection!(
    LoginRequired,
    PermissionDenied,
    SessionRequired,
    MfaRequired,
    ReauthenticationRequired,
    MissingAuthLayer
);

/// A failure on the way (the database, mostly), classified by its code.
impl From<ApiError> for AuthRejection {
    fn from(e: ApiError) -> AuthRejection {
        match e.code {
            ErrorCode::Unauthenticated => LoginRequired.into(),
            ErrorCode::Forbidden => PermissionDenied.into(),
            ErrorCode::SessionRequired => SessionRequired.into(),
            ErrorCode::MfaRequired => MfaRequired.into(),
            ErrorCode::ReauthenticationRequired => ReauthenticationRequired.into(),
            _ => AuthRejection::Failed(e),
        }
    }
}

impl From<auth_core::Error> for AuthRejection {
    fn from(e: auth_core::Error) -> AuthRejection {
        AuthRejection::Failed(e.into())
    }
}
