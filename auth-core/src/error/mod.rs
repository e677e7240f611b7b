//! The errors of `auth-core`: [`Error`] (storage, configuration) and [`AuthError`] (why an
//! authentication flow refused, with [`Error`] as one of its causes).
//!
//! `Display` never contains secrets, SQL text or connection strings: messages are safe to
//! show to a client. The underlying cause (for logs) is kept in `source()`.

mod causes;
mod code;

pub use code::{Answer, ErrorCode};

pub use causes::{
    BCRYPT_MAX_BYTES, CeremonyError, MailError, OAuthError, PasswordError, PolicyViolation,
    TokenError,
};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `auth-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (database URL, options) is invalid. The message says what to fix.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database could not be reached in time (pool timeout, connection refused), a
    /// statement outlived its deadline ([`crate::DatabaseConfig::query_timeout`]), or the
    /// database refused for a reason that passes ([`is_transient`]: a deadlock, a
    /// serialization failure, a lock wait timeout, a connection it ended). Answered 503
    /// `unavailable` with `Retry-After`; the cause is logged, never shown.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A unique constraint refused the write (account or email already taken).
    #[error("a record with the same unique value already exists")]
    Conflict {
        /// Constraint or column the database named, when it names one (for logs only).
        constraint: Option<String>,
    },
    /// A named record (role, permission, group) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// An argument is invalid (a malformed permission code, an empty name).
    #[error("{0}")]
    Invalid(String),
    /// The acting user may not do this (a grant rule refused a role assignment). The
    /// message says what is missing and is safe to show to that user.
    #[error("{0}")]
    Forbidden(String),
    /// A named record (role, group, permission) of that name exists already; the message
    /// names it.
    #[error("{0} already exists")]
    Exists(String),
    /// The actor tried to act on their own account through an administrative service
    /// (their password, MFA, sessions, API keys, roles, groups, active state, deletion):
    /// that goes through the self-service routes, another administrator, or the command
    /// line.
    #[error(
        "you cannot do this to your own account here: use your account's own settings, or ask another administrator"
    )]
    OwnAccount,
    /// The change would leave no active superuser (deleting, deactivating or demoting the
    /// last one).
    #[error("this is the last active superuser: make another superuser first")]
    LastSuperuser,
    /// Any other database error.
    #[error("database error")]
    Database(#[source] diesel::result::Error),
    /// Running or generating migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A filesystem operation (makemigrations) failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Error::Conflict {
                constraint: info
                    .constraint_name()
                    .map(str::to_owned)
                    .or_else(|| info.column_name().map(str::to_owned)),
            },
            e if is_transient(&e) => Error::Unavailable(Box::new(e)),
            other => Error::Database(other),
        }
    }
}

/// Whether a database error passes, so that the same request may succeed when retried:
/// the connection was lost, closed or ended by the server (a restart, a failover, an
/// administrator), the statement was cancelled (its deadline, a server-side statement or
/// lock timeout), or the transaction lost a deadlock or a serialization conflict; SQLite's
/// busy and locked database. Such an error is [`Error::Unavailable`] (503 with
/// `Retry-After`), never an internal error.
///
/// Diesel keeps a code only for some kinds (serialization failure, closed connection);
/// the others are told by the server's message (PostgreSQL with `lc_messages` in English,
/// the default; MySQL / MariaDB always in English).
pub fn is_transient(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as K, Error as D};
    match e {
        D::DatabaseError(
            K::ClosedConnection | K::UnableToSendCommand | K::SerializationFailure,
            _,
        ) => true,
        D::DatabaseError(K::Unknown, info) => transient_message(info.message()),
        D::RollbackErrorOnCommit {
            commit_error,
            rollback_error,
        } => is_transient(commit_error) || is_transient(rollback_error),
        // A transaction left open by a statement that was cut: the pool discards the
        // connection.
        D::BrokenTransactionManager => true,
        _ => false,
    }
}

/// The messages of transient errors, lower-cased (see [`is_transient`]).
const TRANSIENT_MESSAGES: &[&str] = &[
    // PostgreSQL: 40P01, 57014 and 55P03 (cancelled: user request, statement or lock
    // timeout), 57P01-57P03 (terminated, shutting down, starting up), 55P03 (NOWAIT).
    "deadlock detected",
    "could not serialize access",
    "canceling statement due to",
    "terminating connection due to",
    "the database system is",
    "could not obtain lock",
    // The drivers (tokio-postgres, mysql_async): the connection went away.
    "connection closed",
    "connection reset",
    "connection refused",
    "broken pipe",
    "error communicating with the server",
    "unexpected eof",
    "unexpected end of file",
    "input/output error",
    "connection to the server is closed",
    // MySQL / MariaDB: 1213, 1205, 1317 / 1969 / 3024 (KILL QUERY, max_statement_time),
    // 1927 (KILL), 1053, 2006, 2013.
    "deadlock found",
    "lock wait timeout exceeded",
    "query execution was interrupted",
    "connection was killed",
    "server shutdown in progress",
    "server has gone away",
    "lost connection",
    // SQLite: SQLITE_BUSY, SQLITE_LOCKED.
    "database is locked",
    "database table is locked",
    "database schema is locked",
];

fn transient_message(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    TRANSIENT_MESSAGES.iter().any(|m| message.contains(m))
}

/// How long to wait before retrying a request refused because the database was
/// unavailable, in seconds (`Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

impl From<diesel::ConnectionError> for Error {
    fn from(e: diesel::ConnectionError) -> Self {
        Error::Unavailable(Box::new(e))
    }
}

/// Why authentication or registration failed. `Display` is safe to show to clients.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown account or wrong password (deliberately indistinguishable).
    #[error("invalid account or password")]
    InvalidCredentials,
    /// The account exists and the password is right, but it is deactivated.
    #[error("this account is inactive")]
    Inactive,
    /// No backend is registered under this platform name.
    #[error("unknown platform {0:?}")]
    UnknownPlatform(String),
    /// The backend does not support this operation (e.g. registering through LDAP).
    #[error("the {0:?} platform does not support this operation")]
    Unsupported(String),
    /// A field is missing or invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The password cannot be used (too long, NUL byte).
    #[error("{0}")]
    Password(#[from] PasswordError),
    /// Too many failed logins (or wrong old passwords) for this account name or from this
    /// client, or too many account mails: try again after `retry_after`.
    #[error("too many failed logins; try again in {} seconds", retry_after.as_secs().max(1))]
    Throttled {
        /// How long until the lock ends.
        retry_after: std::time::Duration,
    },
    /// Sending account mail (reset, verification) needs an [`crate::account_mail::AccountMail`]
    /// configuration the service does not have.
    #[error("account mail is not configured on this server")]
    MailNotConfigured,
    /// An account mail could not be sent (logged by the background task that sent it).
    #[error(transparent)]
    Mail(MailError),
    /// A password-reset or verification token was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The new password breaks the password policy; [`PolicyViolation::rule`] names the rule.
    #[error("{0}")]
    WeakPassword(#[from] PolicyViolation),
    /// Token logins (JWT) are not configured on this server
    /// ([`crate::service::AuthServiceBuilder::jwt`]).
    #[error("token login is not configured on this server")]
    TokensNotConfigured,
    /// A refresh token was refused: unknown, expired, already used (its family is then
    /// ended), or its session or user is gone or deactivated.
    #[error("the refresh token is invalid, expired or was already used")]
    RefreshRejected,
    /// Passkeys are not configured on this server (no relying party:
    /// [`crate::service::AuthServiceBuilder::webauthn`]).
    #[error("passkeys are not configured on this server")]
    PasskeysNotConfigured,
    /// A passkey login was refused: unknown credential, bad signature, wrong challenge or
    /// origin, no user verification, or a counter that went back (a cloned authenticator).
    #[error("the passkey was not accepted")]
    PasskeyRejected,
    /// A passkey registration was refused (the message says why; safe to show).
    #[error("{0}")]
    PasskeyUnusable(String),
    /// The passkey ceremony (the cookie of its start) is missing, used, or expired.
    #[error(transparent)]
    Ceremony(#[from] CeremonyError),
    /// Multi-factor authentication needs an [`crate::mfa::MfaConfig`] the service does
    /// not have ([`crate::service::AuthServiceBuilder::mfa`]).
    #[error("multi-factor authentication is not configured on this server")]
    MfaNotConfigured,
    /// A TOTP or backup code was wrong, already used, or not of the expected shape.
    #[error("the code is invalid")]
    InvalidCode,
    /// TOTP setup was asked for while it is already on.
    #[error("multi-factor authentication is already enabled")]
    MfaAlreadyEnabled,
    /// The action needs multi-factor authentication on (or a pending setup to confirm).
    #[error("multi-factor authentication is not enabled")]
    MfaNotEnabled,
    /// An `mfa_token` was unknown, used, expired, or its user is gone or deactivated.
    #[error("the mfa_token is invalid, expired or was already used")]
    MfaTokenRejected,
    /// An OAuth2 / OpenID Connect login or link was refused (the variant says why).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The action adds or removes a way into the account (sudo mode) and the session's
    /// last proof of identity is older than the sudo window.
    #[error(
        "this needs a recent proof of identity: POST reauthenticate with your password or a \
         code (or log in again), then retry within {} minutes",
        window.as_secs().div_ceil(60)
    )]
    ReauthenticationRequired {
        /// The sudo window.
        window: std::time::Duration,
    },
    /// The action manages credentials (API keys, sessions) and needs a login (a session or
    /// a token login); an API key is not enough.
    #[error("this needs a logged-in session, not an API key")]
    SessionRequired,
    /// The identity is the user's last way to log in (no password, no other identity or
    /// passkey): unlinking it would lock the account.
    #[error("this is the account's last way to log in: set a password or link another first")]
    LastLoginMethod,
    /// An upstream identity server (an LDAP directory, an OpenID provider) could not be
    /// reached or answered garbage: nothing was decided about the credentials, and nothing
    /// was written. `service` is a label safe to show (`LDAP`, a provider's name); the
    /// cause is for logs only.
    #[error("the {service} server is unavailable; try again later")]
    Upstream {
        /// What was unreachable.
        service: String,
        /// Why (logged, never shown).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Storage failure (including [`Error::Conflict`] for a taken account).
    #[error(transparent)]
    Storage(#[from] Error),
}

impl Error {
    /// How this error answers over HTTP (see [`Answer`]).
    pub fn answer(&self) -> Answer {
        use ErrorCode as C;
        match self {
            Error::Conflict { .. } | Error::Exists(_) => Answer::new(409, C::Conflict),
            Error::Forbidden(_) => Answer::new(403, C::Forbidden),
            Error::OwnAccount => Answer::new(403, C::OwnAccount),
            Error::LastSuperuser => Answer::new(409, C::LastSuperuser),
            Error::NotFound(_) => Answer::new(404, C::NotFound),
            Error::Invalid(_) => Answer::new(422, C::InvalidInput),
            Error::Unavailable(_) => Answer::new(503, C::Unavailable),
            Error::Config(_) | Error::Database(_) | Error::Migration(_) | Error::Io(_) => {
                Answer::new(500, C::Internal)
            }
        }
    }
}

impl Error {
    /// Seconds the client should wait before retrying (`Retry-After`), when the refusal
    /// is temporary: the database was unavailable.
    pub fn retry_after(&self) -> Option<u64> {
        matches!(self, Error::Unavailable(_)).then_some(UNAVAILABLE_RETRY_AFTER_SECS)
    }
}

/// How long to wait before retrying a request refused for a busy hasher, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl AuthError {
    /// How this error answers over HTTP (see [`Answer`]).
    pub fn answer(&self) -> Answer {
        use ErrorCode as C;
        match self {
            AuthError::InvalidCredentials => Answer::new(401, C::InvalidCredentials),
            AuthError::Inactive => Answer::new(403, C::InactiveAccount),
            AuthError::UnknownPlatform(_) | AuthError::Unsupported(_) => {
                Answer::new(400, C::UnknownPlatform)
            }
            AuthError::Invalid(_) => Answer::new(422, C::InvalidInput),
            AuthError::Password(PasswordError::TooLong | PasswordError::Nul) => {
                Answer::new(422, C::InvalidInput)
            }
            AuthError::Password(PasswordError::Busy) => Answer::new(503, C::Busy),
            AuthError::Password(_) => Answer::new(500, C::Internal),
            AuthError::Throttled { .. } => Answer::new(429, C::TooManyAttempts),
            AuthError::MailNotConfigured
            | AuthError::TokensNotConfigured
            | AuthError::PasskeysNotConfigured
            | AuthError::MfaNotConfigured => Answer::new(501, C::NotConfigured),
            AuthError::Mail(_) => Answer::new(500, C::Internal),
            AuthError::Token(TokenError::Invalid) => Answer::new(400, C::InvalidToken),
            AuthError::Token(TokenError::Expired) => Answer::new(400, C::TokenExpired),
            AuthError::Token(TokenError::Storage(e)) | AuthError::Storage(e) => e.answer(),
            AuthError::WeakPassword(_) => Answer::new(422, C::WeakPassword),
            AuthError::RefreshRejected | AuthError::MfaTokenRejected => {
                Answer::new(401, C::InvalidToken)
            }
            AuthError::PasskeyRejected => Answer::new(401, C::InvalidCredential),
            AuthError::PasskeyUnusable(_) => Answer::new(400, C::InvalidCredential),
            AuthError::Ceremony(CeremonyError::Invalid) => Answer::new(400, C::InvalidCeremony),
            AuthError::Ceremony(CeremonyError::Expired) => Answer::new(400, C::CeremonyExpired),
            AuthError::InvalidCode => Answer::new(400, C::InvalidCode),
            AuthError::MfaAlreadyEnabled => Answer::new(409, C::MfaAlreadyEnabled),
            AuthError::MfaNotEnabled => Answer::new(400, C::MfaNotEnabled),
            AuthError::OAuth(e) => e.answer(),
            AuthError::LastLoginMethod => Answer::new(409, C::LastLoginMethod),
            AuthError::SessionRequired => Answer::new(403, C::SessionRequired),
            AuthError::ReauthenticationRequired { .. } => {
                Answer::new(403, C::ReauthenticationRequired)
            }
            AuthError::Upstream { .. } => Answer::new(503, C::UpstreamUnavailable),
        }
    }

    /// Seconds the client should wait before retrying (`Retry-After`), when the refusal
    /// is temporary: a throttled attempt, a busy hasher, an unavailable database.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AuthError::Throttled { retry_after } => Some(retry_after.as_secs().max(1)),
            AuthError::Password(PasswordError::Busy) => Some(BUSY_RETRY_AFTER_SECS),
            AuthError::Token(TokenError::Storage(e)) | AuthError::Storage(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl OAuthError {
    /// How this refusal answers over HTTP (see [`Answer`]).
    pub fn answer(&self) -> Answer {
        use ErrorCode as C;
        match self {
            OAuthError::UnknownProvider(_) => Answer::new(404, C::NotFound),
            OAuthError::InvalidNext => Answer::new(422, C::InvalidInput),
            OAuthError::InvalidState => Answer::new(400, C::InvalidState),
            OAuthError::StateExpired => Answer::new(400, C::StateExpired),
            OAuthError::Provider(_) => Answer::new(400, C::ProviderError),
            OAuthError::InvalidNonce => Answer::new(400, C::InvalidNonce),
            OAuthError::InvalidToken(_) => Answer::new(400, C::InvalidIdToken),
            OAuthError::IdentityTaken => Answer::new(409, C::IdentityTaken),
            OAuthError::NoAccount => Answer::new(403, C::NoAccount),
            OAuthError::NoFreshLogin => Answer::new(409, C::NoFreshLogin),
            OAuthError::StaleLogin => Answer::new(403, C::StaleLogin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind as K, Error as D};

    fn db(kind: K, message: &str) -> D {
        D::DatabaseError(kind, Box::new(message.to_owned()))
    }

    /// The errors each backend's driver gives for a fault that passes, as Diesel surfaces
    /// them: all 503 `unavailable` with `Retry-After`, their text never in the message.
    #[test]
    fn transient_errors_are_unavailable() {
        let transient = [
            // PostgreSQL (SQLSTATE in the comment).
            db(
                K::SerializationFailure,
                "could not serialize access due to concurrent update",
            ), // 40001
            db(K::Unknown, "deadlock detected"), // 40P01
            db(K::Unknown, "canceling statement due to statement timeout"), // 57014
            db(K::Unknown, "canceling statement due to user request"), // 57014
            db(K::Unknown, "canceling statement due to lock timeout"), // 55P03
            db(
                K::Unknown,
                "could not obtain lock on row in relation \"auth_users\"",
            ), // 55P03
            db(
                K::Unknown,
                "terminating connection due to administrator command",
            ), // 57P01
            db(K::Unknown, "the database system is starting up"), // 57P03
            db(K::Unknown, "the database system is shutting down"), // 57P03
            db(K::UnableToSendCommand, "connection closed"),
            db(
                K::UnableToSendCommand,
                "error communicating with the server: Connection reset by peer (os error 104)",
            ),
            db(
                K::ClosedConnection,
                "server closed the connection unexpectedly",
            ),
            // MySQL / MariaDB (error number in the comment).
            db(
                K::Unknown,
                "Deadlock found when trying to get lock; try restarting transaction",
            ), // 1213
            db(
                K::Unknown,
                "Lock wait timeout exceeded; try restarting transaction",
            ), // 1205
            db(K::Unknown, "Query execution was interrupted"), // 1317
            db(
                K::Unknown,
                "Query execution was interrupted (max_statement_time exceeded)",
            ), // 1969
            db(K::Unknown, "Connection was killed"),           // 1927
            db(K::Unknown, "Server shutdown in progress"),     // 1053
            db(K::Unknown, "Input/output error: unexpected end of file"),
            db(K::Unknown, "Connection to the server is closed."),
            db(K::Unknown, "Lost connection to MySQL server during query"), // 2013
            db(K::Unknown, "MySQL server has gone away"),                   // 2006
            // SQLite.
            db(K::Unknown, "database is locked"), // SQLITE_BUSY
            db(K::Unknown, "database table is locked"), // SQLITE_LOCKED
            D::BrokenTransactionManager,
            D::RollbackErrorOnCommit {
                rollback_error: Box::new(db(K::UnableToSendCommand, "connection closed")),
                commit_error: Box::new(db(K::SerializationFailure, "could not serialize access")),
            },
        ];
        for e in transient {
            let shown = format!("{e}");
            assert!(is_transient(&e), "{shown}");
            let err = Error::from(e);
            assert!(matches!(err, Error::Unavailable(_)), "{shown}: {err:?}");
            let answer = err.answer();
            assert_eq!(
                (answer.status, answer.code),
                (503, ErrorCode::Unavailable),
                "{shown}"
            );
            assert_eq!(
                err.retry_after(),
                Some(UNAVAILABLE_RETRY_AFTER_SECS),
                "{shown}"
            );
            assert_eq!(err.to_string(), "service temporarily unavailable");
            let auth = AuthError::Storage(err);
            assert_eq!(
                auth.retry_after(),
                Some(UNAVAILABLE_RETRY_AFTER_SECS),
                "{shown}"
            );
        }
    }

    /// A fault that does not pass by itself stays what it was: a conflict, or a logged
    /// internal error.
    #[test]
    fn other_errors_are_not_transient() {
        let unique = db(
            K::UniqueViolation,
            "duplicate key value violates unique constraint",
        );
        assert!(matches!(Error::from(unique), Error::Conflict { .. }));
        for e in [
            db(K::Unknown, "relation \"auth_sessions\" does not exist"),
            db(K::Unknown, "Table 'test.auth_sessions' doesn't exist"),
            db(K::NotNullViolation, "null value in column \"account\""),
            db(
                K::ForeignKeyViolation,
                "insert or update violates foreign key constraint",
            ),
            db(K::Unknown, "no such table: auth_sessions"),
            D::NotFound,
        ] {
            let shown = format!("{e}");
            assert!(!is_transient(&e), "{shown}");
            let err = Error::from(e);
            assert_eq!(err.answer().status, 500, "{shown}");
            assert_eq!(err.retry_after(), None, "{shown}");
        }
    }
}
