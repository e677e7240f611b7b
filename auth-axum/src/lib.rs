//! Authentication and authorization for axum.
//!
//! This is the crate an application depends on. It re-exports the runtime
//! ([`auth_core`]) and the macros ([`auth_macros`]), and adds the axum pieces: the layer
//! ([`Auth::layer`]), the extractors ([`CurrentUser`], [`MaybeUser`]), the mountable router
//! ([`Auth::router`]) and the JSON envelope ([`response`]).
//!
//! ```ignore
//! let db = Database::connect("sqlite://app.db")?;
//! migrate::run(&db, &auth_axum::embed_app_migrations!()).await?;
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
//! # Cost per request
//! The layer only attaches a handle and parses cookies. A route without an auth extractor
//! does no database work; a route with one makes one query for the session and one for the
//! user, once per request however many extractors ask.

mod authorize;
pub mod config;
mod extract;
pub mod guard;
mod json;
mod layer;
pub mod response;
mod routes;

pub use auth_core::embed_app_migrations;
pub use auth_core::{
    AuthUser, Backend, ColumnDef, ColumnType, Database, DatabaseConfig, DbConn, DefaultValue,
    Error, NewUser, Result, TableDef, UserStore, access, backend, cli, db, ddl, makemigrations,
    migrate, model, password, rbac, schema, service, session, sql_types, with_conn,
};
pub use auth_macros::AuthUser;

pub use config::{CookieConfig, HttpConfig};
pub use extract::{CurrentUser, MaybeUser};
pub use json::JsonBody;
pub use layer::{Auth, AuthLayer};
pub use response::{ApiError, ErrorCode};

#[doc(hidden)]
pub mod __private {
    pub use crate::guard::{Guard, GuardSpec};
    pub use auth_core::__private::*;
}
