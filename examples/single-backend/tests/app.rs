//! The single-backend application whatever backend it is built with: it builds its router
//! without connecting, refuses the URLs of the backends left out (naming the feature),
//! embeds only its backend's migrations, and serves its guarded handler end to end on each
//! backend compiled in (PostgreSQL and MariaDB when `AUTH_TEST_POSTGRES_URL` /
//! `AUTH_TEST_MYSQL_URL` name a server, as in CI).

use auth_axum::auth_core::migrate::AppMigrations;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Auth, Backend, CookieConfig, Database, Error, HttpConfig};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use single_backend::{User, app, compiled_backends, migrations};
use tower::ServiceExt;

/// A URL of each backend; nothing listens on the server ones (no test connects to them).
fn url(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite::memory:",
        Backend::Postgres => "postgres://app:secret@127.0.0.1:9/app",
        Backend::Mysql => "mysql://app:secret@127.0.0.1:9/app",
    }
}

fn auth(db: Database) -> Auth<User> {
    let service = AuthService::<User>::builder().bcrypt_cost(4).build();
    let http = HttpConfig {
        cookie: CookieConfig::insecure_dev(),
        ..HttpConfig::default()
    };
    Auth::with_http(db, service, http)
}

#[tokio::test]
async fn the_router_builds_on_every_compiled_backend_without_connecting() {
    assert!(!compiled_backends().is_empty());
    for backend in compiled_backends() {
        let db = Database::connect(url(backend)).unwrap();
        assert_eq!(db.backend(), backend);
        let _app: Router = app(&auth(db));
    }
}

#[test]
fn a_backend_left_out_is_refused_naming_its_feature() {
    for backend in Backend::ALL {
        if backend.is_enabled() {
            continue;
        }
        let err = Database::connect(url(backend)).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{backend}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("\"{}\" Cargo feature", backend.feature())),
            "{message}"
        );
        assert!(!message.contains("secret"), "{message}");
    }
}

#[test]
fn only_the_compiled_backends_migrations_are_embedded() {
    let AppMigrations::Embedded {
        sqlite,
        postgres,
        mysql,
    } = migrations()
    else {
        panic!("embed_app_migrations! gives AppMigrations::Embedded");
    };
    assert_eq!(sqlite.is_some(), Backend::Sqlite.is_enabled());
    assert_eq!(postgres.is_some(), Backend::Postgres.is_enabled());
    assert_eq!(mysql.is_some(), Backend::Mysql.is_enabled());
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1:3001")
        .header("origin", "http://127.0.0.1:3001");
    if let Some(token) = session {
        req = req.header("cookie", format!("auth_session={token}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("auth_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cookie,
    )
}

/// A database for the end-to-end test on `backend`: SQLite in memory; on PostgreSQL or
/// MariaDB a fresh database on the server `AUTH_TEST_POSTGRES_URL` / `AUTH_TEST_MYSQL_URL`
/// names, with the call that drops it. `None` when that variable is unset (a failure
/// instead under `AUTH_TEST_REQUIRE_ALL_BACKENDS=1`, as in CI).
async fn fresh_database(backend: Backend) -> Option<(Database, Option<(Database, String)>)> {
    let env = match backend {
        Backend::Sqlite => return Some((Database::connect("sqlite::memory:").unwrap(), None)),
        Backend::Postgres => "AUTH_TEST_POSTGRES_URL",
        Backend::Mysql => "AUTH_TEST_MYSQL_URL",
    };
    let Ok(admin_url) = std::env::var(env) else {
        assert!(
            std::env::var("AUTH_TEST_REQUIRE_ALL_BACKENDS").as_deref() != Ok("1"),
            "AUTH_TEST_REQUIRE_ALL_BACKENDS=1 but {env} is not set"
        );
        eprintln!("skipped {backend}: set {env} to run this test against {backend}");
        return None;
    };
    let name = format!(
        "single_backend_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin = Database::connect(&admin_url).unwrap();
    let create = match backend {
        Backend::Mysql => {
            format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        }
        _ => format!("CREATE DATABASE {name}"),
    };
    execute(&admin, &create).await;
    // The same server, the new database: the URL's path is the database name.
    let (scheme, rest) = admin_url.split_once("://").unwrap();
    let server = rest.split_once('/').map_or(rest, |(server, _)| server);
    let db = Database::connect(&format!("{scheme}://{server}/{name}")).unwrap();
    let drop = match backend {
        Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {name}"),
    };
    Some((db, Some((admin, drop))))
}

/// Runs one SQL statement through the application's own connection pool: `with_conn!`
/// compiled here, in a crate that may have a single backend.
async fn execute(db: &Database, sql: &str) {
    use diesel_async::SimpleAsyncConnection as _;
    let mut conn = db.conn().await.unwrap();
    auth_axum::auth_core::with_conn!(conn, |c| c.batch_execute(sql).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Migrates `db` (the auth tables, then this crate's user table, embedded for the backend
/// compiled in), then registers, logs in and calls the guarded handler over HTTP.
async fn serves_a_logged_in_user(db: Database) {
    auth_axum::auth_core::migrate::run(&db, &migrations())
        .await
        .unwrap();
    let backend = db.backend();
    let app = app(&auth(db));

    let (status, body, _) = call(&app, "GET", "/api/backend", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], backend.to_string());
    let (status, body, _) = call(&app, "GET", "/api/hello", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let creds = json!({"account": "alice", "password": "correct horse"});
    let mut registration = creds.clone();
    registration["extra"] = json!({"display_name": "Alice"});
    let (status, body, _) =
        call(&app, "POST", "/api/auth/register", None, Some(registration)).await;
    assert!(status.is_success(), "{status} {body}");
    let (status, body, session) = call(&app, "POST", "/api/auth/login", None, Some(creds)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = session.expect("login sets the session cookie");
    let (status, body, _) = call(&app, "GET", "/api/hello", Some(&session), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], "hello, Alice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_compiled_backend_serves_the_guarded_handler_end_to_end() {
    for backend in compiled_backends() {
        let Some((db, cleanup)) = fresh_database(backend).await else {
            continue;
        };
        // In a task of its own, so that the database is dropped even when it fails.
        let outcome = tokio::spawn(serves_a_logged_in_user(db)).await;
        if let Some((admin, drop)) = cleanup {
            execute(&admin, &drop).await;
        }
        if let Err(e) = outcome {
            eprintln!("failed on {backend}");
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
