//! Authentication and authorization for axum.
//!
//! This is the crate an application depends on. It re-exports the runtime
//! ([`auth_core`]) and the macros ([`auth_macros`]).
//!
//! Generated code also needs Diesel by its own name: add `diesel = "2.3"` (any features)
//! to the application's dependencies beside `auth-axum`, because Diesel's `table!` macro,
//! which `#[derive(AuthUser)]` uses, refers to `::diesel`.

pub use auth_core::{
    AuthUser, Backend, ColumnDef, ColumnType, Database, DatabaseConfig, DbConn, DefaultValue,
    Error, Result, TableDef, UserStore, cli, db, ddl, makemigrations, migrate, model, schema, sql_types,
    with_conn,
};
pub use auth_core::embed_app_migrations;
pub use auth_macros::AuthUser;

#[doc(hidden)]
pub mod __private {
    pub use auth_core::__private::*;
}
