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
//! - [`passkey`]: passkeys (WebAuthn): their storage, the ceremonies' server-side state and,
//!   with the `passkeys` feature, the relying party.
//! - [`password`] and [`password_policy`]: hashing, and which new passwords are accepted.
//! - [`identity`]: external identities (OpenID Connect / OAuth2 providers, LDAP) linked to
//!   local users.
//! - [`oauth`]: login through OpenID Connect and OAuth2 providers (the authorizations under
//!   way, the open-redirect guard and, with the `oauth` feature, the providers).
//! - With the `ldap` feature, `ldap`: the LDAP login backend.
//! - [`mfa`]: multi-factor authentication: TOTP authenticators, backup codes, and the
//!   second step of a login.
//!
//! # Cargo features
//!
//! All on by default; at least one backend is required.
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` | SQLite (Diesel, bundled `libsqlite3-sys`: compiles the SQLite C library) |
//! | `postgres` | PostgreSQL (diesel-async over the pure-Rust `tokio-postgres`) |
//! | `mysql` | MySQL / MariaDB (diesel-async over the pure-Rust `mysql_async`) |
//! | `mail` | `mail::SmtpMailer` (lettre); the [`mail::MailSender`] trait and the `LogMailer` are always there |
//! | `cli` | the `cli` module, the `manage.py`-style verbs (clap, rpassword) |
//! | `passkeys` | passkey ceremonies with webauthn-rs ([`passkey::WebauthnConfig`]; needs OpenSSL) |
//! | `oauth` | OpenID Connect and OAuth2 providers (openidconnect, reqwest with rustls: `oauth::OAuthConfig`) |
//! | `ldap` | the LDAP login backend (`ldap::LdapBackend`: ldap3 over rustls, no OpenSSL) |
//!
//! A backend left out compiles none of its driver; a database URL for it is an
//! [`Error::Config`] naming the feature. The macros that expand in the application
//! ([`with_conn!`], [`match_conn!`], [`embed_app_migrations!`], `#[derive(AuthUser)]`)
//! follow auth-core's features, not the application's: see [`with_conn!`].

// An item is `pub` only where a dependent crate can reach it.
#![warn(unreachable_pub)]

#[cfg(not(auth_backend))]
compile_error!(
    "auth-core needs at least one database backend: turn on the \"sqlite\", \"postgres\" \
     or \"mysql\" Cargo feature (of auth-axum, or of auth-core)"
);

// Everything below needs a backend (the queries are compiled per backend): without one,
// it is left out so that the compile_error! above is the only error reported.
// `auth_backend` is set by build.rs when the sqlite, postgres or mysql feature is on.
#[cfg(auth_backend)]
pub mod access;
#[cfg(auth_backend)]
pub mod account_mail;
#[cfg(auth_backend)]
pub mod account_token;
#[cfg(auth_backend)]
pub mod api_key;
#[cfg(auth_backend)]
pub mod audit;
#[cfg(auth_backend)]
pub mod backend;
#[cfg(all(auth_backend, feature = "cli"))]
pub mod cli;
#[cfg(auth_backend)]
pub mod db;
#[cfg(auth_backend)]
mod ddl;
#[cfg(auth_backend)]
pub mod error;
#[cfg(auth_backend)]
mod field;
#[cfg(auth_backend)]
pub mod identity;
#[cfg(auth_backend)]
pub mod jwt;
#[cfg(all(auth_backend, feature = "ldap"))]
pub mod ldap;
#[cfg(auth_backend)]
pub mod mail;
#[cfg(auth_backend)]
pub mod makemigrations;
#[cfg(auth_backend)]
pub mod mfa;
#[cfg(auth_backend)]
pub mod migrate;
#[cfg(auth_backend)]
mod model;
#[cfg(auth_backend)]
pub mod oauth;
#[cfg(auth_backend)]
pub mod passkey;
#[cfg(auth_backend)]
pub mod password;
#[cfg(auth_backend)]
pub mod password_policy;
#[cfg(auth_backend)]
pub mod rbac;
#[cfg(auth_backend)]
pub mod refresh_token;
#[cfg(auth_backend)]
pub mod report;
// Between this crate and auth-axum's session cache: not an application's API.
#[doc(hidden)]
#[cfg(auth_backend)]
pub mod revocation;
#[cfg(auth_backend)]
pub mod schema;
#[cfg(auth_backend)]
pub mod service;
#[cfg(auth_backend)]
pub mod session;
#[cfg(auth_backend)]
mod sql_types;
#[cfg(auth_backend)]
pub mod throttle;
#[cfg(auth_backend)]
mod timefmt;
#[cfg(auth_backend)]
pub mod user;
#[cfg(auth_backend)]
pub mod user_status;

#[cfg(auth_backend)]
#[doc(hidden)]
pub mod __private;

#[cfg(auth_backend)]
pub use db::{Backend, Database, DatabaseConfig, DbConn};
#[cfg(auth_backend)]
pub use error::{AuthError, Error, Result};
#[cfg(auth_backend)]
pub use model::{ColumnDef, ColumnType, DefaultValue, TableDef};
#[cfg(auth_backend)]
pub use user::{
    AuthUser, NewUser, UserFilter, UserStore, check_account_name, check_email, is_lookup_key,
};
