//! The anchor of the load benchmark: `/bare`, `/public`, `/protected` and `/perm` with
//! axum-login 0.18 over tower-sessions and its SQLite store (`bench/load.sh` runs it).
//!
//! The backend reads the user and its permissions from SQLite on each call, as axum-login's
//! examples do (`get_user` on every authenticated request, `has_perm` through
//! `get_user_permissions` for `/perm`). At start it creates the user `bench` with the
//! permission `article.read`, logs it in through its own `/login` route (in process) and
//! prints `COOKIE id=<session id>`, then `LISTENING <addr>` (`BENCH_ADDR`, default
//! `127.0.0.1:3200`; the database file is `DATABASE_URL`, default `sqlite://bench-al.db`).

use std::collections::HashSet;
use std::io::Write;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum_login::{
    AuthManagerLayerBuilder, AuthSession, AuthUser, AuthnBackend, AuthzBackend, UserId,
    login_required, permission_required,
};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use tower::ServiceExt;
use tower_sessions::SessionManagerLayer;
use tower_sessions_sqlx_store::SqliteStore;

#[derive(Clone, Debug, sqlx::FromRow)]
struct User {
    id: i64,
    pw_hash: Vec<u8>,
}

impl AuthUser for User {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.pw_hash
    }
}

#[derive(Clone)]
struct Backend {
    pool: SqlitePool,
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = String;
    type Error = sqlx::Error;

    async fn authenticate(&self, account: String) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as("SELECT id, pw_hash FROM users WHERE account = ?")
            .bind(account)
            .fetch_optional(&self.pool)
            .await
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, sqlx::Error> {
        sqlx::query_as("SELECT id, pw_hash FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }
}

impl AuthzBackend for Backend {
    type Permission = String;

    async fn get_user_permissions(&self, user: &User) -> Result<HashSet<String>, sqlx::Error> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT permission FROM user_permissions WHERE user_id = ?")
                .bind(user.id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }
}

async fn hello() -> &'static str {
    "hello"
}

async fn login(mut auth: AuthSession<Backend>) -> StatusCode {
    match auth.authenticate("bench".to_owned()).await {
        Ok(Some(user)) if auth.login(&user).await.is_ok() => StatusCode::OK,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://bench-al.db".into());
    let addr = std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:3200".into());
    let options: SqliteConnectOptions = url.parse()?;
    let pool = SqlitePool::connect_with(
        options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal),
    )
    .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, account TEXT NOT NULL UNIQUE, \
         pw_hash BLOB NOT NULL)",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS user_permissions (user_id INTEGER NOT NULL, \
         permission TEXT NOT NULL, PRIMARY KEY (user_id, permission))",
    )
    .execute(&pool)
    .await?;
    sqlx::query("INSERT OR IGNORE INTO users (id, account, pw_hash) VALUES (1, 'bench', x'00')")
        .execute(&pool)
        .await?;
    sqlx::query("INSERT OR IGNORE INTO user_permissions VALUES (1, 'article.read')")
        .execute(&pool)
        .await?;

    let store = SqliteStore::new(pool.clone());
    store.migrate().await?;
    let sessions = SessionManagerLayer::new(store).with_secure(false);
    let auth_layer = AuthManagerLayerBuilder::new(Backend { pool }, sessions).build();

    // Each guard on its own router, so that `/perm` runs only the permission predicate.
    let protected = Router::new()
        .route("/protected", get(hello))
        .route_layer(login_required!(Backend));
    let perm = Router::new()
        .route("/perm", get(hello))
        .route_layer(permission_required!(Backend, "article.read"));
    let layered = Router::new()
        .route("/public", get(hello))
        .route("/login", get(login))
        .merge(protected)
        .merge(perm)
        .layer(auth_layer);
    let app = Router::new().route("/bare", get(hello)).merge(layered);

    let res = app
        .clone()
        .oneshot(Request::get("/login").body(Body::empty())?)
        .await?;
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .filter(|_| res.status() == StatusCode::OK)
        .ok_or("the in-process login set no session cookie")?
        .to_owned();

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "COOKIE {cookie}")?;
    writeln!(out, "LISTENING {}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    axum::serve(listener, app).await?;
    Ok(())
}
