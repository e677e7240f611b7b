//! Authentication and authorization for axum.
//!
//! This is the crate an application depends on. It re-exports the runtime
//! ([`auth_core`], whose modules are reached as `auth_axum::auth_core::rbac::manage`; its
//! everyday types are also at this root) and the macros ([`auth_macros`]), and adds the
//! axum pieces: the layer ([`Auth::layer`]), the extractors ([`CurrentUser`],
//! [`MaybeUser`]), the mountable router ([`Auth::router`]), its OpenAPI document
//! ([`openapi`], served at `{prefix}/openapi.json`) and the JSON envelope ([`response`]).
//!
//! ```ignore
//! let db = Database::connect("sqlite://app.db")?;
//! auth_axum::auth_core::migrate::run(&db, &auth_axum::embed_app_migrations!()).await?;
//! let auth = Auth::new(db, AuthService::<User>::builder().build());
//! let app = Router::new()
//!     .route("/profile", get(profile))
//!     .nest("/api/contrib/auth", auth.router())
//!     .layer(auth.layer());
//!
//! async fn profile(user: CurrentUser<User>) -> Json<User> { Json(user.user) }
//! ```
//!
//! Generated code also needs Diesel by its own name: add `diesel = "2.3"` (any features)
//! to the application's dependencies beside `auth-axum`, because Diesel's `table!` macro,
//! which `#[derive(AuthUser)]` uses, refers to `::diesel`.
//!
//! # Cargo features
//!
//! All on by default. Each switches on the `auth-core` feature of the same name.
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` | SQLite, bundled (`libsqlite3-sys` compiles the SQLite C library) |
//! | `postgres` | PostgreSQL, pure-Rust driver (`tokio-postgres` through diesel-async) |
//! | `mysql` | MySQL / MariaDB, pure-Rust driver (`mysql_async` through diesel-async) |
//! | `mail` | [`auth_core::mail::SmtpMailer`] (lettre) and the `AUTH_MAIL_*` variables of [`AuthConfig`] |
//! | `cli` | [`auth_core::cli`]: the `manage.py`-style verbs (clap, rpassword) |
//!
//! At least one backend is needed (a `compile_error!` says so otherwise). An application on
//! one database builds only that driver:
//!
//! ```toml
//! auth-axum = { version = "0.1", default-features = false, features = ["postgres", "mail"] }
//! ```
//!
//! A database URL of a backend left out is an [`Error::Config`] naming the feature. The
//! trait [`auth_core::mail::MailSender`] and the development `LogMailer` stay available without
//! `mail`; with `mail` off, setting `AUTH_MAIL_URL` (or another `AUTH_MAIL_*` variable) is
//! an [`EnvConfigError`] naming it. The code `#[derive(AuthUser)]`, [`auth_core::with_conn!`] and
//! [`embed_app_migrations!`] generate in the application follows these features (the
//! backends compiled into `auth-core`), whatever the application's own features are.
//!
//! # Cost per request
//! - The layer only attaches two handles, parses the `Cookie` header and, for unsafe methods
//!   with a session cookie, runs the CSRF check on headers and cookies
//!   ([`CsrfConfig`]): a route without an auth extractor or guard does **no database work**.
//! - The first extractor or guard that needs the user runs **one query**: the session joined
//!   with its user and the RBAC version. Later extractors and guards in the same request
//!   reuse the result. When the session's idle expiry is due for renewal (at most once per
//!   `SessionConfig::touch_interval`, default 60 s) one `UPDATE` follows.
//! - Permission and role guards take the user's grants from a concurrent cache keyed by
//!   (user, scope) and tagged with the RBAC version: a hit costs nothing more; a miss (first
//!   request, or any RBAC change anywhere since) recomputes the grants in four queries and
//!   caches them. A change made through `rbac::manage` bumps the version in the same
//!   transaction, so it is seen on the next request on every instance.

// An item is `pub` only where an application can reach it; everything else says
// `pub(crate)`, so the public surface is what `cargo doc` shows and nothing more.
#![warn(unreachable_pub)]

// The guard macros name this crate `::auth_axum` (the path an application sees); this makes
// that path resolve inside the crate too, for the guarded admin handlers.
extern crate self as auth_axum;

mod actor;
mod authorize;
pub mod config;
mod credential;
mod csrf;
pub mod env_config;
mod extract;
pub mod guard;
mod json;
mod layer;
pub mod openapi;
pub mod rejection;
mod resolution;
pub mod response;
mod routes;
mod session_cache;

/// The runtime: storage, sessions, tokens, RBAC, audit, mail, migrations, the CLI. Its
/// modules are reached through here (`auth_axum::auth_core::rbac::manage`); the types an
/// application names every day are also at this crate's root.
#[doc(no_inline)]
pub use auth_core;
pub use auth_core::embed_app_migrations;
pub use auth_core::service::{AuthService, AuthServiceBuilder};
pub use auth_core::{
    AuthError, AuthUser, Backend, ColumnDef, ColumnType, Database, DatabaseConfig, DbConn,
    DefaultValue, Error, NewUser, Result, TableDef, UserFilter, UserStore,
};
pub use auth_macros::AuthUser;
pub use auth_macros::{login_required, permission_catalog, permission_required, role_required};
/// The utoipa this crate derives its OpenAPI document with (see [`openapi`]).
pub use utoipa;

pub use actor::RequestActor;
pub use auth_core::{Actor, Credential};
pub use config::{
    ClientIpSource, CookieConfig, CsrfConfig, HttpConfig, OriginScheme, RegistrationMode,
    SessionCacheConfig,
};
pub use env_config::{AuthConfig, EnvConfigError};
pub use extract::{CurrentUser, MaybeUser};
pub use json::JsonBody;
pub use layer::{Auth, AuthLayer};
pub use rejection::{
    AuthRejection, LoginRequired, MfaRequired, MissingAuthLayer, PermissionDenied,
    ReauthenticationRequired, SessionRequired,
};
pub use response::{ApiError, ErrorCode};

#[doc(hidden)]
pub mod __private {
    pub use crate::guard::{Guard, GuardSpec};
    pub use auth_core::__private::*;
}
