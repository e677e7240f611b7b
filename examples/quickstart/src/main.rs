//! The quickstart: `cargo run -p quickstart` serves on 127.0.0.1:3000 (`AUTH_ADDR`
//! overrides) with a SQLite file `quickstart.db` in the working directory (`DATABASE_URL`
//! overrides), migrating at start.
//!
//! Subcommands: `serve` (the default), `migrate`, `makemigrations`, `access-report`,
//! `assign-role --account A --role R`,
//! `createsuperuser --account A --email E` (password from `AUTH_PASSWORD` or a prompt).

use std::net::SocketAddr;
use std::path::Path;

use auth_axum::cli::AuthCommand;
use auth_axum::jwt::{JwtConfig, JwtKey};
use auth_axum::rbac::manage;
use auth_axum::service::AuthService;
use auth_axum::{Auth, AuthUser, CookieConfig, Database, HttpConfig, NewUser, UserStore};
use clap::Parser;

use quickstart::model::User;
use quickstart::{app, migrations, prepare};

#[derive(Debug, Parser)]
#[command(name = "quickstart", about = "axum auth quickstart")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Migrate, then serve HTTP (the default).
    Serve,
    /// Create a superuser (password from AUTH_PASSWORD, or asked for).
    Createsuperuser {
        /// Account name.
        #[arg(long)]
        account: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Give a user one of the seeded roles (Reader, Editor, Administrator).
    AssignRole {
        /// Account name.
        #[arg(long)]
        account: String,
        /// Role name.
        #[arg(long)]
        role: String,
    },
    #[command(flatten)]
    Auth(AuthCommand),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://quickstart.db".into());
    let db = Database::connect(&url)?;
    let migrations = migrations();
    let service = AuthService::<User>::builder().jwt(jwt_config()?).build();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Auth(cmd) => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
            cmd.run::<User>(&db, &migrations, &dir).await?;
        }
        Command::AssignRole { account, role } => {
            prepare(&db, &migrations).await?;
            let mut conn = db.conn().await?;
            let user = User::find_by_account(&mut conn, &account)
                .await?
                .ok_or_else(|| format!("no account {account:?}"))?;
            manage::assign_role(&mut conn, user.id(), &role, None).await?;
            println!("{account} now holds {role}.");
        }
        Command::Createsuperuser { account, email } => {
            auth_axum::migrate::run(&db, &migrations).await?;
            let password = match std::env::var("AUTH_PASSWORD") {
                Ok(p) => p,
                Err(_) => rpassword::prompt_password("Password: ")?,
            };
            if password.is_empty() {
                return Err("the password must not be empty".into());
            }
            // The same password policy as register and change-password.
            service.check_password(&account, &password)?;
            let hash = service.hasher().hash(&password).await?;
            let extra = serde_json::Map::new();
            let mut user = User::new_user(NewUser {
                account,
                password_hash: hash,
                email,
                extra: &extra,
            })?;
            user.is_superuser = true;
            let mut conn = db.conn().await?;
            let user = user.insert(&mut conn).await?;
            println!("Superuser {} created (id {}).", user.account(), user.id());
        }
        Command::Serve => serve(db, migrations, service).await?,
    }
    Ok(())
}

async fn serve(
    db: Database,
    migrations: auth_axum::migrate::AppMigrations,
    service: AuthService<User>,
) -> Result<(), BoxError> {
    prepare(&db, &migrations).await?;
    // Plain HTTP on localhost: the Secure cookie attribute is off unless AUTH_COOKIE_SECURE=1.
    // In production, serve over HTTPS and keep the default (Secure on).
    let secure = std::env::var("AUTH_COOKIE_SECURE").is_ok_and(|v| v == "1" || v == "true");
    let cookie = if secure {
        CookieConfig::default()
    } else {
        CookieConfig::insecure_dev()
    };
    let auth = Auth::with_http(
        db,
        service,
        HttpConfig {
            cookie,
            ..HttpConfig::default()
        },
    );
    let app = app(&auth);
    let addr = std::env::var("AUTH_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!(%addr, "quickstart listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// Token logins: signed with the Ed25519 key in the PEM file `AUTH_JWT_ED25519_PEM_FILE`
/// (`openssl genpkey -algorithm ed25519 -out jwt.pem`), else with a key made at start-up
/// (tokens then end with the process).
fn jwt_config() -> Result<JwtConfig, BoxError> {
    match std::env::var("AUTH_JWT_ED25519_PEM_FILE") {
        Ok(path) => {
            let pem = std::fs::read_to_string(&path)?;
            Ok(JwtConfig::new(JwtKey::ed25519_pem("k1", &pem)?)?)
        }
        Err(_) => {
            tracing::warn!(
                "AUTH_JWT_ED25519_PEM_FILE is not set: JWTs are signed with a key that ends with this process"
            );
            Ok(JwtConfig::ephemeral())
        }
    }
}
