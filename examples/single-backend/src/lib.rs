//! An application on one database, built without the backends, the SMTP mailer and the
//! command line it does not use: `auth-axum` with `default-features = false` and one of the
//! features `sqlite`, `postgres`, `mysql` (this crate's features of the same names forward
//! to it).
//!
//! Nothing here names a backend: the user model, the guarded handler, the embedded
//! migrations and the router are the same source for the three. What changes is what gets
//! compiled: the code `#[derive(AuthUser)]`, `with_conn!` and `embed_app_migrations!`
//! generate follows the backends compiled into `auth-core`, and the drivers of the others
//! (`libsqlite3-sys`, `tokio-postgres`, `mysql_async`) are not built at all (`.ci/run`
//! checks that with `cargo tree`).

use auth_axum::auth_core::migrate::AppMigrations;
use auth_axum::response;
use auth_axum::{Auth, AuthUser, Backend, CurrentUser, login_required};
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use time::PrimitiveDateTime;

/// The user model: the core fields and one custom field.
#[derive(AuthUser, Clone)]
#[auth(table = "users")]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login name.
    pub account: String,
    /// Password hash (never serialized or printed).
    pub password: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Passes every permission check.
    pub is_superuser: bool,
    /// Inactive users cannot log in.
    pub is_active: bool,
    /// Last successful login.
    pub last_login: Option<PrimitiveDateTime>,
    /// Creation time.
    pub date_joined: PrimitiveDateTime,
    /// Custom field.
    #[auth(max_length = 100)]
    pub display_name: String,
}

/// The backends this build can connect to, in [`Backend::ALL`] order.
pub fn compiled_backends() -> Vec<Backend> {
    Backend::ALL
        .into_iter()
        .filter(|b| b.is_enabled())
        .collect()
}

/// The database URL: `DATABASE_URL`, or with SQLite compiled in, an in-memory database.
pub fn database_url() -> Result<String, String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) => Ok(url),
        Err(_) if Backend::Sqlite.is_enabled() => Ok("sqlite::memory:".into()),
        Err(_) => Err(format!(
            "set DATABASE_URL (this build supports: {:?})",
            compiled_backends()
        )),
    }
}

/// The user-table migrations `makemigrations` wrote under `migrations/`: only the folder
/// of the backend compiled in is embedded.
pub fn migrations() -> AppMigrations {
    auth_axum::embed_app_migrations!()
}

/// `GET /api/hello`: needs a login.
#[login_required]
async fn hello(user: CurrentUser<User>) -> Response {
    response::ok(format!("hello, {}", user.user.display_name), "greeting")
}

/// The application: `/api/hello` (guarded), `/api/backend` (which backend this server
/// runs on) and the auth router at `/api/auth`, behind the auth layer.
pub fn app(auth: &Auth<User>) -> Router {
    let backend = auth.db().backend();
    Router::new()
        .route("/api/hello", get(hello))
        .route(
            "/api/backend",
            get(move || async move { response::ok(backend.to_string(), "backend") }),
        )
        .nest("/api/auth", auth.router())
        .layer(auth.layer())
}
