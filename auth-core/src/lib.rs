//! Runtime of the axum auth framework.
//!
//! `auth-core` is framework-agnostic: it owns storage (one database URL picks SQLite,
//! PostgreSQL or MySQL/MariaDB), the embedded migrations of the auth tables, the
//! [`AuthUser`] trait that `#[derive(AuthUser)]` implements, and the migration generator
//! (`makemigrations`). Applications normally depend on `auth-axum`, which re-exports this
//! crate.
//!
//! Layout:
//! - [`db`]: database URL parsing, the connection pool, and the connection enum that lets
//!   each query be written once and compiled for all three backends.
//! - [`schema`]: Diesel `table!` definitions of the built-in auth tables.
//! - [`migrate`]: the embedded per-backend migrations and the call that runs them.
//! - [`TableDef`] and [`ColumnDef`]: the backend-neutral description of the user table the
//!   derive produces (its SQL for each backend is internal, as are the portable SQL types
//!   and the field codecs the generated code uses, under `__private`).
//! - [`makemigrations`]: writes `up.sql` / `down.sql` for the user table from the derive.
//! - [`user`]: the [`AuthUser`] trait and the storage operations on the user table.
//! - [`throttle`], [`account_token`], [`audit`]: account security: login throttling,
//!   single-use reset and verification tokens, and the audit log.
//! - [`session`], [`api_key`], [`jwt`] and [`refresh_token`]: the credentials: cookie
//!   sessions, API keys, JWT access tokens (signing keys, rotation, the JWKS) and the
//!   rotating refresh tokens of a JWT login.
//! - [`mail`]: the [`mail::MailSender`] trait, its SMTP and development (log) mailers.
//! - [`password`] and [`password_policy`]: hashing, and which new passwords are accepted.

pub mod access;
pub mod account_mail;
pub mod account_token;
pub mod api_key;
pub mod audit;
pub mod backend;
pub mod cli;
pub mod db;
mod ddl;
pub mod error;
mod field;
pub mod jwt;
pub mod mail;
pub mod makemigrations;
pub mod migrate;
mod model;
pub mod password;
pub mod password_policy;
pub mod rbac;
pub mod refresh_token;
pub mod report;
// Between this crate and auth-axum's session cache: not an application's API.
#[doc(hidden)]
pub mod revocation;
pub mod schema;
pub mod service;
pub mod session;
mod sql_types;
pub mod throttle;
mod timefmt;
pub mod user;
pub mod user_status;

#[doc(hidden)]
pub mod __private;

pub use db::{Backend, Database, DatabaseConfig, DbConn};
pub use error::{AuthError, Error, Result};
pub use model::{ColumnDef, ColumnType, DefaultValue, TableDef};
pub use user::{
    AuthUser, NewUser, UserFilter, UserStore, check_account_name, check_email, is_lookup_key,
};
