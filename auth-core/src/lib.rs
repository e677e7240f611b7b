//! Runtime of the axum auth framework.
//!
//! `auth-core` is framework-agnostic: it owns storage (one database URL picks SQLite,
//! PostgreSQL or MySQL/MariaDB), the embedded migrations of the auth tables, the
//! [`AuthUser`] trait that `#[derive(AuthUser)]` implements, and the migration generator
//! (`makemigrations`). Applications normally depend on `auth-axum`, which re-exports this
//! crate.
//!
//! The source tree is laid out by layer, each a folder:
//!
//! - the store (`store/`): [`db`] (database URL parsing, the connection pool, and the
//!   connection enum that lets each query be written once and compiled for all three
//!   backends), `schema` (Diesel `table!` definitions of the auth tables, crate-private),
//!   [`migrate`]
//!   (the embedded per-backend migrations), [`makemigrations`] (`up.sql` / `down.sql` for
//!   the user table from the derive) and the SQL the derive's table is created with;
//! - the user model (`user/`): the [`AuthUser`] trait and the storage operations on the
//!   user table, [`TableDef`] / [`ColumnDef`] (the backend-neutral description the derive
//!   produces), the recorded suspensions ([`user_status`]);
//! - the credentials (`credential/`): [`password`] hashing, cookie [`session`]s,
//!   [`api_key`]s, [`jwt`] access tokens and their refresh tokens, [`passkey`]s,
//!   [`mfa`] (TOTP, backup codes, the login's second step), the single-use
//!   [`account_token`]s of account mail;
//! - [`rbac`]: roles, permissions, groups, their cache and the grant rules;
//! - [`authority`]: who acts ([`Actor`]: the credential, its permission limit, its session),
//!   what a guard requires ([`access`]), the one guard decision ([`authority::decide`]) and
//!   the access [`report`];
//! - external identity ([`identity`]): identities linked to local users, [`oauth`] and,
//!   with the `ldap` feature, `ldap`;
//! - protection (`protection/`): login [`throttle`]s, the [`password_policy`], the
//!   [`audit`] log;
//! - [`mail`]: the [`mail::MailSender`] trait, its SMTP and development mailers, and the
//!   account mails ([`account_mail`]);
//! - the services ([`service`]): [`service::AuthService`] and its flows, the
//!   administration services ([`service::admin`]: every admin change checks the actor's
//!   authority, writes and audits in one transaction), and the backend trait
//!   ([`backend`]).
//!
//! [`error`] depends on none of them: the causes it carries from the layers below are
//! defined in it, and each layer re-exports its own.
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
//
// The source tree is laid out by layer (store, user model, credentials, RBAC, authority,
// external identity, protection, mail, services); the public paths below keep one name per
// module.
#[cfg(auth_backend)]
pub mod authority;
#[cfg(all(auth_backend, feature = "cli"))]
pub mod cli;
#[cfg(auth_backend)]
mod credential;
#[cfg(auth_backend)]
pub mod error;
#[cfg(auth_backend)]
pub mod identity;
#[cfg(auth_backend)]
pub mod mail;
#[cfg(auth_backend)]
#[doc(hidden)]
pub mod pause;
#[cfg(auth_backend)]
mod protection;
#[cfg(auth_backend)]
pub mod rbac;
#[cfg(auth_backend)]
pub mod service;
#[cfg(auth_backend)]
mod store;
#[cfg(auth_backend)]
mod timefmt;
#[cfg(auth_backend)]
pub mod user;

#[cfg(auth_backend)]
pub use authority::{Actor, ClientInfo, access, report};
#[cfg(auth_backend)]
pub use credential::{Credential, account_token, api_key, jwt, mfa, passkey, password, session};
// Between this crate and auth-axum's session cache: not an application's API.
#[doc(hidden)]
#[cfg(auth_backend)]
pub use credential::revocation;
#[cfg(all(auth_backend, feature = "ldap"))]
pub use identity::ldap;
#[cfg(auth_backend)]
pub use identity::oauth;
#[cfg(auth_backend)]
pub use mail::account as account_mail;
#[cfg(auth_backend)]
pub use protection::{audit, password_policy, throttle};
#[cfg(auth_backend)]
pub use service::backend;
#[cfg(auth_backend)]
pub use store::{db, makemigrations, migrate};

// Storage that only tests reach directly (the `test-support` feature, which applications
// never turn on): the Diesel tables and the refresh-token store.
#[cfg(all(auth_backend, feature = "test-support"))]
pub use credential::refresh_token;
#[cfg(all(auth_backend, not(feature = "test-support")))]
use credential::refresh_token;
#[cfg(all(auth_backend, feature = "test-support"))]
pub use store::schema;
#[cfg(all(auth_backend, not(feature = "test-support")))]
use store::schema;
#[cfg(auth_backend)]
use store::{ddl, sql_types};
#[cfg(auth_backend)]
pub use user::status as user_status;
#[cfg(auth_backend)]
use user::{field, model};

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
