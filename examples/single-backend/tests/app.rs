//! The single-backend application whatever backend it is built with: it builds its router
//! without connecting, refuses the URLs of the backends left out (naming the feature),
//! embeds only its backend's migrations; and on SQLite it serves a guarded handler end to
//! end.

use auth_axum::migrate::AppMigrations;
use auth_axum::service::AuthService;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_the_guarded_handler_serves_a_logged_in_user() {
    if !Backend::Sqlite.is_enabled() {
        return; // the other backends need a server; the router test above covers them
    }
    let db = Database::connect("sqlite::memory:").unwrap();
    auth_axum::migrate::run(&db, &migrations()).await.unwrap();
    let app = app(&auth(db));

    let (status, body, _) = call(&app, "GET", "/api/backend", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], "sqlite");
    let (status, body, _) = call(&app, "GET", "/api/hello", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let creds = json!({"account": "alice", "password": "correct horse"});
    let mut registration = creds.clone();
    registration["extra"] = json!({"display_name": "Alice"});
    let (status, body, _) = call(&app, "POST", "/api/auth/register", None, Some(registration)).await;
    assert!(status.is_success(), "{status} {body}");
    let (status, body, session) = call(&app, "POST", "/api/auth/login", None, Some(creds)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = session.expect("login sets the session cookie");
    let (status, body, _) = call(&app, "GET", "/api/hello", Some(&session), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], "hello, Alice");
}
