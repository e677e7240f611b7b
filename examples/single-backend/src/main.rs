//! `cargo run -p single-backend` (SQLite, in memory unless `DATABASE_URL` says otherwise)
//! or e.g. `DATABASE_URL=postgres://... cargo run -p single-backend --no-default-features
//! --features postgres`: migrates, then serves on 127.0.0.1:3001 (`AUTH_ADDR` overrides).
//!
//! `single-backend makemigrations` writes the user table's migrations under `migrations/`
//! (for all three SQL dialects: writing SQL needs no driver) through
//! [`auth_axum::auth_core::makemigrations::makemigrations`], which is there without the `cli` feature.
//! `single-backend check` builds the application and exits, without connecting.

use std::net::SocketAddr;
use std::path::Path;

use auth_axum::{Auth, AuthConfig, AuthUser as _, Database, auth_core::migrate};
use single_backend::{User, app, compiled_backends, database_url, migrations};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        // e.g. a URL of a backend this build leaves out: the message names the feature.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    let verb = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if verb == "makemigrations" {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for written in
            auth_axum::auth_core::makemigrations::makemigrations(&User::TABLE, &dir, None)?
        {
            println!("wrote {}", written.path.display());
        }
        return Ok(());
    }
    let db = Database::connect(&database_url()?)?;
    let config = AuthConfig::from_env()?;
    let service = config.service_builder::<User>().build();
    let auth = Auth::with_http(db.clone(), service, config.http);
    let app = app(&auth);
    match verb.as_str() {
        "check" => {
            println!(
                "built for {:?}; database: {}",
                compiled_backends(),
                db.backend()
            );
            Ok(())
        }
        "serve" => {
            migrate::run(&db, &migrations()).await?;
            let addr = std::env::var("AUTH_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            println!("single-backend ({}) listening on {addr}", db.backend());
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await?;
            Ok(())
        }
        other => Err(format!("unknown verb {other:?}: serve, check or makemigrations").into()),
    }
}
