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
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;
#[cfg(feature = "mysql")]
use diesel_async::AsyncMysqlConnection;
#[cfg(feature = "postgres")]
use diesel_async::AsyncPgConnection;
#[cfg(feature = "sqlite")]
use diesel_async::SimpleAsyncConnection;
#[cfg(feature = "sqlite")]
use diesel_async::pooled_connection::RecyclingMethod;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
#[cfg(feature = "sqlite")]
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, TransactionManager};

#[cfg(any(feature = "postgres", feature = "mysql"))]
use super::deadline;
use crate::error::{Error, Result};
use crate::revocation::Changes;

/// The async SQLite connection: Diesel's sync connection run on tokio's blocking pool.
#[cfg(feature = "sqlite")]
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

    /// The backend of a database URL, without connecting. Every scheme of the table in
    /// the [module docs](self) is recognised whatever the Cargo features;
    /// [`Database::connect`] is what refuses a backend left out of the build (see
    /// [`Backend::is_enabled`]).
    pub fn from_url(url: &str) -> Result<Backend> {
        Ok(parse_url(url)?.0)
    }

    /// The Cargo feature (of `auth-core`, and of `auth-axum`, which forwards it) that
    /// compiles this backend in: `sqlite`, `postgres` or `mysql`.
    pub fn feature(self) -> &'static str {
        self.dir_name()
    }

    /// Whether this build can connect to this backend, i.e. its [feature](Backend::feature)
    /// is on.
    pub const fn is_enabled(self) -> bool {
        match self {
            Backend::Sqlite => cfg!(feature = "sqlite"),
            Backend::Postgres => cfg!(feature = "postgres"),
            Backend::Mysql => cfg!(feature = "mysql"),
        }
    }

    /// The [`Error::Config`] for a URL of this backend in a build that leaves it out: it
    /// names the feature to turn on.
    pub(crate) fn not_compiled_in(self) -> Error {
        Error::Config(format!(
            "{self} database URL, but this build has no {self} support: turn on the \"{f}\" \
             Cargo feature of auth-axum (or auth-core)",
            f = self.feature()
        ))
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

/// The default client-side deadline of a statement ([`DatabaseConfig::query_timeout`]).
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// SQLite only: how long a writer waits for a lock held by another connection (at
    /// most `query_timeout`, when that is set).
    pub sqlite_busy_timeout: Duration,
    /// The client-side deadline of one statement: a statement still running after it
    /// (waiting on a lock, on a server that stopped answering) is cancelled, its
    /// connection discarded, and the request answered [`Error::Unavailable`] (503
    /// `unavailable`). The server bounds each statement too, a second later
    /// (`statement_timeout` on PostgreSQL, `max_statement_time` and
    /// `innodb_lock_wait_timeout` on MariaDB). On SQLite it bounds the busy timeout.
    /// `None`: no deadline. Migrations run on connections of their own, without it.
    pub query_timeout: Option<Duration>,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("sqlite_busy_timeout", &self.sqlite_busy_timeout)
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

impl DatabaseConfig {
    /// Defaults: 16 connections, 5 s acquire timeout, 5 s SQLite busy timeout, 5 s
    /// statement deadline ([`DEFAULT_QUERY_TIMEOUT`]).
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            query_timeout: Some(DEFAULT_QUERY_TIMEOUT),
        }
    }
}

/// The pool of one backend. Only the compiled-in backends have a variant; with a single
/// backend the enum has one variant and every match on it is irrefutable.
#[derive(Clone)]
enum PoolKind {
    #[cfg(feature = "sqlite")]
    Sqlite(Pool<SqliteConn>),
    #[cfg(feature = "postgres")]
    Postgres(Pool<AsyncPgConnection>),
    #[cfg(feature = "mysql")]
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
    /// Open [`DbConn::transaction`]s (a nested one is a savepoint).
    depth: u32,
    /// Changes to tell this process's caches once the outermost transaction ends.
    pending: Pending,
}

/// Counter bumps held until the outermost transaction ends.
#[derive(Default)]
struct Pending {
    users: Vec<i64>,
    rbac: bool,
}

/// The connection inside a [`DbConn`], one variant per backend. Name it only through
/// [`with_conn!`](crate::with_conn) and [`match_conn!`](crate::match_conn).
///
/// All three variants exist whatever the Cargo features; a backend left out of the build
/// holds [`Disabled`], which has no value, so its variant is never constructed and a match
/// arm on it is dead (see [`with_conn!`](crate::with_conn) for how the macros avoid
/// compiling such an arm's body).
///
/// The variants differ in size (a PostgreSQL connection is largest); a `DbConn` lives on
/// the stack of one request, so boxing would only add an allocation per checkout.
#[doc(hidden)]
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    /// SQLite connection.
    #[cfg(feature = "sqlite")]
    Sqlite(Object<SqliteConn>),
    /// SQLite is not compiled in (feature `sqlite` off).
    #[cfg(not(feature = "sqlite"))]
    Sqlite(Disabled),
    /// PostgreSQL connection.
    #[cfg(feature = "postgres")]
    Postgres(Object<AsyncPgConnection>),
    /// PostgreSQL is not compiled in (feature `postgres` off).
    #[cfg(not(feature = "postgres"))]
    Postgres(Disabled),
    /// MySQL / MariaDB connection.
    #[cfg(feature = "mysql")]
    Mysql(Object<AsyncMysqlConnection>),
    /// MySQL is not compiled in (feature `mysql` off).
    #[cfg(not(feature = "mysql"))]
    Mysql(Disabled),
}

/// The connection of a backend left out of the build: an enum without variants, so no
/// value of it (and no [`Conn`] variant holding it) can exist.
#[doc(hidden)]
pub enum Disabled {}

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

    /// Tells this process's caches that `user_id` changed, once committed: at once outside
    /// a transaction, when the outermost [`DbConn::transaction`] ends inside one (a cache
    /// that read the old row in between would otherwise keep it as current).
    pub fn user_changed(&mut self, user_id: i64) {
        if self.depth == 0 {
            self.changes.bump_user(user_id);
        } else if !self.pending.users.contains(&user_id) {
            self.pending.users.push(user_id);
        }
    }

    /// Tells this process's caches that roles, permissions or assignments changed, once
    /// committed (as [`DbConn::user_changed`]).
    pub fn rbac_changed(&mut self) {
        if self.depth == 0 {
            self.changes.bump_rbac();
        } else {
            self.pending.rbac = true;
        }
    }

    /// Bumps what the ended transaction held back. After a rollback too: a needless bump
    /// costs one re-read, a missed one a stale answer.
    fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for user in pending.users {
            self.changes.bump_user(user);
        }
        if pending.rbac {
            self.changes.bump_rbac();
        }
    }
}

impl Drop for DbConn {
    /// A transaction dropped half-way (its future cancelled) may have committed: bump.
    fn drop(&mut self) {
        self.flush();
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
        self.depth += 1;
        let outcome = match work(self).await {
            Ok(value) => {
                if self.depth == 1
                    && let Some(&user_id) = self.pending.users.first()
                {
                    self.changes
                        .pause(crate::pause::Point::Commit { user_id })
                        .await;
                }
                self.step(TxStep::Commit)
                    .await
                    .map(|()| value)
                    .map_err(E::from)
            }
            Err(e) => {
                if let Err(rollback) = self.step(TxStep::Rollback).await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        };
        self.depth -= 1;
        if self.depth == 0 {
            self.flush();
        }
        outcome
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
/// once per backend, so a query written once is compiled for SQLite, PostgreSQL and MySQL
/// (those of them that the build includes).
///
/// # Backends left out of the build
///
/// This macro, [`match_conn!`](crate::match_conn) and the code `#[derive(AuthUser)]`
/// generates expand in the *calling* crate, where `#[cfg(feature = "postgres")]` would test
/// the caller's features, not auth-core's. So the decision is taken when auth-core itself
/// is compiled: for each backend auth-core exports one of two versions of a hidden helper
/// macro (`__sqlite_arm!`, `__postgres_arm!`, `__mysql_arm!`), chosen by its own
/// `#[cfg(feature = ...)]`. The macros here always write the three match arms (the
/// [`Conn`] enum always has the three variants) and hand each arm's body to that helper:
///
/// - backend compiled in: the helper binds `$conn` to the connection and expands the body;
/// - backend left out: its variant holds the empty enum [`Disabled`], and the helper
///   expands to `match *slot {}` (an empty match on the uninhabited value, of type `!`),
///   dropping the body unexpanded. So the body is never type-checked against a driver that
///   is not there, and the match stays exhaustive.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        $crate::match_conn!(
            $db,
            sqlite = |$conn| $body,
            postgres = |$conn| $body,
            mysql = |$conn| $body,
        )
    };
}

/// As [`with_conn!`](crate::with_conn), with one body per backend, for the rare query that
/// differs between them (a `FOR UPDATE`, an `INSERT ... ON CONFLICT`). The three bodies
/// are always written, in this order; the body of a backend left out of the build is
/// dropped before it is compiled, so it may use that backend's Diesel API freely.
///
/// ```no_run
/// # async fn demo(conn: &mut auth_core::DbConn) -> auth_core::Result<usize> {
/// use auth_core::__private::diesel;
/// use auth_core::__private::diesel_async::RunQueryDsl;
/// let n = auth_core::match_conn!(
///     conn,
///     sqlite = |c| diesel::sql_query("PRAGMA optimize").execute(c).await?,
///     postgres = |c| diesel::sql_query("ANALYZE").execute(c).await?,
///     mysql = |c| diesel::sql_query("DO 0").execute(c).await?,
/// );
/// # Ok(n) }
/// ```
#[macro_export]
macro_rules! match_conn {
    ($db:expr,
        sqlite = |$sqlite:ident| $sqlite_body:expr,
        postgres = |$postgres:ident| $postgres_body:expr,
        mysql = |$mysql:ident| $mysql_body:expr $(,)?
    ) => {
        match &mut $db.conn {
            $crate::db::Conn::Sqlite(slot) => $crate::__sqlite_arm!(slot, $sqlite, $sqlite_body),
            $crate::db::Conn::Postgres(slot) => {
                $crate::__postgres_arm!(slot, $postgres, $postgres_body)
            }
            $crate::db::Conn::Mysql(slot) => $crate::__mysql_arm!(slot, $mysql, $mysql_body),
        }
    };
}

/// One arm of [`match_conn!`](crate::match_conn) for a compiled-in backend: `$conn` is the
/// `&mut` connection, then `$body`.
#[cfg(feature = "sqlite")]
#[doc(hidden)]
#[macro_export]
macro_rules! __sqlite_arm {
    ($slot:ident, $conn:ident, $body:expr) => {{
        let $conn = &mut **$slot;
        $body
    }};
}

/// One arm of [`match_conn!`](crate::match_conn) for a backend left out of the build: the
/// slot is uninhabited, `$body` is dropped uncompiled.
#[cfg(not(feature = "sqlite"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __sqlite_arm {
    ($slot:ident, $conn:ident, $body:expr) => {
        match *$slot {}
    };
}

/// See `__sqlite_arm!`.
#[cfg(feature = "postgres")]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_arm {
    ($slot:ident, $conn:ident, $body:expr) => {{
        let $conn = &mut **$slot;
        $body
    }};
}

/// See `__sqlite_arm!`.
#[cfg(not(feature = "postgres"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __postgres_arm {
    ($slot:ident, $conn:ident, $body:expr) => {
        match *$slot {}
    };
}

/// See `__sqlite_arm!`.
#[cfg(feature = "mysql")]
#[doc(hidden)]
#[macro_export]
macro_rules! __mysql_arm {
    ($slot:ident, $conn:ident, $body:expr) => {{
        let $conn = &mut **$slot;
        $body
    }};
}

/// See `__sqlite_arm!`.
#[cfg(not(feature = "mysql"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __mysql_arm {
    ($slot:ident, $conn:ident, $body:expr) => {
        match *$slot {}
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
    ///
    /// A URL of a backend left out of the build (its Cargo feature off) is an
    /// [`Error::Config`] naming the feature.
    pub fn connect(url: &str) -> Result<Database> {
        Database::with_config(DatabaseConfig::new(url))
    }

    /// A pool with explicit settings. No connection is opened until first use.
    ///
    /// A URL of a backend left out of the build (its Cargo feature off) is an
    /// [`Error::Config`] naming the feature.
    pub fn with_config(config: DatabaseConfig) -> Result<Database> {
        let (backend, driver_url) = parse_url(&config.url)?;
        let pool = match backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => sqlite_pool(&config, &driver_url)?,
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let mut mc = ManagerConfig::default();
                mc.recycling_method = deadline::recycle_check();
                let deadline = config.query_timeout;
                mc.custom_setup = Box::new(move |url| {
                    Box::pin(deadline::connect_postgres(url.to_owned(), deadline))
                });
                PoolKind::Postgres(build_pool(
                    AsyncDieselConnectionManager::new_with_config(driver_url.clone(), mc),
                    config.max_connections,
                    config.acquire_timeout,
                )?)
            }
            #[cfg(feature = "mysql")]
            Backend::Mysql => {
                let mut mc = ManagerConfig::default();
                mc.recycling_method = deadline::recycle_check();
                let deadline = config.query_timeout;
                mc.custom_setup = Box::new(move |url| {
                    Box::pin(deadline::connect_mysql(url.to_owned(), deadline))
                });
                PoolKind::Mysql(build_pool(
                    AsyncDieselConnectionManager::new_with_config(driver_url.clone(), mc),
                    config.max_connections,
                    config.acquire_timeout,
                )?)
            }
            // A backend whose feature is off (unreachable when all three are on).
            #[allow(unreachable_patterns)]
            other => return Err(other.not_compiled_in()),
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
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn driver_url(&self) -> &str {
        &self.driver_url
    }

    /// A connection from the pool, waiting at most the configured acquire timeout.
    pub async fn conn(&self) -> Result<DbConn> {
        fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
            Error::Unavailable(Box::new(e))
        }
        let conn = match &self.pool {
            #[cfg(feature = "sqlite")]
            PoolKind::Sqlite(p) => Conn::Sqlite(p.get().await.map_err(unavailable)?),
            #[cfg(feature = "postgres")]
            PoolKind::Postgres(p) => Conn::Postgres(p.get().await.map_err(unavailable)?),
            #[cfg(feature = "mysql")]
            PoolKind::Mysql(p) => Conn::Mysql(p.get().await.map_err(unavailable)?),
        };
        Ok(DbConn {
            conn,
            changes: self.changes.clone(),
            depth: 0,
            pending: Pending::default(),
        })
    }

    /// The change counters shared by this pool's connections (see [`crate::revocation`]).
    pub fn changes(&self) -> &Arc<Changes> {
        &self.changes
    }

    /// Sets the function this database's test pause points await ([`crate::pause`]).
    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn set_pauses(&self, pauses: crate::pause::PauseFn) {
        self.changes.set_pauses(pauses);
    }
}

/// The SQLite pool: WAL and `synchronous = NORMAL` for a file, one connection for
/// `:memory:` (each connection would otherwise open a database of its own).
#[cfg(feature = "sqlite")]
fn sqlite_pool(config: &DatabaseConfig, driver_url: &str) -> Result<PoolKind> {
    let memory = driver_url == ":memory:";
    // A statement cannot be cut while it runs on its thread: the deadline bounds the wait
    // for another connection's lock instead.
    let busy = match config.query_timeout {
        Some(deadline) => config.sqlite_busy_timeout.min(deadline),
        None => config.sqlite_busy_timeout,
    };
    let busy_ms = busy.as_millis();
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
    Ok(PoolKind::Sqlite(build_pool(
        AsyncDieselConnectionManager::new_with_config(driver_url.to_owned(), mc),
        size,
        config.acquire_timeout,
    )?))
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
    fn a_backend_left_out_is_a_config_error_naming_its_feature() {
        let urls = [
            (Backend::Sqlite, "sqlite::memory:"),
            (Backend::Postgres, "postgres://u:secret@h/db"),
            (Backend::Mysql, "mariadb://u:secret@h/db"),
        ];
        for (backend, url) in urls {
            assert_eq!(Backend::from_url(url).unwrap(), backend, "{url}");
            let message = backend.not_compiled_in().to_string();
            assert!(
                message.contains(&format!("\"{}\" Cargo feature", backend.feature())),
                "{message}"
            );
            if !backend.is_enabled() {
                let err = Database::connect(url).unwrap_err();
                assert!(matches!(err, Error::Config(_)), "{err:?}");
                assert_eq!(err.to_string(), message);
                assert!(!message.contains("secret"), "{message}");
            }
        }
    }

    #[test]
    fn config_errors_never_show_passwords() {
        let err = parse_url("oracle://u:secret@h/db").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        let dbg = format!("{:?}", DatabaseConfig::new("postgres://u:secret@h/db"));
        assert!(!dbg.contains("secret"), "{dbg}");
    }
}
