//! The quickstart: `cargo run -p quickstart` serves on 127.0.0.1:3000 (`AUTH_ADDR`
//! overrides) with a SQLite file `quickstart.db` in the working directory (`DATABASE_URL`
//! overrides), migrating at start.
//!
//! Subcommands: `serve` (the default), then the library's verbs
//! ([`auth_axum::auth_core::cli::AuthCommand`]): `migrate`, `makemigrations`, `access-report`,
//! `createsuperuser --account A --email E` (password from `AUTH_PASSWORD` or a prompt),
//! `changepassword A`, `assign-role A R`, `revoke-role A R` (or `--account A --role R`),
//! `cleanup`, `list-users`. Every verb but `makemigrations` and `migrate` runs after the
//! start-up preparation (migrations, built-in and example roles), so they work on a fresh
//! database too.

use std::net::SocketAddr;
use std::path::Path;

use auth_axum::auth_core::cli::AuthCommand;
use auth_axum::auth_core::jwt::JwtConfig;
use auth_axum::auth_core::mfa::{MfaConfig, SecretKey};
use auth_axum::auth_core::passkey::WebauthnConfig;
use auth_axum::auth_core::service::AuthService;
use auth_axum::{Auth, AuthConfig, CookieConfig, Database};
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
    #[command(flatten)]
    Auth(AuthCommand),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    // A start-up error is a sentence for the operator (`error: AUTH_BCRYPT_COST: expected
    // a bcrypt cost from 4 to 31`), not a debug dump.
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
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
    let config = config()?;
    let service = config.service_builder::<User>().build();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Auth(cmd) => {
            if !matches!(
                cmd,
                AuthCommand::Makemigrations { .. } | AuthCommand::Migrate
            ) {
                prepare(&db, &migrations).await?;
            }
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
            if let Err(e) = cmd.run(&db, &service, &migrations, &dir).await {
                // The message is for the operator: `error: account "admin" is taken`.
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
        Command::Serve => serve(db, migrations, service, config).await?,
    }
    Ok(())
}

async fn serve(
    db: Database,
    migrations: auth_axum::auth_core::migrate::AppMigrations,
    service: AuthService<User>,
    config: AuthConfig,
) -> Result<(), BoxError> {
    prepare(&db, &migrations).await?;
    let auth = Auth::with_http(db, service, config.http);
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

/// The settings: the `AUTH_*` variables ([`AuthConfig::from_env`], listed in the README)
/// over the quickstart's defaults, which differ from the library's in three places:
/// - the session cookie is not `Secure` (plain HTTP on localhost) unless
///   `AUTH_COOKIE_SECURE=true`; in production, serve over HTTPS and keep it on;
/// - passkeys are on for `localhost` at the served port unless `AUTH_WEBAUTHN_RP_ID` says
///   otherwise (the demo page: `http://localhost:3000/passkey-demo`);
/// - token logins are on: signed with the Ed25519 key in `AUTH_JWT_ED25519_PEM_FILE`
///   (`openssl genpkey -algorithm ed25519 -out jwt.pem`), else with a key made at start-up
///   (tokens then end with the process);
/// - MFA is on: TOTP secrets are encrypted with `AUTH_MFA_KEY`, else with a development
///   key kept in `quickstart-mfa.key` in the working directory (made on the first run,
///   readable by its owner only), so that authenticators survive a restart.
fn config() -> Result<AuthConfig, BoxError> {
    let mut defaults = AuthConfig::default();
    defaults.http.cookie = CookieConfig::insecure_dev();
    let mut config = defaults.merge_vars(variables()?)?;
    if config.jwt.is_none() {
        tracing::warn!(
            "AUTH_JWT_ED25519_PEM_FILE is not set: JWTs are signed with a key that ends with this process"
        );
        config.jwt = Some(JwtConfig::ephemeral());
    }
    if config.webauthn.is_none() {
        // Passkeys on localhost (the demo page at /passkey-demo), at the port served.
        let origin = format!("http://localhost:{}", port());
        tracing::info!(%origin, "AUTH_WEBAUTHN_RP_ID is not set: passkeys for localhost");
        config.webauthn = Some(WebauthnConfig::new("localhost", &origin, "quickstart")?);
    }
    if config.mfa.is_none() {
        let key = development_mfa_key(Path::new("quickstart-mfa.key"))?;
        config.mfa = Some(MfaConfig::new(key, "axum-auth quickstart"));
    }
    Ok(config)
}

/// The port served (`AUTH_ADDR`, default 127.0.0.1:3000).
fn port() -> String {
    let addr = std::env::var("AUTH_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    addr.rsplit(':').next().unwrap_or("3000").to_owned()
}

/// The process's `AUTH_*` variables, with `AUTH_OAUTH_PUBLIC_URL` defaulting to this
/// server's own address (`http://localhost:<port>/api/contrib/auth/`) when a provider is
/// configured (`AUTH_OIDC_<NAME>_*`) and it is not set. A variable that is not UTF-8 is
/// refused by name.
fn variables() -> Result<Vec<(String, String)>, BoxError> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("AUTH_")) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| format!("{name}: not valid UTF-8"))?;
        vars.push((name.to_owned(), value));
    }
    let has = |wanted: &dyn Fn(&str) -> bool| vars.iter().any(|(name, _)| wanted(name));
    if has(&|name| name.starts_with("AUTH_OIDC_")) && !has(&|name| name == "AUTH_OAUTH_PUBLIC_URL")
    {
        let public = format!("http://localhost:{}/api/contrib/auth/", port());
        tracing::info!(%public, "AUTH_OAUTH_PUBLIC_URL is not set: providers redirect back here");
        vars.push(("AUTH_OAUTH_PUBLIC_URL".into(), public));
    }
    Ok(vars)
}

/// The MFA key of `path`, made there on the first run. For development only: in
/// production, set `AUTH_MFA_KEY` from a secret store.
fn development_mfa_key(path: &Path) -> Result<SecretKey, BoxError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(SecretKey::parse(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            std::io::Write::write_all(&mut options.open(path)?, key.to_base64().as_bytes())?;
            tracing::warn!(
                path = %path.display(),
                "AUTH_MFA_KEY is not set: TOTP secrets are encrypted with a development key kept in this file"
            );
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}
