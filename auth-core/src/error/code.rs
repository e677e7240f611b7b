//! The stable error codes of the HTTP answers, and how each error of this crate answers
//! ([`Answer`]): its status and code are written once, beside the error
//! ([`super::Error::answer`], [`super::AuthError::answer`]); its message is its `Display`.

use serde::Serialize;

/// The stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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
    /// token (see auth-axum's `CsrfConfig`).
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
    /// 409: this provider cannot re-authenticate the account (plain OAuth2, or no identity
    /// of the account is linked at it): use another proof.
    NoFreshLogin,
    /// 403: the provider's answer does not prove a login of this account made after the
    /// re-authentication began.
    StaleLogin,
    /// 409: the identity is the account's last way to log in.
    LastLoginMethod,
    /// 409: the change would leave no active superuser.
    LastSuperuser,
    /// 503: the database is unreachable, a statement outlived its deadline, or the database
    /// refused for a reason that passes (deadlock, serialization failure, lock timeout, a
    /// connection it ended); the `Retry-After` header (and `retry_after` in the body) says
    /// how many seconds to wait.
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

/// How an error answers over HTTP: the status and the stable code (the message is the
/// error's `Display`, safe to show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The stable code clients branch on.
    pub code: ErrorCode,
}

impl Answer {
    pub(crate) const fn new(status: u16, code: ErrorCode) -> Answer {
        Answer { status, code }
    }

    /// Whether the answer is a server-side failure whose message must not be shown (an
    /// internal error: the cause goes to the log, the client reads "internal error").
    pub fn is_internal(&self) -> bool {
        matches!(self.code, ErrorCode::Internal)
    }
}
