//! The quickstart: `cargo run -p quickstart` (serves on 127.0.0.1:3000 with a SQLite file
//! in the working directory; `AUTH_ADDR` and `DATABASE_URL` override).
//!
//! Subcommands: `serve` (the default), `migrate`, `makemigrations`.

mod model;

use std::path::Path;

use auth_axum::Database;
use auth_axum::cli::AuthCommand;
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
    #[command(flatten)]
    Auth(AuthCommand),
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://quickstart.db".into());
    let db = Database::connect(&url)?;
    let migrations = auth_axum::embed_app_migrations!();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Auth(cmd) => {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
            cmd.run::<User>(&db, &migrations, &dir).await?;
        }
        Command::Serve => {
            auth_axum::migrate::run(&db, &migrations).await?;
            let addr = std::env::var("AUTH_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            tracing::info!(%addr, "quickstart listening");
            let app = axum::Router::new().route("/", axum::routing::get(|| async { "quickstart: auth tables migrated\n" }));
            axum::serve(listener, app).await?;
        }
    }
    Ok(())
}
