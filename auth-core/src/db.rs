//! One database URL picks the backend; a pool hands out [`DbConn`]s.
//!
//! | URL                                   | backend                    |
//! |---------------------------------------|----------------------------|
//! | `sqlite://path/to/file.db`, `sqlite:///abs/path.db` | SQLite file (bundled, created if missing) |
//! | `sqlite::memory:` or `sqlite://:memory:` | SQLite in memory (one connection) |
//! | `postgres://...`, `postgresql://...`  | PostgreSQL (pure-Rust driver) |
//! | `mysql://...`, `mariadb://...`        | MySQL / MariaDB (pure-Rust driver) |
//!
//! Queries are written once against whichever connection type the [`with_conn!`](crate::with_conn) macro
//! binds, and compiled for the three backends:
//!
//! ```no_run
//! # async fn demo(db: &auth_core::Database) -> auth_core::Result<i64> {
//! use auth_core::__private::diesel::prelude::*;
//! use auth_core::__private::diesel_async::RunQueryDsl;
//! use auth_core::schema::auth_roles as roles;
//! let mut conn = db.conn().await?;
//! let n: i64 = auth_core::with_conn!(&mut conn, |c| roles::table.count().get_result(c).await)?;
//! # Ok(n) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool::Runtime;
use diesel::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
    TransactionManager,
};

use crate::error::{Error, Result};
use crate::revocation::Changes;

/// The async SQLite connection: Diesel's sync connection run on tokio's blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// The database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (embedded, bundled).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Backend {
    /// All backends, in a fixed order.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];

    /// The folder name used under `migrations/`: `sqlite`, `postgres` or `mysql`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The backend of a database URL, without connecting.
    pub fn from_url(url: &str) -> Result<Backend> {
        Ok(parse_url(url)?.0)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// Splits a URL into its backend and the string the driver expects.
fn parse_url(url: &str) -> Result<(Backend, String)> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(Error::Config(
                "sqlite URL has no path: use sqlite://file.db or sqlite::memory:".into(),
            ));
        }
        let path = if path == ":memory:" { ":memory:" } else { path };
        return Ok((Backend::Sqlite, path.to_owned()));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    if url.starts_with("mysql://") {
        return Ok((Backend::Mysql, url.to_owned()));
    }
    if let Some(rest) = url.strip_prefix("mariadb://") {
        return Ok((Backend::Mysql, format!("mysql://{rest}")));
    }
    Err(Error::Config(format!(
        "unsupported database URL scheme in {:?}: expected sqlite://, postgres://, mysql:// or mariadb://",
        redact(url)
    )))
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Pool settings. [`DatabaseConfig::new`] gives sensible defaults.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// The database URL (see the module docs).
    pub url: String,
    /// Maximum pooled connections (ignored for in-memory SQLite, which has exactly one).
    pub max_connections: usize,
    /// How long a request waits for a free connection, or for a new one to open, before
    /// [`Error::Unavailable`].
    pub acquire_timeout: Duration,
    /// SQLite only: how long a writer waits for a lock held by another connection.
    pub sqlite_busy_timeout: Duration,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("sqlite_busy_timeout", &self.sqlite_busy_timeout)
            .finish()
    }
}

impl DatabaseConfig {
    /// Defaults: 16 connections, 5 s acquire timeout, 5 s SQLite busy timeout.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
enum PoolKind {
    Sqlite(Pool<SqliteConn>),
    Postgres(Pool<AsyncPgConnection>),
    Mysql(Pool<AsyncMysqlConnection>),
}

/// A pool of connections to one database. Cheap to clone (shared pool).
#[derive(Clone)]
pub struct Database {
    backend: Backend,
    driver_url: String,
    pool: PoolKind,
    changes: Arc<Changes>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("url", &redact(&self.driver_url))
            .finish_non_exhaustive()
    }
}

/// A pooled connection to one of the three backends. Use [`with_conn!`](crate::with_conn) to run a query.
///
/// It also carries the [`Changes`] of its [`Database`], so that the storage functions that
/// end sessions or change users (which take a `DbConn`) tell this process's session caches
/// at once (see [`crate::revocation`]).
pub struct DbConn {
    #[doc(hidden)]
    pub conn: Conn,
    changes: Arc<Changes>,
}

/// The connection inside a [`DbConn`], one variant per backend. Name it only through
/// [`with_conn!`](crate::with_conn).
///
/// The variants differ in size (a PostgreSQL connection is largest); a `DbConn` lives on
/// the stack of one request, so boxing would only add an allocation per checkout.
#[doc(hidden)]
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    /// SQLite connection.
    Sqlite(Object<SqliteConn>),
    /// PostgreSQL connection.
    Postgres(Object<AsyncPgConnection>),
    /// MySQL / MariaDB connection.
    Mysql(Object<AsyncMysqlConnection>),
}

impl DbConn {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Mysql(_) => Backend::Mysql,
        }
    }

    /// The change counters of this connection's [`Database`].
    pub fn changes(&self) -> &Arc<Changes> {
        &self.changes
    }
}

/// One step of a transaction.
#[derive(Clone, Copy)]
enum TxStep {
    Begin,
    Commit,
    Rollback,
}

async fn tx_step<C: AsyncConnection>(c: &mut C, step: TxStep) -> diesel::QueryResult<()> {
    match step {
        TxStep::Begin => C::TransactionManager::begin_transaction(c).await,
        TxStep::Commit => C::TransactionManager::commit_transaction(c).await,
        TxStep::Rollback => C::TransactionManager::rollback_transaction(c).await,
    }
}

impl DbConn {
    /// Runs `work` in one transaction on this connection, on every backend: committed when
    /// it returns `Ok`, rolled back when it returns `Err` (the error is returned as it
    /// was). `work` gets this same connection, so the framework's functions that take a
    /// `&mut DbConn` can be composed into one atomic change; a transaction they open
    /// inside becomes a savepoint. A future dropped mid-transaction leaves the connection
    /// marked broken, and the pool discards it rather than hand out an open transaction.
    pub async fn transaction<T, E, F>(&mut self, work: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&mut DbConn) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        self.step(TxStep::Begin).await?;
        match work(self).await {
            Ok(value) => {
                self.step(TxStep::Commit).await?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback) = self.step(TxStep::Rollback).await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }

    async fn step(&mut self, step: TxStep) -> Result<()> {
        crate::with_conn!(self, |c| tx_step(c, step).await)?;
        Ok(())
    }
}

impl fmt::Debug for DbConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbConn({})", self.backend())
    }
}

/// Binds `$conn` to the concrete `&mut` connection inside a [`DbConn`] and evaluates `$body`
/// once per backend, so a query written once is compiled for SQLite, PostgreSQL and MySQL.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match &mut $db.conn {
            $crate::db::Conn::Sqlite($conn) => {
                let $conn = &mut **$conn;
                $body
            }
            $crate::db::Conn::Postgres($conn) => {
                let $conn = &mut **$conn;
                $body
            }
            $crate::db::Conn::Mysql($conn) => {
                let $conn = &mut **$conn;
                $body
            }
        }
    };
}

/// Deletes at most `$batch` rows of the table module `$t` matching `$filter`, oldest id
/// first, and evaluates to the `Result<usize>` of how many: the ids first, then one
/// `DELETE` by id (short statements and short locks, the same SQL on every backend, MySQL
/// included, which refuses `LIMIT` in a subquery of a `DELETE`). Call it until it deletes
/// fewer than `$batch`.
macro_rules! delete_batch {
    ($conn:expr, $t:ident, $filter:expr, $batch:expr) => {
        $crate::with_conn!($conn, |c| {
            let ids: Vec<i64> = $t::table
                .filter($filter)
                .order($t::id.asc())
                .select($t::id)
                .limit($batch)
                .load(c)
                .await?;
            if ids.is_empty() {
                Ok(0)
            } else {
                diesel::delete($t::table.filter($t::id.eq_any(&ids)))
                    .execute(c)
                    .await
            }
        })
        .map_err($crate::Error::from)
    };
}
pub(crate) use delete_batch;

fn build_pool<C>(
    manager: AsyncDieselConnectionManager<C>,
    size: usize,
    timeout: Duration,
) -> Result<Pool<C>>
where
    C: diesel_async::pooled_connection::PoolableConnection + Send + 'static,
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager<Type = C>,
{
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the connection pool: {e}")))
}

impl Database {
    /// A pool for `url` with default settings. No connection is opened until first use.
    pub fn connect(url: &str) -> Result<Database> {
        Database::with_config(DatabaseConfig::new(url))
    }

    /// A pool with explicit settings. No connection is opened until first use.
    pub fn with_config(config: DatabaseConfig) -> Result<Database> {
        let (backend, driver_url) = parse_url(&config.url)?;
        let timeout = config.acquire_timeout;
        let pool = match backend {
            Backend::Sqlite => {
                let memory = driver_url == ":memory:";
                let busy_ms = config.sqlite_busy_timeout.as_millis();
                let mut mc = ManagerConfig::<SqliteConn>::default();
                mc.recycling_method = RecyclingMethod::Fast;
                mc.custom_setup = Box::new(move |url| {
                    let url = url.to_owned();
                    Box::pin(async move {
                        let mut conn = SqliteConn::establish(&url).await?;
                        let journal = if memory {
                            ""
                        } else {
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                        };
                        conn.batch_execute(&format!(
                            "PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON; {journal}"
                        ))
                        .await
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    })
                });
                let size = if memory { 1 } else { config.max_connections };
                PoolKind::Sqlite(build_pool(
                    AsyncDieselConnectionManager::new_with_config(driver_url.clone(), mc),
                    size,
                    timeout,
                )?)
            }
            Backend::Postgres => {
                let mut mc = ManagerConfig::default();
                mc.recycling_method = RecyclingMethod::Fast;
                PoolKind::Postgres(build_pool(
                    AsyncDieselConnectionManager::new_with_config(driver_url.clone(), mc),
                    config.max_connections,
                    timeout,
                )?)
            }
            Backend::Mysql => {
                let mut mc = ManagerConfig::default();
                mc.recycling_method = RecyclingMethod::Fast;
                PoolKind::Mysql(build_pool(
                    AsyncDieselConnectionManager::new_with_config(driver_url.clone(), mc),
                    config.max_connections,
                    timeout,
                )?)
            }
        };
        Ok(Database {
            backend,
            driver_url,
            pool,
            changes: Arc::new(Changes::default()),
        })
    }

    /// The backend this database uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL handed to the driver (with its password, if any): do not log it; use
    /// [`redact`].
    pub(crate) fn driver_url(&self) -> &str {
        &self.driver_url
    }

    /// A connection from the pool, waiting at most the configured acquire timeout.
    pub async fn conn(&self) -> Result<DbConn> {
        fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
            Error::Unavailable(Box::new(e))
        }
        let conn = match &self.pool {
            PoolKind::Sqlite(p) => Conn::Sqlite(p.get().await.map_err(unavailable)?),
            PoolKind::Postgres(p) => Conn::Postgres(p.get().await.map_err(unavailable)?),
            PoolKind::Mysql(p) => Conn::Mysql(p.get().await.map_err(unavailable)?),
        };
        Ok(DbConn {
            conn,
            changes: self.changes.clone(),
        })
    }

    /// The change counters shared by this pool's connections (see [`crate::revocation`]).
    pub fn changes(&self) -> &Arc<Changes> {
        &self.changes
    }
}

/// `text` made storable in a bounded text column on every backend: cut to `max_chars`
/// characters, NUL replaced by U+FFFD (PostgreSQL text cannot hold NUL). For values the
/// client chose and the framework records (user agents, typed account names).
pub(crate) fn storable_text(text: &str, max_chars: usize) -> String {
    text.chars()
        .take(max_chars)
        .map(|c| {
            if c == '\0' {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_backends() {
        assert_eq!(
            parse_url("sqlite://a.db").unwrap(),
            (Backend::Sqlite, "a.db".into())
        );
        assert_eq!(
            parse_url("sqlite:///tmp/a.db").unwrap(),
            (Backend::Sqlite, "/tmp/a.db".into())
        );
        assert_eq!(
            parse_url("sqlite::memory:").unwrap(),
            (Backend::Sqlite, ":memory:".into())
        );
        assert_eq!(
            parse_url("sqlite://:memory:").unwrap(),
            (Backend::Sqlite, ":memory:".into())
        );
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert_eq!(
            parse_url("postgresql://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(parse_url("mysql://root@h/db").unwrap().0, Backend::Mysql);
        assert_eq!(
            parse_url("mariadb://root@h/db").unwrap(),
            (Backend::Mysql, "mysql://root@h/db".into())
        );
        assert!(matches!(parse_url("redis://h"), Err(Error::Config(_))));
        assert!(matches!(parse_url("sqlite://"), Err(Error::Config(_))));
    }

    #[test]
    fn config_errors_never_show_passwords() {
        let err = parse_url("oracle://u:secret@h/db").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let dbg = format!("{:?}", DatabaseConfig::new("postgres://u:secret@h/db"));
        assert!(!dbg.contains("secret"), "{dbg}");
    }
}
