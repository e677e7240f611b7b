//! The store: the connection pool over the three backends, the Diesel schema of the auth
//! tables, their embedded migrations, and the SQL the user table is created with.

pub mod db;
pub(crate) mod ddl;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod deadline;
pub mod makemigrations;
pub mod migrate;
// Public to tests only (`test-support`); the rest of the crate reaches it directly.
#[cfg_attr(not(feature = "test-support"), allow(unreachable_pub))]
pub mod schema;
pub(crate) mod sql_types;
