//! Command-line verbs an application embeds, like Django's `manage.py`.
//!
//! ```ignore
//! #[derive(clap::Parser)]
//! enum Cli {
//!     Serve,
//!     #[command(flatten)]
//!     Auth(auth_axum::auth_core::cli::AuthCommand),
//! }
//! // ...
//! Cli::Auth(cmd) => cmd.run(&db, &service, &migrations, Path::new("migrations")).await?,
//! ```
//!
//! | verb | what it does |
//! |---|---|
//! | `migrate` | applies pending migrations (auth tables, then the application's) |
//! | `makemigrations [--dir D] [--name N]` | writes migrations for the user table |
//! | `access-report` | every guarded handler, its requirement and the roles that satisfy it |
//! | `createsuperuser --account A [--email E]` | creates an active superuser ([`createsuperuser`]) |
//! | `changepassword A` | sets a user's password and ends their sessions ([`changepassword`]) |
//! | `assign-role A R`, `revoke-role A R` | gives or takes a global role ([`assign_role`], [`revoke_role`]) |
//! | `cleanup [--batch N]` | deletes expired sessions, tokens, API keys, refresh tokens and stale throttle rows ([`cleanup`]) |
//! | `list-users` | id, account, e-mail, active, superuser of every user ([`list_users`]) |
//!
//! The account and the role may also be given as `--account A` and `--role R`. A verb that
//! sets a password reads it from `AUTH_PASSWORD`, or else asks for it twice on the terminal
//! ([`PasswordSource`]); it goes through the service's password policy like a
//! registration. Every change a verb makes to a user or their roles is audited with `by`
//! `"cli"` ([`By::Cli`]). The verbs do not migrate: run `migrate` first (or migrate at
//! start-up before running them).
//!
//! Each verb is also a function taking the database, the service and, where it sets a
//! password, a [`PasswordSource`]; [`AuthCommand::run_with`] runs a parsed command with a
//! given password source and output, so both can be driven without a terminal.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::audit::{By, EventType, NewEvent};
use crate::backend::AuthError;
use crate::db::Database;
use crate::error::Error;
use crate::makemigrations::makemigrations;
use crate::migrate::{self, AppMigrations};
use crate::rbac::manage;
use crate::service::AuthService;
use crate::user::{UserFilter, UserStore};

/// The environment variable a verb that sets a password reads it from.
pub const PASSWORD_ENV: &str = "AUTH_PASSWORD";

/// The default number of rows [`cleanup`] deletes per statement.
pub const DEFAULT_CLEANUP_BATCH: i64 = 1000;

/// How many users [`list_users`] reads per query.
const LIST_PAGE: i64 = 500;

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
    /// Create an active superuser (password from AUTH_PASSWORD, or asked for twice).
    Createsuperuser {
        /// Account name.
        #[arg(long)]
        account: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password (from AUTH_PASSWORD, or asked for twice); ends their sessions.
    Changepassword(AccountArgs),
    /// Give a user a role (globally).
    AssignRole(RoleArgs),
    /// Take a role (held globally) from a user.
    RevokeRole(RoleArgs),
    /// Delete expired sessions, account tokens and API keys, and stale throttle rows.
    Cleanup {
        /// Rows deleted per statement.
        #[arg(long, default_value_t = DEFAULT_CLEANUP_BATCH,
              value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch: i64,
    },
    /// List the users: id, account, e-mail, active, superuser.
    ListUsers,
}

/// The account a verb acts on: `alice` or `--account alice`.
#[derive(Debug, Clone, clap::Args)]
pub struct AccountArgs {
    /// Account name.
    #[arg(
        value_name = "ACCOUNT",
        required_unless_present = "account",
        conflicts_with = "account"
    )]
    account_name: Option<String>,
    /// Account name (instead of the positional one).
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<String>,
}

impl AccountArgs {
    /// The account named, however it was given.
    pub fn account(&self) -> &str {
        self.account_name
            .as_deref()
            .or(self.account.as_deref())
            .unwrap_or_default()
    }
}

/// The account and the role of `assign-role` and `revoke-role`: `alice Editor` or
/// `--account alice --role Editor`.
#[derive(Debug, Clone, clap::Args)]
pub struct RoleArgs {
    /// Account name.
    #[arg(
        value_name = "ACCOUNT",
        required_unless_present = "account",
        conflicts_with = "account"
    )]
    account_name: Option<String>,
    /// Role name.
    #[arg(
        value_name = "ROLE",
        required_unless_present = "role",
        conflicts_with = "role"
    )]
    role_name: Option<String>,
    /// Account name (instead of the positional one).
    #[arg(long, value_name = "ACCOUNT")]
    account: Option<String>,
    /// Role name (instead of the positional one).
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
}

impl RoleArgs {
    /// The account named, however it was given.
    pub fn account(&self) -> &str {
        self.account_name
            .as_deref()
            .or(self.account.as_deref())
            .unwrap_or_default()
    }

    /// The role named, however it was given.
    pub fn role(&self) -> &str {
        self.role_name
            .as_deref()
            .or(self.role.as_deref())
            .unwrap_or_default()
    }
}

/// Why a verb failed. The messages are meant for the operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Bad input: an account name or address breaking the rules, an empty password, two
    /// different passwords at the prompt.
    #[error("{0}")]
    Invalid(String),
    /// No user has this account name.
    #[error("no account {0:?}")]
    UnknownAccount(String),
    /// The account name or the e-mail address belongs to another user already.
    #[error("{0}")]
    Taken(String),
    /// A flow refused: a password breaking the password policy
    /// ([`AuthError::WeakPassword`]) or the hasher's limits, a database error.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Storage: an unknown role ([`Error::NotFound`]), a database error.
    #[error(transparent)]
    Storage(#[from] Error),
    /// Reading the password or writing the output failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a verb that sets a password reads it.
#[derive(Clone)]
#[non_exhaustive]
pub enum PasswordSource {
    /// [`PASSWORD_ENV`] when set, else asked for twice on the terminal (the answers must
    /// match). What [`AuthCommand::run`] uses.
    EnvOrPrompt,
    /// This password (programs and tests).
    Given(String),
}

impl std::fmt::Debug for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::EnvOrPrompt => f.write_str("EnvOrPrompt"),
            PasswordSource::Given(_) => f.write_str("Given(<redacted>)"),
        }
    }
}

impl PasswordSource {
    /// The password. An empty one is [`CliError::Invalid`] (whatever the policy says).
    pub async fn read(&self) -> Result<String, CliError> {
        let password = match self {
            PasswordSource::Given(p) => p.clone(),
            PasswordSource::EnvOrPrompt => match std::env::var(PASSWORD_ENV) {
                Ok(p) => p,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(CliError::Invalid(format!("{PASSWORD_ENV} is not UTF-8")));
                }
                Err(std::env::VarError::NotPresent) => tokio::task::spawn_blocking(prompt_twice)
                    .await
                    .map_err(|e| CliError::Io(std::io::Error::other(e)))??,
            },
        };
        if password.is_empty() {
            return Err(CliError::Invalid("the password must not be empty".into()));
        }
        Ok(password)
    }
}

/// Asks for the password twice on the terminal, without echo.
fn prompt_twice() -> Result<String, CliError> {
    let first = rpassword::prompt_password("Password: ")?;
    let second = rpassword::prompt_password("Password (again): ")?;
    if first != second {
        return Err(CliError::Invalid("the passwords do not match".into()));
    }
    Ok(first)
}

/// The user named `account`, or [`CliError::UnknownAccount`].
async fn find_user<U: UserStore>(db: &Database, account: &str) -> Result<U, CliError> {
    let mut conn = db.conn().await?;
    U::find_by_account(&mut conn, account)
        .await?
        .ok_or_else(|| CliError::UnknownAccount(account.to_owned()))
}

/// `createsuperuser`: creates an active superuser named `account` with `email`. The name
/// and the address are checked ([`crate::check_account_name`], [`crate::check_email`], not
/// taken) before the password is read, the password goes through the service's password
/// policy like a registration, and the user is created with both flags in one transaction
/// ([`AuthService::create_superuser`]), audited as `user.changed` by `cli`. A taken name or
/// address is [`CliError::Taken`]; a refused password [`CliError::Auth`]
/// ([`AuthError::WeakPassword`]).
pub async fn createsuperuser<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    account: &str,
    email: Option<&str>,
    password: &PasswordSource,
) -> Result<U, CliError> {
    crate::check_account_name(account)
        .map_err(|why| CliError::Invalid(format!("account: {why}")))?;
    if let Some(email) = email {
        crate::check_email(email).map_err(|why| CliError::Invalid(format!("email: {why}")))?;
    }
    {
        let mut conn = db.conn().await?;
        if U::find_by_account(&mut conn, account).await?.is_some() {
            return Err(CliError::Taken(format!("account {account:?} is taken")));
        }
        if let Some(email) = email
            && U::find_by_email(&mut conn, email).await?.is_some()
        {
            return Err(CliError::Taken(format!(
                "e-mail address {email:?} is taken"
            )));
        }
    }
    let password = password.read().await?;
    match service
        .create_superuser(db, account, email, &password, &By::Cli)
        .await
    {
        Err(AuthError::Storage(Error::Conflict { .. })) => Err(CliError::Taken(format!(
            "account {account:?} or its e-mail address is taken"
        ))),
        other => Ok(other?),
    }
}

/// `changepassword`: sets the password of `account` (the service's password policy
/// applies) and, in the same transaction, ends every session of the user, their
/// outstanding reset links and the account's login lock, as the system actor `cli`
/// ([`crate::service::admin::Admin::set_password`]); audited as `password.changed` by
/// `cli`. Returns how many sessions ended.
pub async fn changepassword<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    account: &str,
    password: &PasswordSource,
) -> Result<usize, CliError> {
    let user: U = find_user(db, account).await?;
    let password = password.read().await?;
    Ok(service
        .admin(db)
        .set_password(&crate::Actor::system("cli"), user.id(), &password)
        .await?)
}

/// Audits a role given to or taken from `user` at the command line.
async fn audit_role<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    event: EventType,
    user: &U,
    role: &str,
) -> Result<(), CliError> {
    let mut conn = db.conn().await?;
    let event = NewEvent::new(event)
        .user(user.id(), user.account())
        .detail(json!({ "roles": [role] }))
        .by(&By::Cli);
    service.record(&mut conn, event).await?;
    Ok(())
}

/// `assign-role`: gives `role` to `account`, globally ([`manage::assign_role`]). `false`
/// when the user held it already (nothing is audited then); otherwise audited as
/// `role.assigned` by `cli`. An unknown account or role is an error and changes nothing.
pub async fn assign_role<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    account: &str,
    role: &str,
) -> Result<bool, CliError> {
    let user: U = find_user(db, account).await?;
    let assigned = {
        let mut conn = db.conn().await?;
        manage::assign_role(&mut conn, user.id(), role, None).await?
    };
    if assigned {
        audit_role(db, service, EventType::RoleAssigned, &user, role).await?;
    }
    Ok(assigned)
}

/// `revoke-role`: takes `role` (held globally) from `account` ([`manage::revoke_role`]).
/// `false` when the user did not hold it (nothing is audited then); otherwise audited as
/// `role.revoked` by `cli`. An unknown account or role is an error.
pub async fn revoke_role<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    account: &str,
    role: &str,
) -> Result<bool, CliError> {
    let user: U = find_user(db, account).await?;
    let revoked = {
        let mut conn = db.conn().await?;
        manage::revoke_role(&mut conn, user.id(), role, None).await?
    };
    if revoked {
        audit_role(db, service, EventType::RoleRevoked, &user, role).await?;
    }
    Ok(revoked)
}

/// What [`cleanup`] deleted.
pub use crate::service::Purged as Cleaned;

/// `cleanup`: deletes expired sessions, expired account tokens, expired API keys, expired
/// refresh tokens, expired MFA login challenges, OAuth logins and passkey ceremonies, and
/// the throttle rows of keys with no attempt for the retention of the service's
/// limits and no lock in force, each `batch` rows per statement (short statements, no
/// long locks), until none is left ([`AuthService::purge_expired`], which auth-axum also
/// runs in the background). Nothing live is touched.
pub async fn cleanup<U: UserStore>(
    db: &Database,
    service: &AuthService<U>,
    batch: i64,
) -> Result<Cleaned, CliError> {
    Ok(service.purge_expired(db, batch).await?)
}

/// `text` with control characters escaped (`\u{1b}`), so that a stored name cannot drive
/// the operator's terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `list-users`: writes one tab-separated line per user, in id order, after a header: id,
/// account, e-mail (`-` for none), active, superuser (`yes` / `no`). Never the password
/// hash; control characters in names are escaped. Reads the users a page at a time.
/// Returns how many it listed.
pub async fn list_users<U: UserStore>(
    db: &Database,
    out: &mut (dyn Write + Send),
) -> Result<usize, CliError> {
    let yes = |b: bool| if b { "yes" } else { "no" };
    writeln!(out, "id\taccount\temail\tactive\tsuperuser")?;
    let filter = UserFilter::default();
    let mut listed = 0usize;
    loop {
        let page = {
            let mut conn = db.conn().await?;
            U::list(&mut conn, &filter, listed as i64, LIST_PAGE).await?
        };
        for user in &page {
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                user.id(),
                printable(user.account()),
                user.email().map_or_else(|| "-".to_owned(), printable),
                yes(user.is_active()),
                yes(user.is_superuser()),
            )?;
        }
        listed += page.len();
        if (page.len() as i64) < LIST_PAGE {
            return Ok(listed);
        }
    }
}

impl AuthCommand {
    /// Runs the verb: passwords from [`PasswordSource::EnvOrPrompt`], output to stdout.
    /// `default_dir` is where `makemigrations` writes without `--dir`.
    pub async fn run<U: UserStore>(
        &self,
        db: &Database,
        service: &AuthService<U>,
        app: &AppMigrations,
        default_dir: &Path,
    ) -> Result<(), CliError> {
        let mut out = std::io::stdout();
        self.run_with(
            db,
            service,
            app,
            default_dir,
            &PasswordSource::EnvOrPrompt,
            &mut out,
        )
        .await
    }

    /// Runs the verb with passwords from `password` and its report written to `out`.
    pub async fn run_with<U: UserStore>(
        &self,
        db: &Database,
        service: &AuthService<U>,
        app: &AppMigrations,
        default_dir: &Path,
        password: &PasswordSource,
        out: &mut (dyn Write + Send),
    ) -> Result<(), CliError> {
        match self {
            AuthCommand::Migrate => {
                let applied = migrate::run(db, app).await?;
                if applied.is_empty() {
                    writeln!(out, "No migrations to apply.")?;
                }
                for version in applied {
                    writeln!(out, "Applied {version}")?;
                }
            }
            AuthCommand::AccessReport => {
                let mut conn = db.conn().await?;
                let report = crate::report::access_report(&mut conn).await?;
                write!(out, "{}", crate::report::render(&report))?;
            }
            AuthCommand::Makemigrations { dir, name } => {
                let dir = dir.as_deref().unwrap_or(default_dir);
                let written = makemigrations(&U::TABLE, dir, name.as_deref())?;
                if written.is_empty() {
                    writeln!(out, "No changes detected in {}.", U::TABLE.name)?;
                }
                for w in written {
                    writeln!(out, "Wrote {}", w.path.display())?;
                }
            }
            AuthCommand::Createsuperuser { account, email } => {
                let user =
                    createsuperuser(db, service, account, email.as_deref(), password).await?;
                writeln!(
                    out,
                    "Superuser {} created (id {}).",
                    printable(user.account()),
                    user.id()
                )?;
            }
            AuthCommand::Changepassword(args) => {
                let account = args.account();
                let ended = changepassword(db, service, account, password).await?;
                writeln!(
                    out,
                    "Password of {} changed; {ended} session(s) ended.",
                    printable(account)
                )?;
            }
            AuthCommand::AssignRole(args) => {
                let (account, role) = (printable(args.account()), printable(args.role()));
                if assign_role(db, service, args.account(), args.role()).await? {
                    writeln!(out, "{account} now holds {role}.")?;
                } else {
                    writeln!(out, "{account} already holds {role}.")?;
                }
            }
            AuthCommand::RevokeRole(args) => {
                let (account, role) = (printable(args.account()), printable(args.role()));
                if revoke_role(db, service, args.account(), args.role()).await? {
                    writeln!(out, "{account} no longer holds {role}.")?;
                } else {
                    writeln!(out, "{account} did not hold {role}.")?;
                }
            }
            AuthCommand::Cleanup { batch } => {
                let cleaned = cleanup(db, service, *batch).await?;
                writeln!(out, "expired sessions deleted: {}", cleaned.sessions)?;
                writeln!(out, "expired account tokens deleted: {}", cleaned.tokens)?;
                writeln!(out, "expired API keys deleted: {}", cleaned.api_keys)?;
                writeln!(
                    out,
                    "expired refresh tokens deleted: {}",
                    cleaned.refresh_tokens
                )?;
                writeln!(out, "stale throttle rows deleted: {}", cleaned.throttle)?;
                writeln!(
                    out,
                    "expired MFA login challenges deleted: {}",
                    cleaned.mfa_challenges
                )?;
                writeln!(
                    out,
                    "expired OAuth logins deleted: {}",
                    cleaned.oauth_states
                )?;
                writeln!(
                    out,
                    "expired passkey ceremonies deleted: {}",
                    cleaned.ceremonies
                )?;
            }
            AuthCommand::ListUsers => {
                list_users::<U>(db, out).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AuthCommand,
    }

    fn parse(args: &[&str]) -> Result<AuthCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("app").chain(args.iter().copied())).map(|c| c.command)
    }

    #[test]
    fn accounts_and_roles_positional_or_named() {
        for args in [
            &["assign-role", "alice", "Editor"][..],
            &["assign-role", "--account", "alice", "--role", "Editor"],
            &["assign-role", "alice", "--role", "Editor"],
        ] {
            match parse(args).unwrap() {
                AuthCommand::AssignRole(r) => {
                    assert_eq!((r.account(), r.role()), ("alice", "Editor"), "{args:?}");
                }
                other => panic!("{other:?}"),
            }
        }
        match parse(&["changepassword", "--account", "bob"]).unwrap() {
            AuthCommand::Changepassword(a) => assert_eq!(a.account(), "bob"),
            other => panic!("{other:?}"),
        }
        match parse(&["revoke-role", "bob", "Reader"]).unwrap() {
            AuthCommand::RevokeRole(r) => assert_eq!((r.account(), r.role()), ("bob", "Reader")),
            other => panic!("{other:?}"),
        }
        assert!(parse(&["assign-role", "alice"]).is_err(), "no role");
        assert!(parse(&["changepassword"]).is_err(), "no account");
        assert!(
            parse(&["changepassword", "alice", "--account", "bob"]).is_err(),
            "two accounts"
        );
        assert!(parse(&["cleanup", "--batch", "0"]).is_err());
        match parse(&["cleanup"]).unwrap() {
            AuthCommand::Cleanup { batch } => assert_eq!(batch, DEFAULT_CLEANUP_BATCH),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_given_password_is_never_printed() {
        let source = PasswordSource::Given("hunter2-secret".into());
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("Zoë 李"), "Zoë 李");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }
}
