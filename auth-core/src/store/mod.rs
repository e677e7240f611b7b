//! The store: the connection pool over the three backends, the Diesel schema of the auth
//! tables, their embedded migrations, and the SQL the user table is created with.

pub mod db;
pub(crate) mod ddl;
pub mod makemigrations;
pub mod migrate;
pub mod schema;
pub(crate) mod sql_types;
