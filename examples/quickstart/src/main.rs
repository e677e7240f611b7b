//! The quickstart: `cargo run -p quickstart` serves on 127.0.0.1:3000 (`AUTH_ADDR`
//! overrides) with a SQLite file `quickstart.db` in the working directory (`DATABASE_URL`
//! overrides), migrating at start.
//!
//! Subcommands: `serve` (the default), `migrate`, `makemigrations`, `access-report`,
//! `assign-role --account A --role R`,
//! `createsuperuser --account A --email E` (password from `AUTH_PASSWORD` or a prompt).

mod articles;
mod model;

use std::net::SocketAddr;
use std::path::Path;

use auth_axum::cli::AuthCommand;
use auth_axum::rbac::manage;
use auth_axum::service::AuthService;
use auth_axum::{Auth, AuthUser, CookieConfig, Database, HttpConfig, NewUser, UserStore};
use clap::Parser;

use model::User;

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
    let migrations = auth_axum::embed_app_migrations!();
    let service = AuthService::<User>::builder().build();
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

/// Migrates, syncs the permission catalog and seeds the example roles (idempotent): Reader
/// (article.view), Editor (view, create, edit), Administrator (every article permission),
/// and the group "Content Team" holding Editor.
async fn prepare(
    db: &Database,
    migrations: &auth_axum::migrate::AppMigrations,
) -> Result<(), BoxError> {
    auth_axum::migrate::run(db, migrations).await?;
    let mut conn = db.conn().await?;
    let catalog = auth_axum::permission_catalog!();
    let created = manage::sync_catalog(&mut conn, catalog).await?;
    tracing::info!(created, "permission catalog synced");
    let roles: [(&str, &[&str]); 3] = [
        ("Reader", &["article.view"]),
        (
            "Editor",
            &["article.view", "article.create", "article.edit"],
        ),
        (
            "Administrator",
            &[
                "article.view",
                "article.create",
                "article.edit",
                "article.delete",
            ],
        ),
    ];
    for (role, permissions) in roles {
        manage::get_or_create_role(&mut conn, role, None).await?;
        for permission in permissions {
            manage::grant_permission(&mut conn, role, permission).await?;
        }
    }
    manage::get_or_create_group(&mut conn, "Content Team").await?;
    manage::grant_group_role(&mut conn, "Content Team", "Editor", None).await?;
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
    let app = axum::Router::new()
        .merge(articles::router())
        .nest("/api/contrib/auth", auth.router())
        .layer(auth.layer());
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
