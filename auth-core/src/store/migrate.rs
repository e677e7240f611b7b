//! Embedded, idempotent migrations: the built-in auth tables (shipped in this crate) and the
//! application's own (its user table, written by [`crate::makemigrations`]).
//!
//! One call, [`run`], brings a database up to date: first the auth tables, then the
//! application's migrations for the same backend. Applied versions are recorded in Diesel's
//! `__diesel_schema_migrations` table, so running again applies nothing and the Diesel CLI
//! sees the same history. On PostgreSQL and MySQL an advisory lock serializes instances that
//! start at the same time.

use std::path::PathBuf;

use diesel::backend::Backend as DieselBackend;
use diesel::migration::{Migration, MigrationSource};
#[cfg(any(feature = "postgres", feature = "mysql"))]
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, FileBasedMigrations, MigrationHarness};

use crate::db::{Backend, Database};
use crate::error::{Error, Result};

// The auth tables' migrations, embedded for the backends compiled in only.
#[cfg(feature = "sqlite")]
static CORE_SQLITE: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations/sqlite");
#[cfg(feature = "postgres")]
static CORE_POSTGRES: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations/postgres");
#[cfg(feature = "mysql")]
static CORE_MYSQL: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations/mysql");

/// The application's migrations, per backend.
#[derive(Clone, Default)]
pub enum AppMigrations {
    /// Only the built-in auth tables.
    #[default]
    None,
    /// Compiled into the binary with [`embed_app_migrations!`](crate::embed_app_migrations),
    /// which embeds the folders of the backends compiled in and leaves the others `None`.
    /// [`run`] on a backend whose folder is `None` is an [`Error::Migration`].
    Embedded {
        /// `migrations/sqlite`.
        sqlite: Option<&'static EmbeddedMigrations>,
        /// `migrations/postgres`.
        postgres: Option<&'static EmbeddedMigrations>,
        /// `migrations/mysql`.
        mysql: Option<&'static EmbeddedMigrations>,
    },
    /// Read at run time from a folder holding `sqlite/`, `postgres/` and `mysql/`
    /// (the layout `makemigrations` writes).
    Directory(PathBuf),
}

/// Embeds the application's migrations at compile time. Without arguments it reads
/// `migrations/sqlite`, `migrations/postgres` and `migrations/mysql` under the crate's
/// manifest directory (where `makemigrations` writes); or give the three folders.
///
/// Only the folders of the backends compiled in (the `sqlite`, `postgres`, `mysql` Cargo
/// features) are read and embedded; the others need not exist. Like
/// [`with_conn!`](crate::with_conn), the choice is made by auth-core's features, through
/// hidden helper macros that auth-core defines per feature.
///
/// ```ignore
/// let migrations = auth_axum::embed_app_migrations!();
/// auth_axum::auth_core::migrate::run(&db, &migrations).await?;
/// ```
#[macro_export]
macro_rules! embed_app_migrations {
    () => {
        $crate::embed_app_migrations!(
            "migrations/sqlite",
            "migrations/postgres",
            "migrations/mysql"
        )
    };
    ($sqlite:literal, $postgres:literal, $mysql:literal) => {
        $crate::migrate::AppMigrations::Embedded {
            sqlite: $crate::__embed_sqlite_migrations!($sqlite),
            postgres: $crate::__embed_postgres_migrations!($postgres),
            mysql: $crate::__embed_mysql_migrations!($mysql),
        }
    };
}

/// `Some` of the migrations embedded from the folder, for a backend compiled in.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_sqlite_migrations {
    ($dir:literal) => {{
        // embed_migrations! names `diesel_migrations` by its bare name.
        use $crate::__private::diesel_migrations;
        static MIGRATIONS: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($dir);
        ::core::option::Option::Some(&MIGRATIONS)
    }};
}

/// `None`, for a backend left out of the build: the folder is not read.
#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_sqlite_migrations {
    ($dir:literal) => {
        ::core::option::Option::None
    };
}

/// See `__embed_sqlite_migrations!`.
#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_postgres_migrations {
    ($dir:literal) => {{
        // embed_migrations! names `diesel_migrations` by its bare name.
        use $crate::__private::diesel_migrations;
        static MIGRATIONS: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($dir);
        ::core::option::Option::Some(&MIGRATIONS)
    }};
}

/// See `__embed_sqlite_migrations!`.
#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_postgres_migrations {
    ($dir:literal) => {
        ::core::option::Option::None
    };
}

/// See `__embed_sqlite_migrations!`.
#[cfg(feature = "mysql")]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_mysql_migrations {
    ($dir:literal) => {{
        // embed_migrations! names `diesel_migrations` by its bare name.
        use $crate::__private::diesel_migrations;
        static MIGRATIONS: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($dir);
        ::core::option::Option::Some(&MIGRATIONS)
    }};
}

/// See `__embed_sqlite_migrations!`.
#[cfg(not(feature = "mysql"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_mysql_migrations {
    ($dir:literal) => {
        ::core::option::Option::None
    };
}

impl std::fmt::Debug for AppMigrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppMigrations::None => f.write_str("AppMigrations::None"),
            AppMigrations::Embedded { .. } => f.write_str("AppMigrations::Embedded"),
            AppMigrations::Directory(d) => write!(f, "AppMigrations::Directory({})", d.display()),
        }
    }
}

/// A migration source that is either embedded or read from a folder.
enum Source {
    Embedded(&'static EmbeddedMigrations),
    Files(FileBasedMigrations),
}

impl<DB: DieselBackend> MigrationSource<DB> for Source {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        match self {
            Source::Embedded(m) => MigrationSource::<DB>::migrations(*m),
            Source::Files(m) => MigrationSource::<DB>::migrations(m),
        }
    }
}

impl AppMigrations {
    fn source(&self, backend: Backend) -> Result<Option<Source>> {
        Ok(match self {
            AppMigrations::None => None,
            AppMigrations::Embedded {
                sqlite,
                postgres,
                mysql,
            } => {
                let embedded = match backend {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                    Backend::Mysql => mysql,
                };
                let Some(embedded) = embedded else {
                    return Err(Error::Migration(format!(
                        "no embedded application migrations for {backend}: \
                         embed_app_migrations! embeds a backend's folder only when its \
                         \"{}\" feature is on",
                        backend.feature()
                    )));
                };
                Some(Source::Embedded(embedded))
            }
            AppMigrations::Directory(dir) => {
                let path = dir.join(backend.dir_name());
                if !path.is_dir() {
                    return Err(Error::Migration(format!(
                        "no migrations folder {} for {backend}: run makemigrations",
                        path.display()
                    )));
                }
                Some(Source::Files(
                    FileBasedMigrations::from_path(&path)
                        .map_err(|e| Error::Migration(format!("{}: {e}", path.display())))?,
                ))
            }
        })
    }
}

fn core_source(backend: Backend) -> Result<Source> {
    Ok(Source::Embedded(match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => &CORE_SQLITE,
        #[cfg(feature = "postgres")]
        Backend::Postgres => &CORE_POSTGRES,
        #[cfg(feature = "mysql")]
        Backend::Mysql => &CORE_MYSQL,
        #[allow(unreachable_patterns)]
        other => return Err(other.not_compiled_in()),
    }))
}

fn migration_error(e: impl std::fmt::Display) -> Error {
    Error::Migration(e.to_string())
}

/// Runs the pending core migrations then the pending application migrations, on a
/// connection that already holds whatever lock the backend needs.
fn apply<DB: DieselBackend>(
    harness: &mut impl MigrationHarness<DB>,
    core: Source,
    app: Option<Source>,
) -> Result<Vec<String>> {
    let mut applied: Vec<String> = harness
        .run_pending_migrations(core)
        .map_err(migration_error)?
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    if let Some(app) = app {
        applied.extend(
            harness
                .run_pending_migrations(app)
                .map_err(migration_error)?
                .into_iter()
                .map(|v| v.to_string()),
        );
    }
    Ok(applied)
}

/// Brings the database up to date: the auth tables, then the application's migrations.
/// Returns the versions applied now (empty when everything was already applied).
///
/// Works on both tokio runtime flavours: the synchronous Diesel migration harness runs on
/// the blocking thread pool.
pub async fn run(db: &Database, app: &AppMigrations) -> Result<Vec<String>> {
    let backend = db.backend();
    let core = core_source(backend)?;
    let app = app.source(backend)?;
    let applied = match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            // The pooled connection, so that an in-memory database is the one migrated.
            // Irrefutable when SQLite is the only backend compiled in.
            #[allow(irrefutable_let_patterns)]
            let mut pooled = db.conn().await?;
            let crate::db::Conn::Sqlite(conn) = &mut pooled.conn else {
                unreachable!("a SQLite pool hands out SQLite connections")
            };
            conn.spawn_blocking(move |c| {
                Ok(apply(c, core, app)
                    .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e))))
            })
            .await
            .map_err(migration_error)??
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let url = db.driver_url().to_owned();
            blocking(move || {
                let mut c: AsyncConnectionWrapper<diesel_async::AsyncPgConnection> =
                    diesel::Connection::establish(&url)?;
                diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "SELECT pg_advisory_lock(7263418945)",
                )?;
                let result = apply(&mut c, core, app);
                let _ = diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "SELECT pg_advisory_unlock(7263418945)",
                );
                result
            })
            .await?
        }
        #[cfg(feature = "mysql")]
        Backend::Mysql => {
            let url = db.driver_url().to_owned();
            blocking(move || {
                let mut c: AsyncConnectionWrapper<diesel_async::AsyncMysqlConnection> =
                    diesel::Connection::establish(&url)?;
                diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "DO GET_LOCK('auth_migrations', 120)",
                )?;
                let result = apply(&mut c, core, app);
                let _ = diesel::connection::SimpleConnection::batch_execute(
                    &mut c,
                    "DO RELEASE_LOCK('auth_migrations')",
                );
                result
            })
            .await?
        }
        // core_source refused it already (unreachable when all three are on).
        #[allow(unreachable_patterns)]
        other => return Err(other.not_compiled_in()),
    };
    if !applied.is_empty() {
        tracing::info!(backend = %backend, versions = ?applied, "applied migrations");
    }
    Ok(applied)
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Migration(format!("migration task failed: {e}")))?
}
