//! The JSON envelope every route answers with, and the stable error codes.
//!
//! Success: `{"success": true, "data": ..., "message": "..."}`.
//! Failure: `{"success": false, "code": "<stable_code>", "message": "..."}`; the code is
//! what clients should branch on, the message is for people and may change. A
//! `weak_password` failure adds `"rule": "<rule>"` (`min_length`, `max_length`, `common`,
//! `contains_account`), equally stable.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A successful answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<T: Serialize> {
    /// Always `true`.
    pub success: bool,
    /// The payload.
    pub data: T,
    /// A short human-readable message.
    pub message: String,
}

/// `200` with `data`.
pub fn ok<T: Serialize>(data: T, message: &str) -> Response {
    with_status(StatusCode::OK, data, message)
}

/// `status` with `data`.
pub fn with_status<T: Serialize>(status: StatusCode, data: T, message: &str) -> Response {
    (
        status,
        Json(Envelope {
            success: true,
            data,
            message: message.to_owned(),
        }),
    )
        .into_response()
}

/// The stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// 401: no valid session.
    Unauthenticated,
    /// 401: account or password wrong (one code for both).
    InvalidCredentials,
    /// 403: logged in but not allowed; or the account is inactive.
    Forbidden,
    /// 403: the account is deactivated.
    InactiveAccount,
    /// 403: an administrative action on the actor's own account (their password, MFA,
    /// sessions, roles, groups, active state, deletion, locks): use the self-service
    /// routes, or another administrator.
    OwnAccount,
    /// 403: the action manages credentials and needs a logged-in session; an API key is
    /// not enough.
    SessionRequired,
    /// 403: a cookie-authenticated unsafe request from another origin without a valid CSRF
    /// token (see [`crate::CsrfConfig`]).
    Csrf,
    /// 404: no such resource.
    NotFound,
    /// 409: the account or e-mail is taken.
    Conflict,
    /// 400: the body is not valid JSON.
    MalformedJson,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 413: the body is over the configured limit.
    PayloadTooLarge,
    /// 422: a field is missing, of the wrong type, too long, or otherwise invalid.
    InvalidInput,
    /// 422: the new password breaks the password policy; `rule` names the rule.
    WeakPassword,
    /// 400: unknown `platform`.
    UnknownPlatform,
    /// 429: too many failed logins (or wrong old passwords in change-password) for this
    /// account or from this client, or too many account mails (`request-verify`); the
    /// `Retry-After` header (and `retry_after` in the body) says how many seconds to wait.
    TooManyAttempts,
    /// 400: the reset or verification token is unknown, used, or replaced by a newer one;
    /// 401: the refresh token is unknown, expired, already used (its family is then ended)
    /// or its login has ended.
    InvalidToken,
    /// 400: the reset or verification token has expired.
    TokenExpired,
    /// 401: a passkey login's assertion was refused (unknown or deleted passkey, bad
    /// signature, another challenge, a cloned authenticator); 400: a passkey registration
    /// was refused.
    InvalidCredential,
    /// 400: no passkey ceremony under the ceremony cookie (missing, used already, or
    /// another browser's): start again.
    InvalidCeremony,
    /// 400: the passkey ceremony took longer than its 5 minutes: start again.
    CeremonyExpired,
    /// 501: the feature needs configuration the server lacks (e.g. no mail sender).
    NotConfigured,
    /// 400: a TOTP or backup code is wrong, already used, or malformed.
    InvalidCode,
    /// 403: the route needs a session that passed a second factor (`mfa` guards).
    MfaRequired,
    /// 403: the route needs a recent proof of identity (`fresh` guards):
    /// `POST reauthenticate`, or log in again.
    ReauthenticationRequired,
    /// 409: MFA is already on (turn it off first).
    MfaAlreadyEnabled,
    /// 400: MFA is not on (or there is no setup to confirm).
    MfaNotEnabled,
    /// 400: an OAuth login's `state` is unknown, used already, or another browser's (start
    /// again from `authorize`).
    InvalidState,
    /// 400: an OAuth login took longer than its 10 minutes (start again).
    StateExpired,
    /// 400: the identity provider answered with an error (the user refused, the code was
    /// rejected); the message names the provider's code.
    ProviderError,
    /// 400: the ID token's nonce is not this login's.
    InvalidNonce,
    /// 400: the provider's ID token failed verification (signature, issuer, audience,
    /// expiry), or its answer lacks a subject; the message names what failed.
    InvalidIdToken,
    /// 409: the external identity is linked to another account.
    IdentityTaken,
    /// 403: no account is linked to this external identity and the server creates none.
    NoAccount,
    /// 409: the identity is the account's last way to log in.
    LastLoginMethod,
    /// 409: the change would leave no active superuser.
    LastSuperuser,
    /// 503: the database is unreachable.
    Unavailable,
    /// 503: an upstream identity server (LDAP directory, OpenID provider) is unreachable
    /// or answered garbage; nothing was written.
    UpstreamUnavailable,
    /// 503: too many password hashes are running and waiting already; the `Retry-After`
    /// header (and `retry_after` in the body) says how many seconds to wait.
    Busy,
    /// 500: an internal error (details are only logged).
    Internal,
}

/// The `Retry-After` of a 503 `busy`: a hash takes well under a second, so the queue
/// moves on within one.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// A failure answer. Build with [`ApiError::new`]; convert from core errors with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable message, safe to show.
    pub message: String,
    /// Seconds to wait before retrying (429, 503 `busy`): sent as `Retry-After` and in the
    /// body.
    pub retry_after: Option<u64>,
    /// The broken rule, for codes that have one (`weak_password`); sent as `rule`.
    pub rule: Option<&'static str>,
}

/// The error envelope: `{success: false, code, message}`, with `retry_after` (429, 503
/// `busy`) and `rule` (`weak_password`) when they apply.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    /// Always `false`.
    success: bool,
    /// What went wrong; clients branch on it.
    code: ErrorCode,
    /// For people; may change.
    message: &'a str,
    /// Seconds to wait (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    /// The password rule broken: `min_length`, `max_length`, `common`, `contains_account`.
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'static str>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            rule: None,
        }
    }

    /// The same error naming the broken `rule` (sent as `"rule"` in the body).
    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    /// 422 `weak_password`: the violation's message and rule.
    pub fn weak_password(violation: &auth_core::password_policy::PolicyViolation) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::WeakPassword,
            violation.to_string(),
        )
        .with_rule(violation.rule())
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "authentication required",
        )
    }

    /// 422 `invalid_input` naming the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidInput,
            message,
        )
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("{what} not found"),
        )
    }

    /// 500 `internal`; the cause is logged, never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            success: false,
            code: self.code,
            message: &self.message,
            retry_after: self.retry_after,
            rule: self.rule,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<auth_core::Error> for ApiError {
    fn from(e: auth_core::Error) -> Self {
        use auth_core::Error as E;
        match e {
            E::Conflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, "already exists")
            }
            E::Forbidden(message) => {
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
            }
            E::NotFound(what) => ApiError::not_found(&what),
            e @ E::Exists(_) => {
                ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, e.to_string())
            }
            e @ E::OwnAccount => {
                ApiError::new(StatusCode::FORBIDDEN, ErrorCode::OwnAccount, e.to_string())
            }
            e @ E::LastSuperuser => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::LastSuperuser,
                e.to_string(),
            ),
            E::Invalid(message) => ApiError::invalid(message),
            E::Unavailable(cause) => {
                tracing::error!(error = %cause, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "service temporarily unavailable",
                )
            }
            other => ApiError::internal(&DisplayChain(&other)),
        }
    }
}

/// Displays an error with its sources, for logs.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// The answer of a refused OAuth login or link.
fn oauth_error(e: auth_core::oauth::OAuthError) -> ApiError {
    use auth_core::oauth::OAuthError as O;
    let message = e.to_string();
    let (status, code) = match e {
        O::UnknownProvider(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        O::InvalidNext => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidInput),
        O::InvalidState => (StatusCode::BAD_REQUEST, ErrorCode::InvalidState),
        O::StateExpired => (StatusCode::BAD_REQUEST, ErrorCode::StateExpired),
        O::Provider(_) => (StatusCode::BAD_REQUEST, ErrorCode::ProviderError),
        O::InvalidNonce => (StatusCode::BAD_REQUEST, ErrorCode::InvalidNonce),
        O::InvalidToken(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidIdToken),
        O::IdentityTaken => (StatusCode::CONFLICT, ErrorCode::IdentityTaken),
        O::NoAccount => (StatusCode::FORBIDDEN, ErrorCode::NoAccount),
        _ => (StatusCode::BAD_REQUEST, ErrorCode::InvalidInput),
    };
    ApiError::new(status, code, message)
}

impl From<auth_core::backend::AuthError> for ApiError {
    fn from(e: auth_core::backend::AuthError) -> Self {
        use auth_core::account_token::TokenError as T;
        use auth_core::backend::AuthError as A;
        use auth_core::passkey::CeremonyError as C;
        use auth_core::password::PasswordError as P;
        match e {
            A::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "invalid account or password",
            ),
            A::Inactive => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::InactiveAccount,
                "this account is inactive",
            ),
            A::UnknownPlatform(p) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnknownPlatform,
                format!("unknown platform {p:?}"),
            ),
            A::Unsupported(p) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::UnknownPlatform,
                format!("the {p:?} platform does not support this operation"),
            ),
            A::Invalid(message) => ApiError::invalid(message),
            A::Throttled { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorCode::TooManyAttempts,
                    format!("too many failed logins; try again in {seconds} seconds"),
                );
                e.retry_after = Some(seconds);
                e
            }
            A::MailNotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::NotConfigured,
                "account mail is not configured on this server",
            ),
            A::Token(T::Invalid) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidToken,
                "the token is invalid or was already used",
            ),
            A::Token(T::Expired) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::TokenExpired,
                "the token has expired",
            ),
            A::Token(T::Storage(e)) => e.into(),
            A::Password(P::TooLong) => ApiError::invalid("password: at most 72 bytes"),
            A::Password(P::Nul) => ApiError::invalid("password: must not contain NUL"),
            A::Password(P::Busy) => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Busy,
                    "the server is busy; try again shortly",
                );
                e.retry_after = Some(BUSY_RETRY_AFTER_SECS);
                e
            }
            A::Password(other) => ApiError::internal(&other),
            A::WeakPassword(violation) => ApiError::weak_password(&violation),
            A::TokensNotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::NotConfigured,
                "token login is not configured on this server",
            ),
            A::RefreshRejected => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "the refresh token is invalid, expired or was already used",
            ),
            A::PasskeysNotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::NotConfigured,
                "passkeys are not configured on this server",
            ),
            A::PasskeyRejected => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredential,
                "the passkey was not accepted",
            ),
            A::PasskeyUnusable(message) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCredential,
                message,
            ),
            A::Ceremony(C::Invalid) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCeremony,
                "no passkey ceremony under way in this browser: start again",
            ),
            A::Ceremony(C::Expired) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::CeremonyExpired,
                "the passkey ceremony has expired: start again",
            ),
            A::MfaNotConfigured => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                ErrorCode::NotConfigured,
                "multi-factor authentication is not configured on this server",
            ),
            A::InvalidCode => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCode,
                "the code is invalid",
            ),
            A::MfaAlreadyEnabled => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::MfaAlreadyEnabled,
                "multi-factor authentication is already enabled",
            ),
            A::MfaNotEnabled => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::MfaNotEnabled,
                "multi-factor authentication is not enabled",
            ),
            A::MfaTokenRejected => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidToken,
                "the mfa_token is invalid, expired or was already used",
            ),
            A::OAuth(e) => oauth_error(e),
            A::LastLoginMethod => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::LastLoginMethod,
                "this is the account's last way to log in: set a password or link another first",
            ),
            A::Upstream { service, source } => {
                tracing::warn!(service = %service, error = %source, "upstream unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::UpstreamUnavailable,
                    format!("the {service} server is unavailable; try again later"),
                )
            }
            A::Storage(e) => e.into(),
            other => ApiError::internal(&other),
        }
    }
}
