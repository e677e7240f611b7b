//! The load benchmark's server for this framework (`bench/load.sh` builds and runs it).
//!
//! Serves four routes with the same trivial handler: `/bare` (no auth layer at all),
//! `/public` (behind the auth layer, no extractor), `/protected` (`#[login_required]`) and
//! `/perm` (`#[permission_required("article.read")]`).
//!
//! At start it migrates the database (`DATABASE_URL`, default a SQLite file `bench.db` in
//! the working directory), creates the user `bench` holding a role that grants
//! `article.read`, opens a session for it and creates an API key, and prints `COOKIE
//! auth_session=<token>` and `APIKEY <key>` on
//! stdout, then `LISTENING <addr>` once it accepts connections on `BENCH_ADDR` (default
//! `127.0.0.1:3100`).

use auth_axum::auth_core::jwt::{Jwt, JwtConfig};
use auth_axum::auth_core::migrate::{self, AppMigrations};
use auth_axum::auth_core::rbac::manage;
use auth_axum::auth_core::service::{AuthService, DEFAULT_PLATFORM};
use auth_axum::auth_core::session::{self, NewSession, SessionConfig};
use auth_axum::{
    Auth, AuthUser, CookieConfig, Database, HttpConfig, NewUser, UserStore, login_required,
    permission_required,
};
use axum::Router;
use axum::routing::get;
use std::io::Write;
use time::PrimitiveDateTime;

/// The benchmark's user model: the built-in fields only.
#[derive(AuthUser, Clone)]
#[auth(table = "bench_users")]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login name.
    pub account: String,
    /// Password hash.
    pub password: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Active flag.
    pub is_active: bool,
    /// Last login.
    pub last_login: Option<PrimitiveDateTime>,
    /// Creation time.
    pub date_joined: PrimitiveDateTime,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn hello() -> &'static str {
    "hello"
}

#[login_required]
async fn protected() -> &'static str {
    "hello"
}

#[permission_required("article.read")]
async fn perm() -> &'static str {
    "hello"
}

/// The routes: `/bare` merged beside the layered ones, outside the auth layer.
fn app(auth: &Auth<User>) -> Router {
    let layered = Router::new()
        .route("/public", get(hello))
        .route("/protected", get(protected))
        .route("/perm", get(perm))
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer());
    Router::new().route("/bare", get(hello)).merge(layered)
}

/// The benchmark model's migrations, committed beside this file (a stable version, so a
/// server database keeps working from run to run). `bench-server makemigrations` writes
/// them after a change to [`User`].
fn migrations_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

/// What the load generator presents: a session cookie, an API key, and a JWT access token.
struct Credentials {
    cookie: String,
    api_key: String,
    jwt: String,
}

/// Migrates, creates the user and its role (idempotent), opens a session, creates an API
/// key and signs an access token with `jwt` for that session.
async fn prepare(db: &Database, jwt: &Jwt) -> Result<Credentials, BoxError> {
    migrate::run(db, &AppMigrations::Directory(migrations_dir())).await?;
    let mut conn = db.conn().await?;
    let user = match User::find_by_account(&mut conn, "bench").await? {
        Some(user) => user,
        None => {
            let extra = serde_json::Map::new();
            let user = User::new_user(NewUser {
                account: "bench".into(),
                // Never checked: the session is opened directly below.
                password_hash: "!".into(),
                email: None,
                extra: &extra,
            })?;
            user.insert(&mut conn).await?
        }
    };
    manage::get_or_create_permission(&mut conn, "article.read", "Read articles").await?;
    manage::get_or_create_role(&mut conn, "Reader", None).await?;
    manage::grant_permission(&mut conn, "Reader", "article.read").await?;
    manage::assign_role(&mut conn, user.id(), "Reader", None).await?;
    let (token, session) = session::create(
        &mut conn,
        NewSession {
            user_id: user.id(),
            platform: DEFAULT_PLATFORM,
            ip: None,
            user_agent: None,
            session_info: None,
            mfa: false,
        },
        &SessionConfig::default(),
    )
    .await?;
    let (key, _) = auth_axum::auth_core::api_key::create(
        &mut conn,
        auth_axum::auth_core::api_key::NewApiKey {
            user_id: user.id(),
            name: "bench",
            permissions: None,
            expires_at: None,
        },
    )
    .await?;
    let (access, _) = jwt.issue(user.id(), session.id, auth_axum::auth_core::jwt::unix_now())?;
    Ok(Credentials {
        cookie: token,
        api_key: key,
        jwt: access,
    })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if std::env::args().nth(1).as_deref() == Some("makemigrations") {
        auth_axum::auth_core::makemigrations::makemigrations(
            &User::TABLE,
            &migrations_dir(),
            None,
        )?;
        return Ok(());
    }
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://bench.db".into());
    let addr = std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:3100".into());
    let db = Database::connect(&url)?;
    // Access tokens that outlive any run of the benchmark.
    let mut jwt = JwtConfig::ephemeral();
    jwt.access_ttl = std::time::Duration::from_secs(24 * 3600);
    let service = AuthService::<User>::builder().jwt(jwt).build();
    let creds = prepare(&db, service.jwt().ok_or("no JWT signer")?).await?;
    let auth = Auth::with_http(
        db,
        service,
        HttpConfig {
            cookie: CookieConfig::insecure_dev(),
            ..HttpConfig::default()
        },
    );
    let app = app(&auth);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "COOKIE auth_session={}", creds.cookie)?;
    writeln!(out, "APIKEY {}", creds.api_key)?;
    writeln!(out, "JWT {}", creds.jwt)?;
    writeln!(out, "LISTENING {}", listener.local_addr()?)?;
    out.flush()?;
    drop(out);
    // Served as the axum-login anchor is (no connect info: the benchmark logs in directly).
    axum::serve(listener, app).await?;
    Ok(())
}
