//! Shared support for the integration tests: one isolated database per test, on every
//! backend the environment provides.
//!
//! SQLite always runs (a fresh file in a temporary folder). PostgreSQL and MySQL run when
//! `AUTH_TEST_POSTGRES_URL` / `AUTH_TEST_MYSQL_URL` name a server where the user may create
//! databases; each test gets its own database, dropped when the test ends (also on panic).
//! Without the variable a test prints that it skipped that backend and passes, unless
//! `AUTH_TEST_REQUIRE_ALL_BACKENDS=1` is set (CI sets it): then a missing server fails the
//! test instead of skipping it.

pub mod admin;
pub mod http;
pub mod model;
pub mod oidc;
pub mod pause;
pub mod slapd;
pub mod smtp;

use std::sync::atomic::{AtomicU32, Ordering};

use auth_axum::{Backend, Database};
use diesel_async::{
    AsyncConnection, AsyncMysqlConnection, AsyncPgConnection, SimpleAsyncConnection,
};

/// Environment variable naming the PostgreSQL server used by the tests.
pub const POSTGRES_ENV: &str = "AUTH_TEST_POSTGRES_URL";
/// Environment variable naming the MySQL / MariaDB server used by the tests.
pub const MYSQL_ENV: &str = "AUTH_TEST_MYSQL_URL";
/// Environment variable that turns a skipped backend into a failure (`1`).
pub const REQUIRE_ALL_ENV: &str = "AUTH_TEST_REQUIRE_ALL_BACKENDS";

/// An isolated database for one test. Dropping it drops the server-side database.
pub struct TestDb {
    /// The pool to use.
    pub db: Database,
    /// The URL of the isolated database.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    /// A database the test made and removes itself.
    Nothing,
    Server {
        admin_url: String,
        name: String,
        backend: Backend,
    },
}

fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "auth_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or_default()
    )
}

/// Replaces the database name (the URL path) of a server URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    /// A fresh SQLite database file.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            db: Database::connect(&url).expect("sqlite pool"),
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    /// A database the test made elsewhere (its own server), at `url`, through the pool
    /// `db`; dropping it removes nothing.
    pub fn external(db: Database, url: String) -> TestDb {
        TestDb {
            db,
            url,
            cleanup: Cleanup::Nothing,
        }
    }

    /// A fresh database on the server `env` names, or `None` (with a message) when unset.
    pub async fn server(backend: Backend) -> Option<TestDb> {
        let env = match backend {
            Backend::Postgres => POSTGRES_ENV,
            Backend::Mysql => MYSQL_ENV,
            Backend::Sqlite => return Some(TestDb::sqlite().await),
        };
        let Ok(admin_url) = std::env::var(env) else {
            assert!(
                std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
                "{REQUIRE_ALL_ENV}=1 but {env} is not set: the {backend} case would be skipped"
            );
            eprintln!("skipped {backend}: set {env} to run this test against {backend}");
            return None;
        };
        let name = unique_name();
        match backend {
            Backend::Postgres => {
                let mut c = AsyncPgConnection::establish(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("{env}: cannot connect: {e}"));
                c.batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create database");
            }
            _ => {
                let mut c = AsyncMysqlConnection::establish(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("{env}: cannot connect: {e}"));
                c.batch_execute(&format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .await
                .expect("create database");
            }
        }
        let url = with_database(&admin_url, &name);
        Some(TestDb {
            db: Database::connect(&url).expect("pool"),
            url,
            cleanup: Cleanup::Server {
                admin_url,
                name,
                backend,
            },
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Cleanup::Server {
            admin_url,
            name,
            backend,
        } = &self.cleanup
        else {
            return;
        };
        let (admin_url, name, backend) = (admin_url.clone(), name.clone(), *backend);
        // Drop the database from a thread of its own: Drop cannot await, and it may run on
        // a runtime thread. The pool's connections must close first: drop ours by closing.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                match backend {
                    Backend::Postgres => {
                        let mut c = AsyncPgConnection::establish(&admin_url).await.ok()?;
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await
                            .ok()
                    }
                    _ => {
                        let mut c = AsyncMysqlConnection::establish(&admin_url).await.ok()?;
                        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                            .await
                            .ok()
                    }
                }
            })
        })
        .join();
    }
}

/// Declares one `#[tokio::test]` per backend for an `async fn(TestDb)`:
/// `backend_tests!(round_trip);` makes `round_trip::sqlite`, `round_trip::postgres` and
/// `round_trip::mysql`. Server backends skip (and say so) when their variable is unset.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestDb::sqlite().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::TestDb::server(::auth_axum::Backend::Postgres).await {
                    super::$name(db).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                if let Some(db) = $crate::TestDb::server(::auth_axum::Backend::Mysql).await {
                    super::$name(db).await;
                }
            }
        }
    )+};
}

/// A port on 127.0.0.1 that refuses connections for as long as this value lives: the socket
/// is bound (so no other test in this process can take the port) but never listens.
pub struct ClosedPort {
    socket: tokio::net::TcpSocket,
}

impl ClosedPort {
    /// Binds a fresh port without listening on it.
    pub fn bind() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind 127.0.0.1:0");
        Self { socket }
    }

    /// The port number.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("a bound socket").port()
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@h:3306/test?ssl=false", "x"),
            "mysql://root@h:3306/x?ssl=false"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
