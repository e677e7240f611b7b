//! Command-line verbs an application embeds, like Django's `manage.py`.
//!
//! ```ignore
//! #[derive(clap::Parser)]
//! enum Cli {
//!     Serve,
//!     #[command(flatten)]
//!     Auth(auth_axum::cli::AuthCommand),
//! }
//! // ...
//! Cli::Auth(cmd) => cmd.run::<User>(&db, &migrations, Path::new("migrations")).await?,
//! ```

use std::path::{Path, PathBuf};

use crate::db::Database;
use crate::error::Result;
use crate::makemigrations::makemigrations;
use crate::migrate::{self, AppMigrations};
use crate::user::AuthUser;

/// The auth verbs.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum AuthCommand {
    /// Apply pending migrations (auth tables, then the application's).
    Migrate,
    /// Write migrations for the user table from #[derive(AuthUser)].
    Makemigrations {
        /// Folder holding sqlite/, postgres/ and mysql/ (default: ./migrations).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Label of the migration folder.
        #[arg(long)]
        name: Option<String>,
    },
    /// List every guarded handler, its requirement and the roles that satisfy it.
    AccessReport,
}

impl AuthCommand {
    /// Runs the verb; prints what it did to stdout. `default_dir` is where
    /// `makemigrations` writes without `--dir`.
    pub async fn run<U: AuthUser>(
        &self,
        db: &Database,
        app: &AppMigrations,
        default_dir: &Path,
    ) -> Result<()> {
        match self {
            AuthCommand::Migrate => {
                let applied = migrate::run(db, app).await?;
                if applied.is_empty() {
                    println!("No migrations to apply.");
                }
                for version in applied {
                    println!("Applied {version}");
                }
            }
            AuthCommand::AccessReport => {
                let mut conn = db.conn().await?;
                print!(
                    "{}",
                    crate::report::render(&crate::report::access_report(&mut conn).await?)
                );
            }
            AuthCommand::Makemigrations { dir, name } => {
                let dir = dir.as_deref().unwrap_or(default_dir);
                let written = makemigrations(&U::TABLE, dir, name.as_deref())?;
                if written.is_empty() {
                    println!("No changes detected in {}.", U::TABLE.name);
                }
                for w in written {
                    println!("Wrote {}", w.path.display());
                }
            }
        }
        Ok(())
    }
}
