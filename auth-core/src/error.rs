//! The one error type of `auth-core`.
//!
//! `Display` never contains secrets, SQL text or connection strings: messages are safe to
//! show to a client. The underlying cause (for logs) is kept in `source()`.

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `auth-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration (database URL, options) is invalid. The message says what to fix.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The database could not be reached in time (pool timeout, connection refused).
    #[error("the database is unavailable")]
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
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                Error::Unavailable(Box::new(e))
            }
            other => Error::Database(other),
        }
    }
}

impl From<diesel::ConnectionError> for Error {
    fn from(e: diesel::ConnectionError) -> Self {
        Error::Unavailable(Box::new(e))
    }
}
