//! Authentication backends, chosen per request by `platform`, and the default password
//! backend.
//!
//! A backend turns credentials into a user (login) and creates users (register). Sessions,
//! hooks and the HTTP layer are the service's job ([`crate::service`]), so a backend is
//! small: the password backend below is the model for LDAP, JWT or OAuth backends.
//!
//! A backend gets the [`Database`] (the pool), not a connection: it checks a connection out
//! for each database step and gives it back before any slow work (hashing, a call to an
//! LDAP or OAuth server), so that a flood of logins never drains the pool for other
//! requests.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::db::Database;
use crate::password::{PasswordError, PasswordHasher};
use crate::session::Session;
use crate::user::{NewUser, UserStore};

/// A boxed future, so that backends can be stored as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why authentication or registration failed (defined in [`crate::error`], beside the
/// storage error, and named here too, where the backends return it).
pub use crate::error::AuthError;

/// Login input.
#[derive(Debug, Clone, Default)]
pub struct LoginRequest {
    /// Account name.
    pub account: String,
    /// Password in clear (never logged).
    pub password: String,
    /// Backend-specific extra data.
    pub extra: Map<String, Value>,
}

/// Registration input.
#[derive(Debug, Clone, Default)]
pub struct RegisterRequest {
    /// Account name.
    pub account: String,
    /// Password in clear (never logged).
    pub password: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Values of the model's custom fields, by field name.
    pub extra: Map<String, Value>,
}

/// An authentication backend for users of type `U`.
///
/// Methods receive the pool, not a connection. **Do not hold a pooled connection across
/// CPU work or network I/O**: take one with [`Database::conn`] for each database step (a
/// lookup, an insert) and drop it before hashing a password or calling an upstream server
/// (LDAP bind, OAuth token exchange). Hash with a [`PasswordHasher`], which bounds how many
/// hashes run at once. The service throttles before calling [`AuthBackend::login`] and
/// counts an [`AuthError::InvalidCredentials`] it returns as a failed attempt.
pub trait AuthBackend<U: UserStore>: Send + Sync + 'static {
    /// Checks credentials and returns the user. Must not reveal whether the account exists
    /// (spend the same work on an unknown account).
    fn login<'a>(
        &'a self,
        db: &'a Database,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>>;

    /// Checks `password` for `user`, who already has an account (re-authentication: sudo
    /// mode, `POST reauthenticate`), when the user has no local password but this backend
    /// holds their credentials (a directory). `None`: the backend cannot (the service then
    /// checks the local password). Throttling and auditing are the caller's.
    fn confirm_password<'a>(
        &'a self,
        _db: &'a Database,
        _user: &'a U,
        _password: &'a str,
    ) -> BoxFuture<'a, Option<Result<bool, AuthError>>> {
        Box::pin(async { None })
    }

    /// The account name a login typed as `typed` counts against in the login throttle.
    /// The default is the text itself (the password backend's names are exact); a backend
    /// whose names are not (a directory that binds `Bob`, `BOB` and ` bob ` to one entry)
    /// folds them, so that every spelling shares one counter instead of getting its own
    /// tries.
    fn throttle_name<'a>(&self, typed: &'a str) -> std::borrow::Cow<'a, str> {
        typed.into()
    }

    /// Creates a user.
    fn register<'a>(
        &'a self,
        db: &'a Database,
        req: &'a RegisterRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>>;

    /// Called when a session of this backend ends.
    fn logout<'a>(
        &'a self,
        _user: &'a U,
        _session: &'a Session,
    ) -> BoxFuture<'a, Result<(), AuthError>> {
        Box::pin(async { Ok(()) })
    }

    /// Data stored with the session (JSON), e.g. an upstream token's expiry.
    fn session_info(&self, _user: &U) -> Value {
        Value::Object(Map::new())
    }

    /// Where to send the browser to log in (OAuth backends).
    fn oauth_login_redirect(&self) -> Option<String> {
        None
    }

    /// Where to send the browser after logout (OAuth backends).
    fn oauth_logout_redirect(&self) -> Option<String> {
        None
    }
}

/// The default backend: account and bcrypt password stored in the user table.
#[derive(Debug, Clone, Default)]
pub struct PasswordBackend {
    hasher: PasswordHasher,
    by_email: bool,
}

impl PasswordBackend {
    /// A backend hashing with `hasher`, finding users by account name only.
    pub fn new(hasher: PasswordHasher) -> Self {
        PasswordBackend {
            hasher,
            by_email: false,
        }
    }

    /// With `on`, a login's `account` may also be the user's e-mail address: the user is
    /// found by [`crate::user::find_by_account_or_email`] (the account name first, then,
    /// for a text holding `@`, the address). An address that names nobody costs the same
    /// dummy verification as an unknown account. The service sets it from
    /// [`crate::service::AuthServiceBuilder::login_by_email`] on the backend it registers.
    pub fn with_login_by_email(mut self, on: bool) -> Self {
        self.by_email = on;
        self
    }

    /// The hasher (for password changes).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
}

impl<U: UserStore> AuthBackend<U> for PasswordBackend {
    fn login<'a>(
        &'a self,
        db: &'a Database,
        req: &'a LoginRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>> {
        Box::pin(async move {
            // No stored account contains NUL (registration refuses it, PostgreSQL cannot
            // store it): answer as for any unknown account, without asking the database.
            let found = if req.account.contains('\0') {
                None
            } else {
                // The connection goes back to the pool before the verification.
                let mut conn = db.conn().await?;
                if self.by_email {
                    crate::user::find_by_account_or_email::<U>(&mut conn, &req.account).await?
                } else {
                    U::find_by_account(&mut conn, &req.account).await?
                }
            };
            let Some(mut user) = found else {
                self.hasher.verify_unknown(&req.password).await?;
                return Err(AuthError::InvalidCredentials);
            };
            let ok = match self
                .hasher
                .verify(&req.password, user.password_hash())
                .await
            {
                Ok(ok) => ok,
                // An unreadable stored hash (imported, disabled with "!"): the password
                // cannot match it (the hasher spent a verification's time all the same).
                Err(PasswordError::UnsupportedHash) => false,
                Err(e) => return Err(e.into()),
            };
            if !ok {
                return Err(AuthError::InvalidCredentials);
            }
            if !user.is_active() {
                return Err(AuthError::Inactive);
            }
            if self.hasher.needs_rehash(user.password_hash()) {
                // An upgrade is best effort: a busy hasher leaves the old hash for next time.
                match self.hasher.hash(&req.password).await {
                    Ok(hash) => {
                        user.set_password_hash(hash);
                        let mut conn = db.conn().await?;
                        user.update_fields(&mut conn, &["password"]).await?;
                    }
                    Err(PasswordError::Busy) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(user)
        })
    }

    fn register<'a>(
        &'a self,
        db: &'a Database,
        req: &'a RegisterRequest,
    ) -> BoxFuture<'a, Result<U, AuthError>> {
        Box::pin(async move {
            let hash = self.hasher.hash(&req.password).await?;
            let user = U::new_user(NewUser {
                account: req.account.clone(),
                password_hash: hash,
                email: req.email.clone(),
                extra: &req.extra,
            })
            .map_err(AuthError::Invalid)?;
            let mut conn = db.conn().await?;
            Ok(user.insert(&mut conn).await?)
        })
    }
}
