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
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncMysqlConnection, AsyncPgConnection};
use diesel_migrations::{EmbeddedMigrations, FileBasedMigrations, MigrationHarness};

use crate::db::{Backend, Database};
use crate::error::{Error, Result};

static CORE_SQLITE: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations/sqlite");
static CORE_POSTGRES: EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations/postgres");
static CORE_MYSQL: EmbeddedMigrations = diesel_migrations::embed_migrations!("migrations/mysql");

/// The application's migrations, per backend.
#[derive(Clone, Default)]
pub enum AppMigrations {
    /// Only the built-in auth tables.
    #[default]
    None,
    /// Compiled into the binary with [`embed_app_migrations!`](crate::embed_app_migrations).
    Embedded {
        /// `migrations/sqlite`.
        sqlite: &'static EmbeddedMigrations,
        /// `migrations/postgres`.
        postgres: &'static EmbeddedMigrations,
        /// `migrations/mysql`.
        mysql: &'static EmbeddedMigrations,
    },
    /// Read at run time from a folder holding `sqlite/`, `postgres/` and `mysql/`
    /// (the layout `makemigrations` writes).
    Directory(PathBuf),
}

/// Embeds the application's migrations at compile time. Without arguments it reads
/// `migrations/sqlite`, `migrations/postgres` and `migrations/mysql` under the crate's
/// manifest directory (where `makemigrations` writes); or give the three folders.
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
    ($sqlite:literal, $postgres:literal, $mysql:literal) => {{
        use $crate::__private::diesel_migrations;
        static SQLITE: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($sqlite);
        static POSTGRES: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($postgres);
        static MYSQL: diesel_migrations::EmbeddedMigrations =
            diesel_migrations::embed_migrations!($mysql);
        $crate::migrate::AppMigrations::Embedded {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
            mysql: &MYSQL,
        }
    }};
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
            } => Some(Source::Embedded(match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
                Backend::Mysql => mysql,
            })),
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

fn core_source(backend: Backend) -> Source {
    Source::Embedded(match backend {
        Backend::Sqlite => &CORE_SQLITE,
        Backend::Postgres => &CORE_POSTGRES,
        Backend::Mysql => &CORE_MYSQL,
    })
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
    let core = core_source(backend);
    let app = app.source(backend)?;
    let applied = match backend {
        Backend::Sqlite => {
            // The pooled connection, so that an in-memory database is the one migrated.
            let crate::db::Conn::Sqlite(mut conn) = db.conn().await?.conn else {
                unreachable!("a SQLite pool hands out SQLite connections")
            };
            conn.spawn_blocking(move |c| {
                Ok(apply(c, core, app)
                    .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e))))
            })
            .await
            .map_err(migration_error)??
        }
        Backend::Postgres => {
            let url = db.driver_url().to_owned();
            blocking(move || {
                let mut c: AsyncConnectionWrapper<AsyncPgConnection> =
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
        Backend::Mysql => {
            let url = db.driver_url().to_owned();
            blocking(move || {
                let mut c: AsyncConnectionWrapper<AsyncMysqlConnection> =
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
    };
    if !applied.is_empty() {
        tracing::info!(backend = %backend, versions = ?applied, "applied migrations");
    }
    Ok(applied)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Migration(format!("migration task failed: {e}")))?
}
