//! Database faults (issue 25 item 9, SPEC C12.6), written as attacks through the HTTP layer:
//! a login against a locked sessions table answers 503 `unavailable` within the client-side
//! deadline (not when the lock goes), writes nothing, and the next login succeeds; a server
//! that ends the application's connection under it, and a deadlock the login loses, answer
//! 503, never 500; and a private
//! PostgreSQL cluster stopped and started again under load is recovered from without
//! restarting the application.
//!
//! The order of events is what the tests check, not timings: the lock is held until the
//! answer has arrived, and released only then. A guard of [`GUARD`] turns a request that
//! would wait for the lock into a failure instead of a hang.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_axum::auth_core::schema::auth_sessions;
use auth_axum::auth_core::service::AuthService;
use auth_axum::auth_core::throttle::ThrottleConfig;
use auth_axum::auth_core::with_conn;
use auth_axum::{AuthConfig, Backend, Database, DatabaseConfig};
use auth_tests::http::{Answer, TEST_COST, TestApp, send};
use auth_tests::{REQUIRE_ALL_ENV, TestDb, backend_tests};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use diesel::{Connection, ExpressionMethods, QueryDsl, QueryableByName};
use diesel_async::SimpleAsyncConnection;
use diesel_async::{AsyncConnection, AsyncMysqlConnection, AsyncPgConnection};
use serde_json::json;
use tokio::sync::Notify;

/// The client-side deadline the application is configured with in the lock tests.
const DEADLINE: Duration = Duration::from_millis(300);
/// How long a test waits for an answer before it calls the request hung.
const GUARD: Duration = Duration::from_secs(15);

/// `t` with a pool whose statements have the client-side deadline `deadline`, set as an
/// application would: `AUTH_DB_QUERY_TIMEOUT`, then [`AuthConfig::database_config`].
fn with_deadline(mut t: TestDb, deadline: Duration) -> TestDb {
    let config = AuthConfig::default()
        .merge_vars([(
            "AUTH_DB_QUERY_TIMEOUT",
            format!("{}ms", deadline.as_millis()),
        )])
        .expect("AUTH_DB_QUERY_TIMEOUT");
    t.db = Database::with_config(config.database_config(t.url.clone())).expect("pool");
    t
}

/// The app of these tests: cheap hashing, no throttling (a refused attempt must not lock
/// the account the next login uses).
async fn app(t: TestDb) -> TestApp {
    let service = AuthService::builder()
        .bcrypt_cost(TEST_COST)
        .throttle(ThrottleConfig::disabled())
        .build();
    TestApp::with_service(t, service).await
}

fn login_request(account: &str) -> Request<Body> {
    Request::post("/api/contrib/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("host", auth_tests::http::HOST)
        .header("origin", auth_tests::http::ORIGIN)
        .body(Body::from(
            json!({"account": account, "password": "pass-word-1"}).to_string(),
        ))
        .unwrap()
}

/// Starts a login of `account` in a task of its own.
fn spawn_login(app: &TestApp, account: &str) -> tokio::task::JoinHandle<(Answer, Duration)> {
    let router = app.router.clone();
    let req = login_request(account);
    tokio::spawn(async move {
        let start = Instant::now();
        let a = send(&router, req).await;
        (a, start.elapsed())
    })
}

/// The answer of a spawned request, or a failure naming `what` when none came within
/// [`GUARD`].
async fn answer_of(
    task: tokio::task::JoinHandle<(Answer, Duration)>,
    what: &str,
) -> (Answer, Duration) {
    match tokio::time::timeout(GUARD, task).await {
        Ok(done) => done.expect("the request task"),
        Err(_) => panic!("{what}: no answer within {GUARD:?} (the request waits on the database)"),
    }
}

/// Asserts a 503 `unavailable` with `Retry-After`, whose body shows nothing of the cause.
fn assert_unavailable(a: &Answer, what: &str) {
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        "{what}: {:?}",
        a.body
    );
    assert!(
        a.headers.contains_key(header::RETRY_AFTER),
        "{what}: no Retry-After: {:?}",
        a.headers
    );
    let body = a.body.to_string().to_lowercase();
    for leak in [
        "lock",
        "cancel",
        "sql",
        "statement",
        "terminat",
        "postgres",
        "mysql",
        "sqlite",
    ] {
        assert!(
            !body.contains(leak),
            "{what}: the body shows {leak:?}: {body}"
        );
    }
}

/// The number of sessions of `user_id`.
async fn sessions_of(db: &Database, user_id: i64) -> i64 {
    use diesel_async::RunQueryDsl;
    let mut conn = db.conn().await.expect("connection");
    with_conn!(&mut conn, |c| {
        auth_sessions::table
            .filter(auth_sessions::user_id.eq(user_id))
            .count()
            .get_result::<i64>(c)
            .await
            .expect("count the sessions")
    })
}

/// A connection of the test's own (outside the application's pool) holding a lock that
/// stops any write to `auth_sessions` until [`Lock::release`]. One lives per test: its
/// size does not matter.
#[allow(clippy::large_enum_variant)]
enum Lock {
    Sqlite(diesel::SqliteConnection),
    Postgres(AsyncPgConnection),
    Mysql(AsyncMysqlConnection),
}

impl Lock {
    /// SQLite: `BEGIN EXCLUSIVE` (no other connection writes); PostgreSQL: `LOCK TABLE
    /// auth_sessions IN ACCESS EXCLUSIVE MODE` in an open transaction (the reported
    /// case); MariaDB: `LOCK TABLES auth_sessions WRITE`.
    async fn take(t: &TestDb) -> Lock {
        match t.db.backend() {
            Backend::Sqlite => {
                use diesel::connection::SimpleConnection;
                let path = t.url.strip_prefix("sqlite://").expect("a sqlite URL");
                let mut c = diesel::SqliteConnection::establish(path).expect("sqlite");
                c.batch_execute("BEGIN EXCLUSIVE").expect("lock");
                Lock::Sqlite(c)
            }
            Backend::Postgres => {
                let mut c = AsyncPgConnection::establish(&t.url).await.expect("pg");
                c.batch_execute("BEGIN; LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE")
                    .await
                    .expect("lock");
                Lock::Postgres(c)
            }
            Backend::Mysql => {
                let mut c = AsyncMysqlConnection::establish(&t.url)
                    .await
                    .expect("mysql");
                c.batch_execute("LOCK TABLES auth_sessions WRITE")
                    .await
                    .expect("lock");
                Lock::Mysql(c)
            }
        }
    }

    async fn release(self) {
        match self {
            Lock::Sqlite(mut c) => {
                use diesel::connection::SimpleConnection;
                c.batch_execute("ROLLBACK").expect("unlock");
            }
            Lock::Postgres(mut c) => c.batch_execute("ROLLBACK").await.expect("unlock"),
            Lock::Mysql(mut c) => c.batch_execute("UNLOCK TABLES").await.expect("unlock"),
        }
    }
}

/// The reported case: `auth_sessions` locked by another transaction, a login waited 38.6 s
/// and then succeeded. With a 300 ms deadline the login answers 503 `unavailable` (with
/// `Retry-After`, the cause not shown) while the lock is still held, its session is not
/// written, and once the lock goes the next login succeeds through the same pool.
async fn a_locked_sessions_table_answers_503_within_the_deadline(t: TestDb) {
    let backend = t.db.backend();
    let app = app(with_deadline(t, DEADLINE)).await;
    let (id, _) = app.user("alice").await;
    assert_eq!(sessions_of(&app.t.db, id).await, 1);

    let lock = Lock::take(&app.t).await;
    let (a, took) = answer_of(spawn_login(&app, "alice"), "a login against the lock").await;
    eprintln!(
        "{backend}: a login against the locked sessions table answered {} in {took:?} (deadline {DEADLINE:?})",
        a.status
    );
    assert_unavailable(&a, "a login against the lock");
    assert!(
        a.token().is_none(),
        "no session cookie: {:?}",
        a.set_cookies
    );
    // Only now, the answer in hand, does the lock go.
    lock.release().await;

    assert_eq!(
        sessions_of(&app.t.db, id).await,
        1,
        "the refused login left a session behind"
    );
    app.login("alice", "pass-word-1").await;
    assert_eq!(sessions_of(&app.t.db, id).await, 2);
}

/// The statement the application runs for a login waits on the lock (seen from the
/// server): its connection id (PostgreSQL backend pid, MariaDB thread id).
async fn waiting_connection(t: &TestDb, admin: &mut Lock) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let start = Instant::now();
    loop {
        let found: Vec<Id> = match admin {
            Lock::Postgres(c) => diesel::sql_query(
                "SELECT pid::bigint AS id FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND wait_event_type = 'Lock'",
            )
            .load(c)
            .await
            .expect("pg_stat_activity"),
            Lock::Mysql(c) => diesel::sql_query(
                "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist \
                 WHERE db = DATABASE() AND id <> CONNECTION_ID() AND (state LIKE '%lock%' \
                 OR id IN (SELECT trx_mysql_thread_id FROM information_schema.innodb_trx \
                 WHERE trx_state = 'LOCK WAIT'))",
            )
            .load(c)
            .await
            .expect("processlist"),
            Lock::Sqlite(_) => unreachable!("no server"),
        };
        if let Some(found) = found.into_iter().next() {
            return found.id;
        }
        if start.elapsed() > GUARD {
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = diesel::sql_types::Text)]
                line: String,
            }
            let activity: Vec<Line> = match admin {
                Lock::Postgres(c) => diesel::sql_query(
                    "SELECT concat_ws(' | ', pid, state, wait_event_type, query) AS line \
                     FROM pg_stat_activity WHERE datname = current_database()",
                )
                .load(c)
                .await
                .unwrap_or_default(),
                Lock::Mysql(c) => diesel::sql_query(
                    "SELECT CONCAT_WS(' | ', id, command, state, info) AS line \
                     FROM information_schema.processlist WHERE db = DATABASE()",
                )
                .load(c)
                .await
                .unwrap_or_default(),
                Lock::Sqlite(_) => Vec::new(),
            };
            let activity: Vec<String> = activity.into_iter().map(|l| l.line).collect();
            panic!(
                "{}: no statement of the application waits on the lock; the server runs {activity:#?}",
                t.db.backend()
            );
        }
        // Polling the server for the state the next step needs (it has no event to wait
        // on). InnoDB refreshes `innodb_trx` only when it was not read for 0.1 s.
        let every = match admin {
            Lock::Mysql(_) => Duration::from_millis(150),
            _ => Duration::from_millis(10),
        };
        tokio::time::sleep(every).await;
    }
}

/// The server ends the application's connection while its login waits on a lock (an
/// administrator's `pg_terminate_backend`, MariaDB's `KILL`: what a failover or a restart
/// does to a connection): the login answers 503 `unavailable`, not 500, and the pool
/// replaces the connection. The deadline is long here, so that the server acts first.
async fn a_connection_ended_by_the_server_answers_503(t: TestDb) {
    let backend = t.db.backend();
    if backend == Backend::Sqlite {
        // No server: a busy SQLite file is the lock test's case.
        return;
    }
    let app = app(with_deadline(t, GUARD)).await;
    let (id, _) = app.user("alice").await;
    let lock = Lock::take(&app.t).await;
    let mut admin = match backend {
        Backend::Postgres => {
            Lock::Postgres(AsyncPgConnection::establish(&app.t.url).await.unwrap())
        }
        _ => Lock::Mysql(AsyncMysqlConnection::establish(&app.t.url).await.unwrap()),
    };
    let login = spawn_login(&app, "alice");
    let victim = waiting_connection(&app.t, &mut admin).await;
    match &mut admin {
        Lock::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_terminate_backend({victim})"))
                .await
                .expect("terminate");
        }
        Lock::Mysql(c) => {
            c.batch_execute(&format!("KILL {victim}"))
                .await
                .expect("kill");
        }
        Lock::Sqlite(_) => unreachable!(),
    }
    let (a, took) = answer_of(login, "a login whose connection the server ended").await;
    eprintln!(
        "{backend}: a login whose connection the server ended answered {} in {took:?}",
        a.status
    );
    assert_unavailable(&a, "a login whose connection the server ended");
    lock.release().await;
    assert_eq!(sessions_of(&app.t.db, id).await, 1);
    app.login("alice", "pass-word-1").await;
    assert_eq!(sessions_of(&app.t.db, id).await, 2);
}

/// A login that loses a deadlock to another transaction answers 503 `unavailable`, not
/// 500, and leaves nothing behind. The other transaction holds the user's row (which the
/// login's `last_login` update waits on) and then waits on the session the login inserted:
/// the server breaks the cycle by ending the login's transaction (PostgreSQL: the other
/// side never runs the deadlock check; MariaDB: the other side has written more, so the
/// login is the cheaper victim). The deadline is long, so that the server acts first.
async fn a_login_that_loses_a_deadlock_answers_503(t: TestDb) {
    let backend = t.db.backend();
    if backend == Backend::Sqlite {
        // One writer at a time: a busy SQLite file is the lock test's case.
        return;
    }
    let app = app(with_deadline(t, GUARD)).await;
    let (id, _) = app.user("alice").await;
    let mut other = match backend {
        Backend::Postgres => {
            let mut c = AsyncPgConnection::establish(&app.t.url).await.unwrap();
            c.batch_execute(&format!(
                "SET deadlock_timeout = '1h'; BEGIN; \
                 SELECT id FROM users WHERE id = {id} FOR UPDATE"
            ))
            .await
            .expect("hold the user's row");
            Lock::Postgres(c)
        }
        _ => {
            let mut c = AsyncMysqlConnection::establish(&app.t.url).await.unwrap();
            c.batch_execute(
                "CREATE TABLE ballast (n INT NOT NULL) ENGINE = InnoDB; \
                 INSERT INTO ballast VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
            )
            .await
            .expect("ballast");
            for statement in [
                "BEGIN".to_owned(),
                "INSERT INTO ballast SELECT a.n FROM ballast a, ballast b".to_owned(),
                format!("SELECT id FROM users WHERE id = {id} FOR UPDATE"),
            ] {
                c.batch_execute(&statement)
                    .await
                    .expect("hold the user's row");
            }
            Lock::Mysql(c)
        }
    };
    let mut admin = match backend {
        Backend::Postgres => {
            Lock::Postgres(AsyncPgConnection::establish(&app.t.url).await.unwrap())
        }
        _ => Lock::Mysql(AsyncMysqlConnection::establish(&app.t.url).await.unwrap()),
    };
    let login = spawn_login(&app, "alice");
    // The login has inserted its session and waits on the user's row.
    waiting_connection(&app.t, &mut admin).await;
    // Now the other side waits on that session: the cycle is closed.
    let close = format!("SELECT id FROM auth_sessions WHERE user_id = {id} FOR UPDATE");
    let closed = match &mut other {
        Lock::Postgres(c) => {
            c.batch_execute(&format!("LOCK TABLE auth_sessions IN SHARE MODE; {close}"))
                .await
        }
        Lock::Mysql(c) => c.batch_execute(&close).await,
        Lock::Sqlite(_) => unreachable!(),
    };
    closed.expect("the other transaction survives the deadlock");
    let (a, took) = answer_of(login, "a login that lost a deadlock").await;
    eprintln!(
        "{backend}: a login that lost a deadlock answered {} in {took:?}",
        a.status
    );
    assert_unavailable(&a, "a login that lost a deadlock");
    match other {
        Lock::Postgres(mut c) => c.batch_execute("ROLLBACK").await.expect("end"),
        Lock::Mysql(mut c) => c.batch_execute("ROLLBACK").await.expect("end"),
        Lock::Sqlite(_) => unreachable!(),
    }
    assert_eq!(
        sessions_of(&app.t.db, id).await,
        1,
        "the login that lost left a session behind"
    );
    app.login("alice", "pass-word-1").await;
    assert_eq!(sessions_of(&app.t.db, id).await, 2);
}

backend_tests!(
    a_locked_sessions_table_answers_503_within_the_deadline,
    a_connection_ended_by_the_server_answers_503,
    a_login_that_loses_a_deadlock_answers_503,
);

/// A PostgreSQL cluster of the test's own: `initdb` into a temporary folder, served on a
/// free port with its socket in that folder; stopped (`-m immediate`) when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// `runuser -u postgres --` when the test runs as root (initdb refuses root).
    as_postgres: bool,
}

impl PrivatePostgres {
    /// The cluster, started; `None` (with the reason) when no PostgreSQL server binaries
    /// are installed.
    fn start() -> Option<PrivatePostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()?;
        let dir = tempfile::tempdir().expect("temporary folder");
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(owned.success(), "chown the cluster folder to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres {
            bin,
            dir,
            port,
            as_postgres,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &pg.data().display().to_string(),
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        pg.ctl(&["start"]);
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs a server binary, as postgres when the test runs as root; panics on failure.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect(tool);
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl <args>` on the cluster, waiting for it to finish (`-w`).
    fn ctl(&self, args: &[&str]) {
        let data = self.data().display().to_string();
        let log = self.dir.path().join("server.log").display().to_string();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut all = vec!["-D", &data, "-l", &log, "-o", &opts, "-w"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c.arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd
            .args(["-D"])
            .arg(&data)
            .args(["stop", "-m", "immediate", "-w"])
            .output();
    }
}

/// What the load saw in one phase.
#[derive(Default)]
struct Seen {
    ok: AtomicUsize,
    unavailable: AtomicUsize,
}

/// The load's shared state: the phase (0 up, 1 stopped, 2 started again), the counts per
/// phase, a signal after each answer, and the stop flag.
#[derive(Default)]
struct Load {
    phase: AtomicUsize,
    seen: [Seen; 3],
    answered: Notify,
    stop: AtomicBool,
    /// Clients that ended before being told to stop (a failed assertion).
    ended: AtomicUsize,
}

/// Tells the load a client ended, also when it fails (dropped while unwinding).
struct Ended(Arc<Load>);

impl Drop for Ended {
    fn drop(&mut self) {
        if !self.0.stop.load(Ordering::SeqCst) {
            self.0.ended.fetch_add(1, Ordering::SeqCst);
        }
        self.0.answered.notify_waiters();
    }
}

impl Load {
    /// Waits until `done` holds, re-checked after each answer; fails after twice [`GUARD`].
    async fn until(&self, what: &str, done: impl Fn(&Load) -> bool) {
        let wait = async {
            loop {
                let next = self.answered.notified();
                tokio::pin!(next);
                next.as_mut().enable();
                if done(self) {
                    return;
                }
                assert_eq!(
                    self.ended.load(Ordering::SeqCst),
                    0,
                    "{what}: a client of the load failed (see its panic above)"
                );
                next.await;
            }
        };
        if tokio::time::timeout(GUARD * 2, wait).await.is_err() {
            panic!("{what}: not within {:?}", GUARD * 2);
        }
    }
}

/// One client of the load: logs in, then reads `me` with that session, over and over,
/// until told to stop; every answer is 200 or 503 `unavailable` within `bound`, never
/// anything else, and is counted in the phase it started in.
async fn client(app: Arc<TestApp>, account: String, load: Arc<Load>, bound: Duration) {
    let _ended = Ended(load.clone());
    let started = Instant::now();
    for _ in 0..100_000 {
        if load.stop.load(Ordering::SeqCst) {
            return;
        }
        assert!(started.elapsed() < GUARD * 8, "the load ran away");
        let p = load.phase.load(Ordering::SeqCst);
        let (a, took) = answer_of(spawn_login(&app, &account), "a login under load").await;
        assert!(took < bound, "a login took {took:?} (bound {bound:?})");
        let seen = &load.seen[p];
        if a.status == StatusCode::OK {
            seen.ok.fetch_add(1, Ordering::SeqCst);
            let token = a.token().expect("a session cookie");
            let req = Request::get("/api/contrib/auth/me")
                .header("cookie", format!("auth_session={token}"))
                .body(Body::empty())
                .unwrap();
            let start = Instant::now();
            let me = send(&app.router, req).await;
            let took = start.elapsed();
            assert!(took < bound, "me took {took:?} (bound {bound:?})");
            if me.status != StatusCode::OK {
                assert_unavailable(&me, "me under load");
            }
        } else {
            assert_unavailable(&a, "a login under load");
            seen.unavailable.fetch_add(1, Ordering::SeqCst);
        }
        load.answered.notify_waiters();
    }
}

/// A private PostgreSQL (its own `initdb`, its own port) stopped at once (`pg_ctl stop -m
/// immediate`) under a load of logins and reads, then started again: while it is down
/// every request answers 503 `unavailable` within the deadline (never 500, never a hang),
/// and once it is back requests succeed again through the same application and pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_postgres_is_recovered_from_without_restarting_the_app() {
    let Some(pg) = PrivatePostgres::start() else {
        assert!(
            std::env::var(REQUIRE_ALL_ENV).as_deref() != Ok("1"),
            "{REQUIRE_ALL_ENV}=1 but no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb): \
             the restart test would be skipped"
        );
        eprintln!(
            "skipped: no PostgreSQL server binaries under /usr/lib/postgresql to initdb a private cluster"
        );
        return;
    };
    let mut admin = AsyncPgConnection::establish(&pg.url("postgres"))
        .await
        .expect("the private cluster");
    admin
        .batch_execute("CREATE DATABASE faults")
        .await
        .expect("create database");
    drop(admin);
    let deadline = Duration::from_secs(1);
    let url = pg.url("faults");
    let db = Database::with_config(DatabaseConfig {
        max_connections: 4,
        acquire_timeout: deadline,
        query_timeout: Some(deadline),
        ..DatabaseConfig::new(url.clone())
    })
    .expect("pool");
    let app = Arc::new(app(TestDb::external(db, url)).await);
    let accounts: Vec<String> = (0..4).map(|i| format!("user{i}")).collect();
    for account in &accounts {
        app.register(account, "pass-word-1").await;
    }

    let load = Arc::new(Load::default());
    // An answer within the pool's wait plus a statement's deadline, with room for a slow
    // machine: a request that waited on the dead server would take far longer.
    let bound = deadline * 4;
    let clients: Vec<_> = accounts
        .iter()
        .map(|account| tokio::spawn(client(app.clone(), account.clone(), load.clone(), bound)))
        .collect();

    load.until("logins while the server is up", |l| {
        l.seen[0].ok.load(Ordering::SeqCst) >= 8
    })
    .await;
    load.phase.store(1, Ordering::SeqCst);
    pg.ctl(&["stop", "-m", "immediate"]);
    load.until("503s while the server is down", |l| {
        l.seen[1].unavailable.load(Ordering::SeqCst) >= 8
    })
    .await;
    load.phase.store(2, Ordering::SeqCst);
    pg.ctl(&["start"]);
    load.until("logins once the server is back", |l| {
        l.seen[2].ok.load(Ordering::SeqCst) >= 8
    })
    .await;
    load.stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("a load client failed");
    }
    let counts: Vec<(usize, usize)> = load
        .seen
        .iter()
        .map(|s| {
            (
                s.ok.load(Ordering::SeqCst),
                s.unavailable.load(Ordering::SeqCst),
            )
        })
        .collect();
    eprintln!(
        "postgres restarted under load, (200, 503) logins while up / down / back: {counts:?}"
    );
    // The app was not restarted: the same pool serves a fresh login.
    app.login("user0", "pass-word-1").await;
}
